#include "acm/xml/policy_writer.hpp"

#include <string>

#include <gtest/gtest.h>

#include "acm/xml/policy_loader.hpp"
#include "acm/xml/schema_validator.hpp"
#include "policy_fixtures.hpp"
#include "xml_test_support.hpp"

namespace shype::acm::xml {
namespace {

using namespace test_files;

// The writer's contract: what it writes loads back to the same model, is
// schema-valid, and is canonical (writing the reloaded model gives the same
// bytes).
void expect_round_trip(const PolicyModel& model, const std::string& what) {
  const std::string written = write_policy(model);
  const Diagnostics schema = validate_schema(written, what);
  EXPECT_TRUE(schema.empty()) << what << "\n" << schema.to_string() << written;
  auto reloaded = load_policy_text(written, what);
  ASSERT_TRUE(reloaded) << what << "\n" << reloaded.error().to_string() << "\n" << written;
  EXPECT_EQ(reloaded->model, model) << what << "\n" << written;
  EXPECT_EQ(write_policy(reloaded->model), written) << what;
}

TEST(PolicyWriter, ShippedPoliciesRoundTrip) {
  for (const auto& name : shipped_policies()) {
    auto loaded = load_policy_file(policy_path(name));
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    expect_round_trip(loaded->model, name);
  }
}

TEST(PolicyWriter, ModelsBuiltInCodeRoundTrip) {
  expect_round_trip(acm::testing::mytest_model(), "mytest");
  expect_round_trip(acm::testing::default_model(), "DEFAULT");
  expect_round_trip(acm::testing::example_test_model(), "example.test");
}

// Figure 10.7's padded names are written trimmed, and stay equal.
TEST(PolicyWriter, WhitespaceInNamesRoundTrips) {
  auto loaded = load_policy_file(fixture_path("name_whitespace.xml"));
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  expect_round_trip(loaded->model, "name_whitespace");
  const std::string written = write_policy(loaded->model);
  EXPECT_NE(written.find("<Name from=\"A.Old\">A</Name>"), std::string::npos) << written;
  EXPECT_NE(written.find("<SubjectLabels bootstrap=\"SystemManagement\">"), std::string::npos);
}

TEST(PolicyWriter, TextIsEscapedAndReadsBackExactly) {
  PolicyModel m = acm::testing::default_model();
  m.header.url = "http://example.com/?a=1&b=<2>";
  m.header.reference = "]]> \"quoted\" 'single'";
  m.header.date = "  Mon\r\n\tNov 19 \u263A  ";
  m.header.namespace_url = "";
  m.vm_labels[0].from = "Old&Name";
  expect_round_trip(m, "escaped");
  const std::string written = write_policy(m);
  EXPECT_NE(written.find("a=1&amp;b=&lt;2&gt;"), std::string::npos) << written;
  EXPECT_NE(written.find("&#13;"), std::string::npos) << written;
  EXPECT_NE(written.find("from=\"Old&amp;Name\""), std::string::npos) << written;
}

TEST(PolicyWriter, OptionalPartsRoundTrip) {
  PolicyModel update = acm::testing::mytest_model();
  update.header.version = {2, 17};
  update.header.from_policy = FromPolicy{"mytest", {2, 16}};
  update.vm_labels[2].from = "A-Bank.Old";
  update.resource_labels[2].from = "A-Bank.Old";
  expect_round_trip(update, "update");

  PolicyModel ste_only = acm::testing::example_test_model();
  ste_only.chwall.reset();
  for (auto& label : ste_only.vm_labels)
    label.chwall_types.clear();
  ste_only.ste->primary = true;
  expect_round_trip(ste_only, "ste_only");

  PolicyModel chwall_only = acm::testing::example_test_model();
  chwall_only.ste.reset();
  for (auto& label : chwall_only.vm_labels)
    label.ste_types.clear();
  chwall_only.has_object_labels = false;
  chwall_only.resource_labels.clear();
  auto loaded = load_policy_text(write_policy(chwall_only), "chwall_only");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->model, chwall_only);
}

TEST(PolicyWriter, CanonicalLayout) {
  const std::string expected = R"(<?xml version="1.0" encoding="UTF-8"?>
<SecurityPolicyDefinition xmlns="http://www.ibm.com">
    <PolicyHeader>
        <PolicyName>DEFAULT</PolicyName>
        <Version>1.0</Version>
    </PolicyHeader>
    <SimpleTypeEnforcement>
        <SimpleTypeEnforcementTypes>
            <Type>SystemManagement</Type>
            <Type>__UNLABELED__</Type>
        </SimpleTypeEnforcementTypes>
    </SimpleTypeEnforcement>
    <ChineseWall priority="PrimaryPolicyComponent">
        <ChineseWallTypes>
            <Type>SystemManagement</Type>
        </ChineseWallTypes>
    </ChineseWall>
    <SecurityLabelTemplate>
        <SubjectLabels bootstrap="SystemManagement">
            <VirtualMachineLabel>
                <Name>SystemManagement</Name>
                <SimpleTypeEnforcementTypes>
                    <Type>SystemManagement</Type>
                    <Type>__UNLABELED__</Type>
                </SimpleTypeEnforcementTypes>
            </VirtualMachineLabel>
            <VirtualMachineLabel>
                <Name>__UNLABELED__</Name>
                <SimpleTypeEnforcementTypes>
                    <Type>__UNLABELED__</Type>
                </SimpleTypeEnforcementTypes>
            </VirtualMachineLabel>
        </SubjectLabels>
        <ObjectLabels>
            <ResourceLabel>
                <Name>__UNLABELED__</Name>
                <SimpleTypeEnforcementTypes>
                    <Type>__UNLABELED__</Type>
                </SimpleTypeEnforcementTypes>
            </ResourceLabel>
        </ObjectLabels>
    </SecurityLabelTemplate>
</SecurityPolicyDefinition>
)";
  EXPECT_EQ(write_policy(acm::testing::default_model()), expected);
}

TEST(PolicyWriter, HeaderElementsComeInSchemaOrder) {
  PolicyModel m = acm::testing::default_model();
  m.header.url = "u";
  m.header.reference = "r";
  m.header.date = "d";
  m.header.namespace_url = "n";
  m.header.from_policy = FromPolicy{"DEFAULT", {0, 9}};
  const std::string written = write_policy(m);
  std::size_t last = 0;
  for (const char* element : {"<PolicyName>", "<PolicyUrl>", "<Reference>", "<Date>",
                              "<NameSpaceUrl>", "<Version>", "<FromPolicy>"}) {
    const std::size_t at = written.find(element);
    ASSERT_NE(at, std::string::npos) << element;
    EXPECT_GT(at, last) << element;
    last = at;
  }
  expect_round_trip(m, "header");
}

}  // namespace
}  // namespace shype::acm::xml
