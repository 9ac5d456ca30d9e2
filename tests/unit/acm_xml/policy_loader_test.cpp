#include "acm/xml/policy_loader.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acm/xml/policy_reader.hpp"
#include "policy_fixtures.hpp"
#include "xml_test_support.hpp"

namespace shype::acm::xml {
namespace {

using namespace test_files;

// Loads fixtures/<name> under the file name <name>, so expected messages
// do not depend on where the tree is.
Result<LoadedPolicy> load_fixture(const std::string& name) {
  return load_policy_text(read_text(fixture_path(name)), name);
}

TEST(PolicyLoader, ShippedPoliciesLoadCleanly) {
  for (const auto& name : shipped_policies()) {
    auto loaded = load_policy_file(policy_path(name));
    ASSERT_TRUE(loaded) << name << "\n" << loaded.error().to_string();
    EXPECT_TRUE(loaded->warnings.empty()) << name << "\n" << loaded->warnings.to_string();
    EXPECT_EQ(loaded->xml_text, read_text(policy_path(name)));
    EXPECT_EQ(loaded->model.source_file, policy_path(name).string());
  }
  auto mytest = load_policy_file(policy_path("mytest-security_policy.xml"));
  ASSERT_TRUE(mytest);
  EXPECT_EQ(mytest->model, acm::testing::mytest_model());
  auto fallback = load_policy_file(policy_path("DEFAULT-security_policy.xml"));
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->model, acm::testing::default_model());
  auto example = load_policy_file(policy_path("example/test-security_policy.xml"));
  ASSERT_TRUE(example);
  EXPECT_EQ(example->model, acm::testing::example_test_model());
}

TEST(PolicyLoader, OddButValidInputsLoad) {
  for (const char* name :
       {"valid_minimal.xml", "name_whitespace.xml", "prefixed_cdata_comments.xml",
        "schema_location_ignored.xml", "vio_empty_chwall_types.xml"}) {
    auto loaded = load_fixture(name);
    EXPECT_TRUE(loaded) << name << "\n" << loaded.error().to_string();
  }
  // Manual 10.3.4: a VIO server label whose ChineseWallTypes is empty has no
  // Chinese Wall type, so it runs beside any workload.
  auto vio = load_fixture("vio_empty_chwall_types.xml");
  ASSERT_TRUE(vio);
  const Label* label = vio->model.find_vm_label("VIOServer");
  ASSERT_NE(label, nullptr);
  EXPECT_TRUE(label->chwall_types.empty());
  EXPECT_EQ(label->ste_types.size(), 2u);
}

TEST(PolicyLoader, CheckerWarningsAreReturned) {
  auto loaded = load_fixture("single_type_conflict_set.xml");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings.items()[0].to_string(),
            "single_type_conflict_set.xml:22: warning: conflict set 'AB' has a single type and can "
            "never deny a domain");
}

// One fixture per rule: the error code and every reported line, exactly.
struct BadInput {
  const char* fixture;
  Errc code;
  std::vector<std::string> lines;
};

class PolicyLoaderRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(PolicyLoaderRejects, WithEveryFindingLocated) {
  const BadInput& bad = GetParam();
  auto loaded = load_fixture(bad.fixture);
  ASSERT_FALSE(loaded) << bad.fixture;
  EXPECT_EQ(loaded.error().code, bad.code) << errc_name(loaded.error().code);
  EXPECT_EQ(lines_of(loaded.error().to_string()), bad.lines);
}

