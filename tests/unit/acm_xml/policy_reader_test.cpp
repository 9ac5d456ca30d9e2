#include "acm/xml/policy_reader.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "policy_fixtures.hpp"
#include "xml_test_support.hpp"

namespace shype::acm::xml {
namespace {

using namespace test_files;

PolicyModel parse_file_or_fail(const std::filesystem::path& path) {
  auto model = parse_policy(read_text(path), path.string());
  EXPECT_TRUE(model) << model.error().to_string();
  return model ? *model : PolicyModel{};
}

using acm::testing::mytest_update_model;

TEST(PolicyReader, ShippedPoliciesEqualTheModelsBuiltInCode) {
  EXPECT_EQ(parse_file_or_fail(policy_path("mytest-security_policy.xml")),
            acm::testing::mytest_model());
  EXPECT_EQ(parse_file_or_fail(policy_path("DEFAULT-security_policy.xml")),
            acm::testing::default_model());
  EXPECT_EQ(parse_file_or_fail(policy_path("example/test-security_policy.xml")),
            acm::testing::example_test_model());
  EXPECT_EQ(parse_file_or_fail(policy_path("mytest_update-security_policy.xml")),
            mytest_update_model());
}

TEST(PolicyReader, UpdatePolicyNamesWhatItUpdatesAndRenamesLabels) {
  const PolicyModel m = parse_file_or_fail(policy_path("mytest_update-security_policy.xml"));
  ASSERT_TRUE(m.header.from_policy);
  EXPECT_EQ(m.header.from_policy->name, "mytest");
  EXPECT_EQ(m.header.from_policy->version, (PolicyVersion{1, 0}));
  EXPECT_EQ(m.header.version, (PolicyVersion{1, 1}));

  const Label* su = m.find_vm_label("A-Bank.SU");
  ASSERT_NE(su, nullptr);
  EXPECT_EQ(su->from, "A-Bank.SecurityUnderwriting");
  EXPECT_EQ(su->where.line, 83u);
  const Label* ma = m.find_resource_label("A-Bank.MA");
  ASSERT_NE(ma, nullptr);
  EXPECT_EQ(ma->from, "A-Bank.MarketAnalysis");
  EXPECT_EQ(m.find_vm_label("A-Bank")->from, std::nullopt);
  EXPECT_EQ(m.find_vm_label("A-Bank.SecurityUnderwriting"), nullptr);
}

TEST(PolicyReader, EveryElementKnowsItsFileAndLine) {
  const auto path = policy_path("mytest-security_policy.xml");
  const PolicyModel m = parse_file_or_fail(path);
  const std::string file = path.string();
  EXPECT_EQ(m.source_file, file);
  EXPECT_EQ(m.header.where.file, file);
  EXPECT_EQ(m.header.where.line, 4u);
  ASSERT_TRUE(m.ste && m.chwall);
  EXPECT_EQ(m.ste->where.line, 10u);
  EXPECT_EQ(m.ste->types.front().where.line, 12u);
  EXPECT_EQ(m.ste->types.back().where.line, 18u);
  EXPECT_EQ(m.chwall->where.line, 22u);
  EXPECT_EQ(m.chwall->types.back().where.line, 30u);
  ASSERT_EQ(m.chwall->conflict_sets.size(), 2u);
  EXPECT_EQ(m.chwall->conflict_sets[0].where.line, 33u);
  EXPECT_EQ(m.chwall->conflict_sets[0].types[0].where.line, 34u);
  EXPECT_EQ(m.chwall->conflict_sets[1].where.line, 38u);
  EXPECT_EQ(m.chwall->conflict_sets[1].types[2].where.line, 41u);
  EXPECT_EQ(m.bootstrap.where.line, 47u);
  EXPECT_EQ(m.bootstrap.where.file, file);

  const Label* su = m.find_vm_label("A-Bank.SecurityUnderwriting");
  ASSERT_NE(su, nullptr);
  EXPECT_EQ(su->where.line, 81u);
  EXPECT_EQ(su->where.file, file);
  EXPECT_EQ(su->ste_types[0].where.line, 84u);
  EXPECT_EQ(su->chwall_types[0].where.line, 87u);
  EXPECT_EQ(su->chwall_types[1].where.line, 88u);
  const Label* autocorp = m.find_resource_label("AutoCorp");
  ASSERT_NE(autocorp, nullptr);
  EXPECT_EQ(autocorp->where.line, 157u);
  EXPECT_EQ(autocorp->ste_types[0].where.line, 160u);
}

// libxml2 keeps element lines in 16 bits; the reader must not.
TEST(PolicyReader, LinesPast65535AreExact) {
  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::size_t at = text.find("    <SecurityLabelTemplate>");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, std::string(70000, '\n'));
  auto m = parse_policy(text, "big.xml");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->bootstrap.where.line, 29u + 70000u);
  ASSERT_EQ(m->vm_labels.size(), 3u);
  EXPECT_EQ(m->vm_labels[0].where.line, 30u + 70000u);
  EXPECT_EQ(m->vm_labels[1].where.line, 41u + 70000u);
  EXPECT_EQ(m->vm_labels[1].ste_types[0].where.line, 44u + 70000u);
  EXPECT_EQ(m->resource_labels[0].where.line, 61u + 70000u);
}

