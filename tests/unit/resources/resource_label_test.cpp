#include "resources/resource_label.hpp"

#include <gtest/gtest.h>

namespace shype::resources {
namespace {

TEST(ResourceLabel, PrintsAsXenDid) {
  const ResourceLabel bank{LabelType::acm, "mytest", "A-Bank"};
  EXPECT_EQ(bank.to_string(), "ACM:mytest:A-Bank");
  EXPECT_EQ(bank.invalidated().to_string(), "INV_ACM:mytest:A-Bank");
  EXPECT_EQ(ResourceLabel::inaccessible().to_string(), "ACM:*:__INACCESSIBLE__");
  EXPECT_EQ(label_type_name(LabelType::inv_acm), "INV_ACM");
}

TEST(ResourceLabel, ParsesItsOwnOutput) {
  for (const char* text : {"ACM:mytest:A-Bank", "INV_ACM:mytest:A-Bank", "ACM:*:__INACCESSIBLE__",
                           "ACM:example.test:A-Bank.SecurityUnderwriting"}) {
    auto label = ResourceLabel::parse(text);
    ASSERT_TRUE(label) << text;
    EXPECT_EQ(label->to_string(), text);
  }
  auto inv = ResourceLabel::parse("INV_ACM:mytest:B-Bank");
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->type, LabelType::inv_acm);
  EXPECT_EQ(inv->policy, "mytest");
  EXPECT_EQ(inv->label, "B-Bank");
}

TEST(ResourceLabel, RefusesMalformedLabels) {
  const auto message = [](std::string_view text) {
    auto label = ResourceLabel::parse(text);
    return label ? std::string("ok") : label.error().message;
  };
  EXPECT_EQ(message("mytest:A-Bank"),
            "Resource label 'mytest:A-Bank' is not of the form <type>:<policy>:<label>");
  EXPECT_EQ(message("ACM:a:b:c"),
            "Resource label 'ACM:a:b:c' is not of the form <type>:<policy>:<label>");
  EXPECT_EQ(
      message("FLASK:mytest:A-Bank"),
      "Resource label 'FLASK:mytest:A-Bank' has the unknown policy type 'FLASK' (ACM or INV_ACM)");
  EXPECT_EQ(message("ACM::A-Bank"),
            "Resource label 'ACM::A-Bank' has an empty policy or label name");
  EXPECT_EQ(message("ACM:mytest:"),
            "Resource label 'ACM:mytest:' has an empty policy or label name");
  EXPECT_EQ(
      message("ACM:mytest:A\nBank"),
      "Resource label 'ACM:mytest:A\nBank' has a control character in its policy or label name");
  const ResourceLabel colon{LabelType::acm, "my:test", "A"};
  EXPECT_EQ(colon.validate().error().message,
            "Resource label 'ACM:my:test:A' has a ':' in its policy or label name");
}

}  // namespace
}  // namespace shype::resources
