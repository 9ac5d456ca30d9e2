#include "acm/semantic_check.hpp"

#include <gtest/gtest.h>

#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using testing::item;
using testing::items;
using testing::resource_label;
using testing::vm_label;

// Every finding of one severity, as text, for assertions.
std::vector<std::string> findings(const Diagnostics& d, Severity severity) {
  std::vector<std::string> out;
  for (const auto& x : d.items()) {
    if (x.severity == severity) out.push_back(x.message);
  }
  return out;
}

::testing::AssertionResult has_error(const Diagnostics& d, const std::string& text) {
  for (const auto& e : findings(d, Severity::error)) {
    if (e.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error containing '" << text << "' in:\n"
                                       << d.to_string();
}

::testing::AssertionResult has_warning(const Diagnostics& d, const std::string& text) {
  for (const auto& e : findings(d, Severity::warning)) {
    if (e.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no warning containing '" << text << "' in:\n"
                                       << d.to_string();
}

TEST(SemanticCheck, ShippedPoliciesAreClean) {
  for (const PolicyModel& m :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    const Diagnostics d = check_policy(m);
    EXPECT_FALSE(d.has_errors()) << m.header.name << ":\n" << d.to_string();
  }
}

TEST(SemanticCheck, PolicyNameMustBeASafeDottedName) {
  for (const char* bad : {"", "a..b", ".a", "a.", "../etc/passwd", "a/b", "a:b", "a b"}) {
    PolicyModel m = testing::mytest_model();
    m.header.name = bad;
    EXPECT_TRUE(has_error(check_policy(m), "policy name")) << bad;
  }
  PolicyModel ok = testing::mytest_model();
  ok.header.name = "example.client_v1";
  EXPECT_FALSE(check_policy(ok).has_errors());
}

TEST(SemanticCheck, UndeclaredTypesAreNamedWithTheirLabel) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels[2].ste_types.push_back(item("NoSuchType"));
  m.vm_labels[3].chwall_types.push_back(item("NoSuchWall"));
  m.chwall->conflict_sets[0].types.push_back(item("Ghost"));
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "label 'A-Bank' uses undeclared STE type 'NoSuchType'"));
  EXPECT_TRUE(has_error(d, "uses undeclared Chinese Wall type 'NoSuchWall'"));
  EXPECT_TRUE(has_error(d, "conflict set 'RER' names undeclared Chinese Wall type 'Ghost'"));
  EXPECT_EQ(d.error_count(), 3u);
}

TEST(SemanticCheck, DuplicatesAreReportedWithTheFirstDeclaration) {
  PolicyModel m = testing::mytest_model();
  m.source_file = "p.xml";
  m.ste->types.push_back(NamedItem{"A-Bank", {"p.xml", 40, 0}});
  m.ste->types[2].where = {"p.xml", 13, 0};
  m.chwall->types.push_back(item("AutoCorp"));
  m.vm_labels.push_back(vm_label("B-Bank", {"B-Bank"}, {"B-Bank"}));
  m.resource_labels.push_back(resource_label("AutoCorp", "AutoCorp"));
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "duplicate STE type 'A-Bank' (first declared at p.xml:13)"));
  EXPECT_TRUE(has_error(d, "duplicate Chinese Wall type 'AutoCorp'"));
  EXPECT_TRUE(has_error(d, "duplicate VM label 'B-Bank'"));
  EXPECT_TRUE(has_error(d, "duplicate resource label 'AutoCorp'"));
  // Located at the duplicate, not the first.
  bool located = false;
  for (const auto& x : d.items()) {
    if (x.message.find("duplicate STE type") != std::string::npos) located = x.where.line == 40;
  }
  EXPECT_TRUE(located);
}

TEST(SemanticCheck, BootstrapMustNameARealVmLabel) {
  PolicyModel missing = testing::mytest_model();
  missing.bootstrap = item("");
  EXPECT_TRUE(has_error(check_policy(missing), "bootstrap label is missing"));

  PolicyModel unknown = testing::mytest_model();
  unknown.bootstrap = item("Nobody");
  EXPECT_TRUE(has_error(check_policy(unknown), "bootstrap label 'Nobody' is not a VM label"));

  PolicyModel unlabeled = testing::mytest_model();
  unlabeled.bootstrap = item("__UNLABELED__");
  EXPECT_TRUE(has_error(check_policy(unlabeled), "bootstrap label cannot be '__UNLABELED__'"));

  PolicyModel none = testing::mytest_model();
  none.has_subject_labels = false;
  none.vm_labels.clear();
  EXPECT_TRUE(has_error(check_policy(none), "no SubjectLabels"));
}

// Manual 10.3.3: "It is illegal to define labels including conflicting
// Chinese Wall types."
TEST(SemanticCheck, LabelWithTwoTypesOfOneConflictSetIsIllegal) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels.push_back(vm_label("Merger", {"A-Bank"}, {"A-Bank", "B-Bank"}));
  EXPECT_TRUE(has_error(
      check_policy(m),
      "VM label 'Merger' holds Chinese Wall types 'A-Bank' and 'B-Bank' of conflict set 'RER'"));
  // A department holds its organisation's type and its own: legal, since
  // they are in different conflict sets.
  EXPECT_FALSE(check_policy(testing::mytest_model()).has_errors());
}