const BadInput kBadInputs[] = {
    {"malformed_tag_mismatch.xml",
     Errc::xml_malformed,
     {"malformed_tag_mismatch.xml:6: Opening and ending tag mismatch: Version line 6 and Versoin"}},
    {"doctype_billion_laughs.xml",
     Errc::xml_malformed,
     {"doctype_billion_laughs.xml:2: DOCTYPE is not allowed in a security policy (DTDs and "
      "entity declarations are refused)"}},
    {"doctype_external_entity.xml",
     Errc::xml_malformed,
     {"doctype_external_entity.xml:2: DOCTYPE is not allowed in a security policy (DTDs and "
      "entity declarations are refused)"}},
    {"undeclared_entity.xml",
     Errc::xml_malformed,
     {"undeclared_entity.xml:5: Entity 'secret' not defined"}},
    {"wrong_namespace.xml",
     Errc::schema_violation,
     {"wrong_namespace.xml:3: error: root element is 'SecurityPolicyDefinition' in namespace "
      "'http://www.example.com/policy'; a security policy is 'SecurityPolicyDefinition' in "
      "namespace 'http://www.ibm.com'"}},
    {"element_out_of_order.xml",
     Errc::schema_violation,
     {"element_out_of_order.xml:69: error: element 'SimpleTypeEnforcement' is not allowed for "
      "content model '(PolicyHeader,SimpleTypeEnforcement?,ChineseWall?,SecurityLabelTemplate)'"}},
    {"missing_version.xml",
     Errc::schema_violation,
     {"missing_version.xml:6: error: missing elements in content model "
      "'(PolicyName,PolicyUrl?,Reference?,Date?,NameSpaceUrl?,Version,FromPolicy?)'"}},
    {"version_no_minor.xml",
     Errc::schema_violation,
     {"version_no_minor.xml:6: error: value '1' does not match regular expression facet "
      "'[0-9]{1,8}\\.[0-9]{1,8}'"}},
    {"version_not_numeric.xml",
     Errc::schema_violation,
     {"version_not_numeric.xml:6: error: value '1.x' does not match regular expression facet "
      "'[0-9]{1,8}\\.[0-9]{1,8}'"}},
    {"version_too_long.xml",
     Errc::schema_violation,
     {"version_too_long.xml:6: error: value '123456789.0' does not match regular expression facet "
      "'[0-9]{1,8}\\.[0-9]{1,8}'"}},
    {"undeclared_ste_type_in_label.xml",
     Errc::schema_violation,
     {"undeclared_ste_type_in_label.xml:44: error: label 'A' uses undeclared STE type 'C'"}},
    {"undeclared_chwall_type_in_conflict_set.xml",
     Errc::schema_violation,
     {"undeclared_chwall_type_in_conflict_set.xml:24: error: conflict set 'AB' names undeclared "
      "Chinese Wall type 'C'"}},
    {"duplicate_ste_type.xml",
     Errc::schema_violation,
     {"duplicate_ste_type.xml:13: error: duplicate STE type 'A' (first declared at "
      "duplicate_ste_type.xml:11)"}},
    {"duplicate_vm_label.xml",
     Errc::schema_violation,
     {"duplicate_vm_label.xml:50: error: duplicate VM label 'A' (first defined at "
      "duplicate_vm_label.xml:41)"}},
    {"bootstrap_not_a_label.xml",
     Errc::schema_violation,
     {"bootstrap_not_a_label.xml:29: error: bootstrap label 'Dom0' is not a VM label"}},
    {"conflicting_chwall_types_in_label.xml",
     Errc::semantic_error,
     {"conflicting_chwall_types_in_label.xml:41: error: VM label 'A' holds Chinese Wall types 'A' "
      "and 'B' of conflict set 'AB'"}},
    {"resource_label_with_chwall_types.xml",
     Errc::schema_violation,
     {"resource_label_with_chwall_types.xml:61: error: resource label 'A' has Chinese Wall types; "
      "resource labels carry STE types only",
      "resource_label_with_chwall_types.xml:66: error: no declaration found for element "
      "'ChineseWallTypes'",
      "resource_label_with_chwall_types.xml:69: error: element 'ChineseWallTypes' is not allowed "
      "for content model '(Name,SimpleTypeEnforcementTypes)'"}},
    {"resource_label_two_ste_types.xml",
     Errc::schema_violation,
     {"resource_label_two_ste_types.xml:61: error: resource label 'A' must have exactly one STE "
      "type (has 2)",
      "resource_label_two_ste_types.xml:66: error: element 'Type' is not allowed for content model "
      "'(Type)'"}},
    {"empty_conflict_set.xml",
     Errc::schema_violation,
     {"empty_conflict_set.xml:22: error: conflict set 'AB' is empty",
      "empty_conflict_set.xml:23: error: empty content is not valid for content model '(Type+)'"}},
    {"colon_in_label_name.xml",
     Errc::semantic_error,
     {"colon_in_label_name.xml:41: error: VM label name 'A:1' contains ':'"}},
    {"empty_type_in_label.xml",
     Errc::schema_violation,
     {"empty_type_in_label.xml:44: error: label 'A' uses undeclared STE type ''",
      "empty_type_in_label.xml:44: error: value '' has length '0' which is less than minLength "
      "facet value '1'"}},
    // Several unrelated errors: all of them, in file order.
    {"several_errors.xml",
     Errc::schema_violation,
     {"several_errors.xml:6: error: value '1' does not match regular expression facet "
      "'[0-9]{1,8}\\.[0-9]{1,8}'",
      "several_errors.xml:13: error: duplicate STE type 'B' (first declared at "
      "several_errors.xml:12)",
      "several_errors.xml:30: error: bootstrap label 'Dom0' is not a VM label",
      "several_errors.xml:51: error: VM label name 'B:x' contains ':'"}},
    // Every key, keyref and unique of the schema, each at the offending
    // element's line rather than at the end of the document, where the
    // validator reports them (line 77).
    {"every_reference_kind.xml",
     Errc::schema_violation,
     {"every_reference_kind.xml:13: error: duplicate STE type 'B' (first declared at "
      "every_reference_kind.xml:12)",
      "every_reference_kind.xml:21: error: duplicate Chinese Wall type 'SystemManagement' (first "
      "declared at every_reference_kind.xml:18)",
      "every_reference_kind.xml:26: error: conflict set 'AB' names undeclared Chinese Wall type "
      "'Z'",
      "every_reference_kind.xml:31: error: bootstrap label 'Dom0' is not a VM label",
      "every_reference_kind.xml:46: error: label 'A' uses undeclared STE type 'X'",
      "every_reference_kind.xml:49: error: label 'A' uses undeclared Chinese Wall type 'Y'",
      "every_reference_kind.xml:52: error: duplicate VM label 'A' (first defined at "
      "every_reference_kind.xml:43)",
      "every_reference_kind.xml:66: error: label 'A' uses undeclared STE type 'W'",
      "every_reference_kind.xml:69: error: duplicate resource label 'A' (first defined at "
      "every_reference_kind.xml:63)"}},
};

