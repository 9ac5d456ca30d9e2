#include "acm/numbering.hpp"

#include <gtest/gtest.h>

#include "acm/compiler.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

// The mytest policy of the manual must number exactly as Xen 3.3's tools did
// (reference xen-acm-tools.md 5.2).
TEST(Numbering, MytestMatchesXenOrdering) {
  auto n = number_policy(testing::mytest_model());
  ASSERT_TRUE(n) << n.error().to_string();
  const std::vector<std::string> vm{"__UNLABELED__",
                                    "SystemManagement",
                                    "A-Bank",
                                    "A-Bank.MarketAnalysis",
                                    "A-Bank.SecurityUnderwriting",
                                    "AutoCorp",
                                    "B-Bank"};
  EXPECT_EQ(n->vm_labels, vm);
  EXPECT_EQ(n->vm_label_ssidref("A-Bank"), 0x00020002u);
  EXPECT_EQ(n->vm_label_ssidref("SystemManagement"), kBootstrapSsidref);
  EXPECT_EQ(n->vm_label_ssidref("__UNLABELED__"), 0u);
  EXPECT_EQ(n->resource_label_ssidref("A-Bank"), 0x00070000u);
  EXPECT_EQ(n->resource_label_ssidref("SystemManagement"), 0x000c0000u);
  EXPECT_EQ(n->resource_label_ssidref("__UNLABELED__"), 0u);
  const std::vector<std::string> ste{"A-Bank",
                                     "A-Bank.MarketAnalysis",
                                     "A-Bank.SecurityUnderwriting",
                                     "AutoCorp",
                                     "B-Bank",
                                     "SystemManagement",
                                     "__UNLABELED__"};
  EXPECT_EQ(n->ste_types, ste);
  EXPECT_FALSE(n->vm_label_index("NoSuchLabel"));
}

TEST(Numbering, MissingUnlabeledGetsNullPlaceholder) {
  PolicyModel m = testing::mytest_model();
  std::erase_if(m.vm_labels, [](const Label& l) { return l.name == kUnlabeled; });
  auto n = number_policy(m);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->vm_labels[0], kNullLabel);
  EXPECT_FALSE(n->unlabeled_defined);
  EXPECT_EQ(n->vm_labels.size(), 7u);  // placeholder + bootstrap + 5 others
}

TEST(Compiler, MytestImageShape) {
  auto c = compile_policy(testing::mytest_model(), {});
  ASSERT_TRUE(c) << c.error().to_string();
  const PolicyImage& img = c->image;
  EXPECT_EQ(img.primary, PolicyCode::chinese_wall);
  EXPECT_EQ(img.secondary, PolicyCode::simple_type_enforcement);
  EXPECT_EQ(img.chwall_labels.rows(), 7u);
  EXPECT_EQ(img.ste_labels.rows(), 13u);  // 7 VM rows + 6 resource rows
  EXPECT_EQ(img.conflict_sets.rows(), 2u);
  EXPECT_EQ(img.vm_label_count, 7u);
  // SystemManagement (row 1) holds every STE type.
  EXPECT_EQ(img.ste_labels.row(1).size(), 7u);
}

}  // namespace
}  // namespace shype::acm