// Manual Figure 10.7 pads and wraps label names; they mean the trimmed name.
TEST(PolicyReader, NamesAndTypesAreTokens) {
  const PolicyModel m = parse_file_or_fail(fixture_path("name_whitespace.xml"));
  ASSERT_EQ(m.vm_labels.size(), 3u);
  EXPECT_EQ(m.vm_labels[1].name, "A");
  EXPECT_EQ(m.vm_labels[1].from, "A.Old");
  ASSERT_EQ(m.resource_labels.size(), 1u);
  EXPECT_EQ(m.resource_labels[0].name, "A");
  EXPECT_EQ(m.resource_labels[0].from, "A.Old");
  EXPECT_EQ(m.ste->types[2].name, "B");
  EXPECT_EQ(m.bootstrap.name, "SystemManagement");
  EXPECT_EQ(m.header.version, (PolicyVersion{1, 0}));
}

TEST(PolicyReader, InnerWhitespaceCollapsesToOneSpace) {
  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::string from = "<Conflict name=\"AB\">";
  text.replace(text.find(from), from.size(), "<Conflict name=\" A\t\n  B \">");
  auto m = parse_policy(text, "t.xml");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->chwall->conflict_sets[0].name, "A B");
}

TEST(PolicyReader, PrefixesCdataCommentsAndReferences) {
  const PolicyModel m = parse_file_or_fail(fixture_path("prefixed_cdata_comments.xml"));
  EXPECT_EQ(m.header.name, "fixture");
  EXPECT_EQ(m.header.date, "<today> & \u263A");
  EXPECT_EQ(m.ste->types[1].name, "A");
}

TEST(PolicyReader, FreeTextHeaderFieldsAreVerbatim) {
  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::string version = "<Version>1.0</Version>";
  text.replace(text.find(version), version.size(),
               "<PolicyUrl> http://x/ </PolicyUrl><Reference></Reference>"
               "<Date>  Mon\n Apr </Date><NameSpaceUrl>ns</NameSpaceUrl>" +
                   version);
  auto m = parse_policy(text, "t.xml");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->header.url, " http://x/ ");
  EXPECT_EQ(m->header.reference, "");
  EXPECT_EQ(m->header.date, "  Mon\n Apr ");
  EXPECT_EQ(m->header.namespace_url, "ns");
}

TEST(PolicyReader, EmptyTypeStaysAnEmptyName) {
  const PolicyModel m = parse_file_or_fail(fixture_path("empty_type_in_label.xml"));
  const Label* a = m.find_vm_label("A");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->ste_types.size(), 1u);
  EXPECT_EQ(a->ste_types[0].name, "");
  EXPECT_EQ(a->ste_types[0].where.line, 44u);
}

// Structure is the schema's business; the reader still builds the model.
TEST(PolicyReader, StructureIsReadLeniently) {
  const PolicyModel ooo = parse_file_or_fail(fixture_path("element_out_of_order.xml"));
  ASSERT_TRUE(ooo.ste);
  EXPECT_EQ(ooo.ste->types.size(), 3u);
  EXPECT_EQ(ooo.ste->where.line, 21u);
  const PolicyModel no_version = parse_file_or_fail(fixture_path("missing_version.xml"));
  EXPECT_EQ(no_version.header.version, (PolicyVersion{0, 0}));
  const PolicyModel res = parse_file_or_fail(fixture_path("resource_label_with_chwall_types.xml"));
  EXPECT_EQ(res.resource_labels[0].chwall_types.size(), 1u);
}

