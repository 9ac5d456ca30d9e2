#include "acm/xml/schema_validator.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "acm/xml/policy_reader.hpp"
#include "xml_test_support.hpp"

namespace shype::embedded {
extern const std::string_view kSecurityPolicySchema;
}  // namespace shype::embedded

namespace shype::acm::xml {
namespace {

using namespace test_files;

Diagnostics validate_fixture(const std::string& name) {
  return validate_schema(read_text(fixture_path(name)), name);
}

// The grammar in the library is the one in the tree.
TEST(SchemaValidator, EmbeddedSchemaIsSchemaFile) {
  EXPECT_EQ(shype::embedded::kSecurityPolicySchema,
            read_text(source_dir() / "schema" / "security_policy.xsd"));
}

TEST(SchemaValidator, ShippedPoliciesAreValid) {
  for (const auto& name : shipped_policies()) {
    const Diagnostics d = validate_schema(read_text(policy_path(name)), name);
    EXPECT_TRUE(d.empty()) << name << "\n" << d.to_string();
  }
}

TEST(SchemaValidator, OddButValidFixturesAreValid) {
  for (const char* name :
       {"valid_minimal.xml", "name_whitespace.xml", "prefixed_cdata_comments.xml",
        "schema_location_ignored.xml", "single_type_conflict_set.xml"}) {
    const Diagnostics d = validate_fixture(name);
    EXPECT_TRUE(d.empty()) << name << "\n" << d.to_string();
  }
}

// Each structural rule, with Xerces' location: a value error at its
// element, a content-model error at the end tag of the element whose
// content is wrong.
TEST(SchemaValidator, StructureErrorsAreLocated) {
  struct Case {
    const char* fixture;
    const char* expected;
  };
  const Case cases[] = {
      {"element_out_of_order.xml",
       "element_out_of_order.xml:69: error: element 'SimpleTypeEnforcement' is not allowed for "
       "content model '(PolicyHeader,SimpleTypeEnforcement?,ChineseWall?,SecurityLabelTemplate)'"},
      {"missing_version.xml",
       "missing_version.xml:6: error: missing elements in content model "
       "'(PolicyName,PolicyUrl?,Reference?,Date?,NameSpaceUrl?,Version,FromPolicy?)'"},
      {"version_no_minor.xml",
       "version_no_minor.xml:6: error: value '1' does not match regular expression facet "
       "'[0-9]{1,8}\\.[0-9]{1,8}'"},
      {"version_not_numeric.xml",
       "version_not_numeric.xml:6: error: value '1.x' does not match regular expression facet "
       "'[0-9]{1,8}\\.[0-9]{1,8}'"},
      {"version_too_long.xml",
       "version_too_long.xml:6: error: value '123456789.0' does not match regular expression "
       "facet '[0-9]{1,8}\\.[0-9]{1,8}'"},
      {"empty_conflict_set.xml",
       "empty_conflict_set.xml:23: error: empty content is not valid for content model '(Type+)'"},
      {"resource_label_two_ste_types.xml",
       "resource_label_two_ste_types.xml:66: error: element 'Type' is not allowed for content "
       "model '(Type)'"},
  };
  for (const auto& c : cases) {
    const Diagnostics d = validate_fixture(c.fixture);
    ASSERT_EQ(d.size(), 1u) << c.fixture << "\n" << d.to_string();
    EXPECT_EQ(d.items()[0].to_string(), c.expected);
    EXPECT_GT(d.items()[0].where.column, 0u);
  }
}

TEST(SchemaValidator, WrongNamespaceIsNotAPolicy) {
  const Diagnostics d = validate_fixture("wrong_namespace.xml");
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.items()[1].to_string(),
            "wrong_namespace.xml:3: error: no declaration found for element "
            "'SecurityPolicyDefinition'");
}

// Only SecurityPolicyDefinition is a global element.
TEST(SchemaValidator, NoOtherRootIsValid) {
  for (const char* text : {"<Type xmlns=\"http://www.ibm.com\">A</Type>",
                           "<PolicyHeader xmlns=\"http://www.ibm.com\"><PolicyName>a</PolicyName>"
                           "<Version>1.0</Version></PolicyHeader>"}) {
    EXPECT_TRUE(validate_schema(text, "r.xml").has_errors()) << text;
  }
}

// blockDefault="#all": xsi:type cannot swap in a laxer type.
TEST(SchemaValidator, XsiTypeCannotLoosenTheGrammar) {
  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::string header = "<PolicyHeader>";
  text.replace(text.find(header), header.size(),
               "<PolicyHeader xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
               "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xsi:type=\"xs:anyType\">"
               "<Anything/>");
  EXPECT_TRUE(validate_schema(text, "t.xml").has_errors());
}

// The identity constraints hold, but Xerces can only report them at the
// end of their scope (the last line); load_policy_text relocates them.
TEST(SchemaValidator, IdentityConstraintsAreReportedAtTheEnd) {
  const Diagnostics d = validate_fixture("undeclared_ste_type_in_label.xml");
  ASSERT_EQ(d.size(), 1u) << d.to_string();
  EXPECT_EQ(d.items()[0].to_string(),
            "undeclared_ste_type_in_label.xml:69: error: identity constraint key for element "
            "'SecurityPolicyDefinition' not found");
  EXPECT_EQ(validate_fixture("every_reference_kind.xml").error_count(), 9u);
}

// A schemaLocation hint to a lax local grammar changes nothing: only the
// embedded grammar is used, and nothing is read from outside.
TEST(SchemaValidator, SchemaLocationHintsAreIgnored) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("shype_xsd_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const auto lax = dir / "lax.xsd";
  {
    std::ofstream out(lax);
    out << "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
           "targetNamespace=\"http://www.ibm.com\"><xs:element name=\"SecurityPolicyDefinition\"/>"
           "</xs:schema>";
  }
  const std::string text =
      "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://www.ibm.com file://" +
      lax.string() +
      "\"><Junk/>"
      "</SecurityPolicyDefinition>";
  EXPECT_TRUE(validate_schema(text, "t.xml").has_errors());
  std::filesystem::remove_all(dir);

  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(validate_fixture("schema_location_ignored.xml").empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(SchemaValidator, DoctypeIsRefused) {
  const auto started = std::chrono::steady_clock::now();
  const Diagnostics d = validate_fixture("doctype_billion_laughs.xml");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_EQ(d.size(), 1u) << d.to_string();
  EXPECT_EQ(d.items()[0].where.line, 2u);
  EXPECT_TRUE(validate_fixture("doctype_external_entity.xml").has_errors());
}

TEST(SchemaValidator, MalformedAndOversizedInputs) {
  EXPECT_TRUE(validate_schema("", "e.xml").has_errors());
  EXPECT_TRUE(validate_schema("<x", "e.xml").has_errors());
  const Diagnostics huge = validate_schema(std::string(kMaxPolicyBytes + 1, ' '), "h.xml");
  ASSERT_EQ(huge.size(), 1u);
  EXPECT_EQ(huge.items()[0].to_string(),
            "h.xml: error: policy is 67108865 bytes; the limit is 67108864 bytes");
}

// Quoted document text cannot break the one-finding-per-line format.
TEST(SchemaValidator, MessagesAreSingleLines) {
  std::string text = read_text(fixture_path("valid_minimal.xml"));
  const std::string version = "<Version>1.0</Version>";
  text.replace(text.find(version), version.size(),
               "<Date>x</Date><Version>1.0</Version><Date>a\nb</Date>");
  const Diagnostics d = validate_schema(text, "t.xml");
  ASSERT_TRUE(d.has_errors());
  for (const auto& item : d.items())
    EXPECT_EQ(item.message.find('\n'), std::string::npos);
}

// The shared grammar is recompiled now and then (so that namespace URIs
// Xerces interns cannot pile up); validation is the same before and after.
TEST(SchemaValidator, ManyDocumentsWithFreshNamespaces) {
  const std::string mytest = read_text(policy_path("mytest-security_policy.xml"));
  const std::string root = "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\"";
  ASSERT_NE(mytest.find(root), std::string::npos);
  int wrong = 0;
  for (int i = 0; i < 2500; ++i) {
    std::string text = mytest;
    text.replace(
        text.find(root), root.size(),
        root + " xmlns:n" + std::to_string(i) + "=\"urn:fresh:" + std::to_string(i) + "\"");
    if (!validate_schema(text, "fresh.xml").empty()) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(validate_fixture("missing_version.xml").error_count(), 1u);
}

TEST(SchemaValidator, IsThreadSafe) {
  const std::string good = read_text(policy_path("mytest-security_policy.xml"));
  const std::string bad = read_text(fixture_path("missing_version.xml"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      // 8 x 80 x 2 validations: more than one grammar pool's worth, so the
      // pool is replaced while other threads still use the old one.
      for (int i = 0; i < 80; ++i) {
        if (!validate_schema(good, "good.xml").empty()) ++wrong;
        if (validate_schema(bad, "bad.xml").error_count() != 1) ++wrong;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace shype::acm::xml