std::string fixture_test_name(const ::testing::TestParamInfo<BadInput>& info) {
  std::string name = info.param.fixture;
  name = name.substr(0, name.find('.'));
  return name;
}

INSTANTIATE_TEST_SUITE_P(BadInputs, PolicyLoaderRejects, ::testing::ValuesIn(kBadInputs),
                         fixture_test_name);

// Every fixture in the directory is covered by one of the tests above.
TEST(PolicyLoader, EveryFixtureIsExercised) {
  std::set<std::string> covered = {
      "valid_minimal.xml",           "name_whitespace.xml",          "prefixed_cdata_comments.xml",
      "schema_location_ignored.xml", "single_type_conflict_set.xml", "vio_empty_chwall_types.xml"};
  for (const auto& bad : kBadInputs)
    covered.insert(bad.fixture);
  for (const auto& entry : std::filesystem::directory_iterator(fixture_path(""))) {
    EXPECT_TRUE(covered.count(entry.path().filename().string())) << entry.path();
  }
}

// Schema errors that are not identity constraints are always reported,
// next to check_policy's findings (here: the resource label's extra type).
TEST(PolicyLoader, StructuralSchemaErrorsAreNeverDropped) {
  auto loaded = load_fixture("resource_label_two_ste_types.xml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("is not allowed for content model"), std::string::npos);
  auto alone = load_fixture("missing_version.xml");
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().code, Errc::schema_violation);
}

TEST(PolicyLoader, FileErrorsNameThePathAndTheReason) {
  const auto missing = fixture_path("no_such_policy.xml");
  auto loaded = load_policy_file(missing);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::io_error);
  EXPECT_EQ(loaded.error().to_string(),
            "cannot open " + missing.string() + ": No such file or directory");

  auto directory = load_policy_file(fixture_path(""));
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, Errc::io_error);
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);
}

TEST(PolicyLoader, FileNamesLocateFindings) {
  const auto path = fixture_path("colon_in_label_name.xml");
  auto loaded = load_policy_file(path);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().to_string(),
            path.string() + ":41: error: VM label name 'A:1' contains ':'");
}

TEST(PolicyLoader, OversizedInputsAreRefused) {
  auto loaded = load_policy_text(std::string(kMaxPolicyBytes + 1, ' '), "big.xml");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::limit_exceeded);

  // A sparse file: refused from its size, before anything is read.
  const auto path = std::filesystem::temp_directory_path() /
                    ("shype_big_policy_" +
                     std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".xml");
  { std::ofstream create(path); }
  std::filesystem::resize_file(path, kMaxPolicyBytes + 1);
  auto from_file = load_policy_file(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(from_file);
  EXPECT_EQ(from_file.error().code, Errc::limit_exceeded);
  EXPECT_NE(from_file.error().message.find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace shype::acm::xml