TEST(PolicyReader, MalformedXmlNamesFileAndLine) {
  const auto path = fixture_path("malformed_tag_mismatch.xml");
  auto m = parse_policy(read_text(path), "bad.xml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::xml_malformed);
  EXPECT_EQ(m.error().to_string(),
            "bad.xml:6: Opening and ending tag mismatch: Version line 6 and Versoin");
}

TEST(PolicyReader, DoctypeIsRefusedBeforeItsEntitiesAreRead) {
  for (const char* name : {"doctype_billion_laughs.xml", "doctype_external_entity.xml"}) {
    const auto started = std::chrono::steady_clock::now();
    auto m = parse_policy(read_text(fixture_path(name)), name);
    ASSERT_FALSE(m) << name;
    EXPECT_EQ(m.error().code, Errc::xml_malformed);
    EXPECT_EQ(m.error().to_string(),
              std::string(name) +
                  ":2: DOCTYPE is not allowed in a security policy (DTDs and entity declarations "
                  "are refused)");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  }
  // Even an innocent DOCTYPE.
  auto m = parse_policy("<!DOCTYPE x>\n<x/>", "d.xml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().where.line, 1u);
}

TEST(PolicyReader, UndeclaredEntityIsMalformed) {
  auto m = parse_policy(read_text(fixture_path("undeclared_entity.xml")), "e.xml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::xml_malformed);
  EXPECT_EQ(m.error().to_string(), "e.xml:5: Entity 'secret' not defined");
}

TEST(PolicyReader, OtherMalformedInputs) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"", "x.xml:1: document is empty"},
      {"<a xmlns=\"http://www.ibm.com\">\n<p:b/></a>",
       "x.xml:2: Namespace prefix p on b is not defined"},
      {"<?xml version=\"1.1\"?>\n<a/>",
       "x.xml:1: XML version '1.1' is not supported; policies are XML 1.0"},
      {"<a>\n\n<b></a>", "x.xml:3: Opening and ending tag mismatch: b line 3 and a"},
      {"<a>&#1;</a>", "x.xml:1: xmlParseCharRef: invalid xmlChar value 1"},
  };
  for (const auto& c : cases) {
    auto m = parse_policy(c.text, "x.xml");
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().code, Errc::xml_malformed) << c.text;
    EXPECT_EQ(m.error().to_string(), c.expected);
  }
}

TEST(PolicyReader, OversizedInputIsRefusedUnread) {
  const std::string huge(kMaxPolicyBytes + 1, ' ');
  auto m = parse_policy(huge, "huge.xml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::limit_exceeded);
}

TEST(PolicyReader, RootMustBeAPolicy) {
  auto m = parse_policy(read_text(fixture_path("wrong_namespace.xml")), "ns.xml");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::schema_violation);
  EXPECT_EQ(m.error().to_string(),
            "ns.xml:3: error: root element is 'SecurityPolicyDefinition' in namespace "
            "'http://www.example.com/policy'; a security policy is 'SecurityPolicyDefinition' in "
            "namespace 'http://www.ibm.com'");
  auto other = parse_policy("<Type xmlns=\"http://www.ibm.com\">A</Type>", "t.xml");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::schema_violation);
}

TEST(PolicyReader, ValuesTheModelCannotHoldAreErrors) {
  auto bad_version = parse_policy(read_text(fixture_path("version_not_numeric.xml")), "v.xml");
  ASSERT_FALSE(bad_version);
  EXPECT_EQ(bad_version.error().code, Errc::schema_violation);
  EXPECT_EQ(bad_version.error().to_string(),
            "v.xml:6: error: malformed version '1.x': expected <major>.<minor>, each 1 to 8 "
            "decimal digits");

  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::string primary = "priority=\"PrimaryPolicyComponent\"";
  text.replace(text.find(primary), primary.size(), "priority=\"Secondary\"");
  auto bad_priority = parse_policy(text, "p.xml");
  ASSERT_FALSE(bad_priority);
  EXPECT_EQ(bad_priority.error().to_string(),
            "p.xml:15: error: priority 'Secondary' is not 'PrimaryPolicyComponent'");
}

TEST(PolicyReader, NeverPrints) {
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  (void)parse_policy("<a>\n<b></a>", "x.xml");
  (void)parse_policy("<a xmlns=\"rel\"><p:b/></a>", "x.xml");
  (void)parse_policy(read_text(fixture_path("doctype_billion_laughs.xml")), "x.xml");
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace shype::acm::xml