TEST(SemanticCheck, ResourceLabelsCarryExactlyOneSteTypeAndNoChineseWall) {
  PolicyModel m = testing::mytest_model();
  m.resource_labels[2].chwall_types = items({"A-Bank"});
  m.resource_labels[3].ste_types = items({"A-Bank", "B-Bank"});
  m.resource_labels[4].ste_types.clear();
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "resource label 'A-Bank' has Chinese Wall types"));
  EXPECT_TRUE(has_error(d, "must have exactly one STE type (has 2)"));
  EXPECT_TRUE(has_error(d, "must have exactly one STE type (has 0)"));
}

TEST(SemanticCheck, ConflictSetsMustBeNamedAndNonEmpty) {
  PolicyModel m = testing::mytest_model();
  m.chwall->conflict_sets.push_back({"", items({"A-Bank", "AutoCorp"}), {}});
  m.chwall->conflict_sets.push_back({"Empty", {}, {}});
  m.chwall->conflict_sets.push_back({"Lonely", items({"AutoCorp"}), {}});
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "conflict set has no name"));
  EXPECT_TRUE(has_error(d, "conflict set 'Empty' is empty"));
  EXPECT_TRUE(has_warning(d, "conflict set 'Lonely' has a single type and can never deny"));
}

TEST(SemanticCheck, NamesMayNotHoldColonsOrWhitespace) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels[2].name = "A:Bank";
  m.resource_labels[2].name = "A Bank";
  m.ste->types.push_back(item(""));
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "VM label name 'A:Bank' contains ':'"));
  EXPECT_TRUE(has_error(d, "resource label name 'A Bank' contains whitespace"));
  EXPECT_TRUE(has_error(d, "STE type name is empty"));
}

TEST(SemanticCheck, ReservedNamesAreNotLabels) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels.push_back(vm_label("__NULL_LABEL__", {"AutoCorp"}, {}));
  m.resource_labels.push_back(resource_label("__INACCESSIBLE__", "AutoCorp"));
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "'__NULL_LABEL__' is a reserved name"));
  EXPECT_TRUE(has_error(d, "'__INACCESSIBLE__' is a reserved name"));
}

TEST(SemanticCheck, UpdateMustRaiseTheVersionOfThePolicyItUpdates) {
  PolicyModel m = testing::mytest_model();
  m.header.from_policy = FromPolicy{"mytest", {1, 0}};
  m.header.version = {1, 0};
  EXPECT_TRUE(has_error(check_policy(m), "must be greater than the version it updates"));
  m.header.version = {1, 1};
  EXPECT_FALSE(check_policy(m).has_errors());
  // Renaming the policy in an update is allowed at any version.
  m.header.from_policy = FromPolicy{"oldname", {7, 0}};
  EXPECT_FALSE(check_policy(m).has_errors());
}

TEST(SemanticCheck, RenamesMustBeUnambiguous) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels[2].from = "Old";
  m.vm_labels[3].from = "Old";
  m.vm_labels[4].from = "";
  const Diagnostics d = check_policy(m);
  EXPECT_TRUE(has_error(d, "are both renamed from 'Old'"));
  EXPECT_TRUE(has_error(d, "has an empty 'from' attribute"));
}

TEST(SemanticCheck, NeitherComponentIsAnError) {
  PolicyModel m = testing::mytest_model();
  m.ste.reset();
  m.chwall.reset();
  EXPECT_TRUE(has_error(check_policy(m), "neither Simple Type Enforcement nor Chinese Wall types"));
}

TEST(SemanticCheck, WarnsAboutLabelsThatCanShareWithNothing) {
  PolicyModel m = testing::mytest_model();
  m.vm_labels.push_back(vm_label("Island", {}, {"AutoCorp"}));
  const Diagnostics d = check_policy(m);
  EXPECT_FALSE(d.has_errors());
  EXPECT_TRUE(has_warning(d, "VM label 'Island' has no STE type"));
}

TEST(SemanticCheck, WarnsWhenUnlabeledResourceTypesWouldBeIgnored) {
  PolicyModel m = testing::default_model();
  EXPECT_TRUE(findings(check_policy(m), Severity::warning).empty());
  m.resource_labels[0].ste_types = items({"SystemManagement"});
  EXPECT_TRUE(has_warning(check_policy(m), "its own types are ignored"));
  PolicyModel no_vm = testing::default_model();
  std::erase_if(no_vm.vm_labels, [](const Label& l) { return l.name == kUnlabeled; });
  EXPECT_TRUE(has_warning(check_policy(no_vm), "which this policy does not define"));
}

TEST(SemanticCheck, ReportsEveryErrorNotOnlyTheFirst) {
  PolicyModel m = testing::mytest_model();
  m.header.name = "bad/name";
  m.vm_labels[2].ste_types.push_back(item("Nope"));
  m.bootstrap = item("Nobody");
  m.chwall->conflict_sets.push_back({"Empty", {}, {}});
  EXPECT_EQ(check_policy(m).error_count(), 4u);
}

TEST(SemanticCheck, FindingsWithoutLocationFallBackToTheSourceFile) {
  PolicyModel m = testing::mytest_model();
  m.source_file = "generated.xml";
  m.bootstrap = item("Nobody");
  const Diagnostics d = check_policy(m);
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.items()[0].where.file, "generated.xml");
  EXPECT_EQ(d.to_error(Errc::semantic_error).to_string().rfind("generated.xml: error: ", 0), 0u);
}

}  // namespace
}  // namespace shype::acm
