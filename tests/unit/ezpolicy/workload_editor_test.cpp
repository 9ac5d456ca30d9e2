// The editing rules of ezPolicy (reference xen-acm-tools.md 7.4) and undo/redo.
#include "ezpolicy/workload_editor.hpp"

#include <gtest/gtest.h>

#include "ezpolicy/workload_rules.hpp"

namespace shype::ezpolicy {
namespace {

using Types = std::vector<std::string>;

// The manual's Figure 10.2, built through the editor.
void build_figure_10_2(WorkloadEditor& editor) {
  ASSERT_TRUE(editor.add_organization("A-Bank"));
  ASSERT_TRUE(editor.add_organization("B-Bank"));
  ASSERT_TRUE(editor.add_organization("AutoCorp"));
  ASSERT_TRUE(editor.add_department("A-Bank", "SecurityUnderwriting"));
  ASSERT_TRUE(editor.add_department("A-Bank", "MarketAnalysis"));
  ASSERT_TRUE(editor.create_rule("", {"A-Bank", "B-Bank", "__UNLABELED__"}));
  ASSERT_TRUE(editor.create_rule(
      "", {"A-Bank.SecurityUnderwriting", "A-Bank.MarketAnalysis", "__UNLABELED__"}));
}

TEST(WorkloadEditor, StartsWithUnlabeledOnly) {
  WorkloadEditor editor;
  ASSERT_EQ(editor.definition().organizations.size(), 1u);
  EXPECT_EQ(editor.definition().organizations[0].name, "__UNLABELED__");
  EXPECT_TRUE(editor.definition().rules.empty());
  EXPECT_FALSE(editor.modified());
  EXPECT_FALSE(editor.can_undo());
}

TEST(WorkloadEditor, Figure10_2TypesAndSortedRules) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  EXPECT_EQ(editor.definition().workload_types(),
            (Types{"__UNLABELED__", "A-Bank", "A-Bank.SecurityUnderwriting",
                   "A-Bank.MarketAnalysis", "B-Bank", "AutoCorp"}));
  ASSERT_EQ(editor.definition().rules.size(), 2u);
  EXPECT_EQ(editor.definition().rules[0].members, (Types{"A-Bank", "B-Bank", "__UNLABELED__"}));
  EXPECT_EQ(editor.definition().rules[1].members,
            (Types{"A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting", "__UNLABELED__"}));
  EXPECT_TRUE(editor.modified());
}

TEST(WorkloadEditor, DuplicateNamesRefused) {
  WorkloadEditor editor;
  ASSERT_TRUE(editor.add_organization("A-Bank"));
  auto org = editor.add_organization("A-Bank");
  ASSERT_FALSE(org);
  EXPECT_EQ(org.error().message, "an organization named 'A-Bank' already exists");
  ASSERT_TRUE(editor.add_department("A-Bank", "Audit"));
  auto dept = editor.add_department("A-Bank", "Audit");
  ASSERT_FALSE(dept);
  EXPECT_EQ(dept.error().message, "organization 'A-Bank' already has a department named 'Audit'");
  // The same department name in another organization is a different type.
  ASSERT_TRUE(editor.add_organization("B-Bank"));
  EXPECT_TRUE(editor.add_department("B-Bank", "Audit"));
  ASSERT_TRUE(editor.add_department("A-Bank", "Trading"));
  auto rename = editor.rename_department("A-Bank", "Trading", "Audit");
  ASSERT_FALSE(rename);
  auto rename_org = editor.rename_organization("B-Bank", "A-Bank");
  ASSERT_FALSE(rename_org);
  EXPECT_EQ(editor.undo_steps(), 5u);  // refusals left no step
}

TEST(WorkloadEditor, NamesAPolicyCannotHoldRefusedWithReason) {
  WorkloadEditor editor;
  struct Case {
    const char* name;
    const char* reason_part;
  };
  const Case cases[] = {
      {"", "cannot be empty"},
      {"A.Bank", "contains '.'"},
      {"A Bank", "whitespace"},
      {"A:Bank", "':'"},
      {"SystemManagement", "reserved for Domain-0"},
      {"__NULL_LABEL__", "cannot be used in a policy"},
      {"bad\x01name", "control characters"},
      {"bad\xff", "UTF-8"},
  };
  for (const Case& c : cases) {
    auto added = editor.add_organization(c.name);
    ASSERT_FALSE(added) << c.name;
    EXPECT_EQ(added.error().code, acm::Errc::invalid_argument);
    EXPECT_NE(added.error().message.find(c.reason_part), std::string::npos)
        << c.name << ": " << added.error().message;
  }
  EXPECT_TRUE(editor.add_organization("Café-Zürich"));  // UTF-8 is fine
  EXPECT_FALSE(editor.add_department("Café-Zürich", "a b"));
  EXPECT_FALSE(editor.add_department("Nowhere", "Dept"));
  EXPECT_FALSE(editor.can_redo());
  EXPECT_EQ(editor.undo_steps(), 1u);
}

TEST(WorkloadEditor, RenameOrganizationRewritesEveryRule) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.rename_organization("A-Bank", "Z-Bank"));
  const auto& d = editor.definition();
  EXPECT_EQ(d.organizations[1].name, "Z-Bank");
  EXPECT_EQ(d.organizations[1].departments, (Types{"SecurityUnderwriting", "MarketAnalysis"}));
  EXPECT_EQ(d.rules[0].members, (Types{"B-Bank", "Z-Bank", "__UNLABELED__"}));
  EXPECT_EQ(d.rules[1].members,
            (Types{"Z-Bank.MarketAnalysis", "Z-Bank.SecurityUnderwriting", "__UNLABELED__"}));
  EXPECT_EQ(editor.undo_description(), "Rename organization 'A-Bank' to 'Z-Bank'");
}

TEST(WorkloadEditor, RenameOrganizationLeavesPrefixNamesAlone) {
  WorkloadEditor editor;
  ASSERT_TRUE(editor.add_organization("A"));
  ASSERT_TRUE(editor.add_organization("AB"));
  ASSERT_TRUE(editor.create_rule("r", {"A", "AB"}));
  ASSERT_TRUE(editor.rename_organization("A", "C"));
  EXPECT_EQ(editor.definition().rules[0].members, (Types{"AB", "C"}));
}

TEST(WorkloadEditor, RenameDepartmentRewritesRules) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.rename_department("A-Bank", "MarketAnalysis", "Research"));
  EXPECT_EQ(editor.definition().organizations[1].departments,
            (Types{"SecurityUnderwriting", "Research"}));
  EXPECT_EQ(editor.definition().rules[1].members,
            (Types{"A-Bank.Research", "A-Bank.SecurityUnderwriting", "__UNLABELED__"}));
  EXPECT_EQ(editor.definition().rules[0].members, (Types{"A-Bank", "B-Bank", "__UNLABELED__"}));
}

TEST(WorkloadEditor, DeleteOrganizationRemovesItsTypesAndEmptyRules) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.create_rule("only-a", {"A-Bank.MarketAnalysis"}));
  ASSERT_TRUE(editor.delete_organization("A-Bank"));
  const auto& d = editor.definition();
  EXPECT_EQ(d.workload_types(), (Types{"__UNLABELED__", "B-Bank", "AutoCorp"}));
  ASSERT_EQ(d.rules.size(), 2u);  // "only-a" was left empty and is gone
  EXPECT_EQ(d.rules[0].members, (Types{"B-Bank", "__UNLABELED__"}));
  EXPECT_EQ(d.rules[1].members, (Types{"__UNLABELED__"}));  // one member stays
}

TEST(WorkloadEditor, DeleteDepartmentAndUnlabeled) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.delete_department("A-Bank", "MarketAnalysis"));
  EXPECT_EQ(editor.definition().rules[1].members,
            (Types{"A-Bank.SecurityUnderwriting", "__UNLABELED__"}));
  // __UNLABELED__ is an ordinary organization: it can be deleted.
  ASSERT_TRUE(editor.delete_organization("__UNLABELED__"));
  EXPECT_EQ(editor.definition().rules[0].members, (Types{"A-Bank", "B-Bank"}));
  EXPECT_EQ(editor.definition().rules[1].members, (Types{"A-Bank.SecurityUnderwriting"}));
  EXPECT_FALSE(editor.delete_department("A-Bank", "MarketAnalysis"));
}

TEST(WorkloadEditor, OrganizationAndOwnDepartmentNeverInOneRule) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  auto created = editor.create_rule("x", {"A-Bank", "A-Bank.MarketAnalysis"});
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find("invalid selection [ A-Bank, A-Bank.MarketAnalysis ]"),
            std::string::npos)
      << created.error().message;
  // --> Add into a rule that holds the organization.
  auto added = editor.add_to_rule(0, {"A-Bank.SecurityUnderwriting"});
  ASSERT_FALSE(added);
  // Another organization's department is fine.
  ASSERT_TRUE(editor.add_department("B-Bank", "Loans"));
  ASSERT_TRUE(editor.create_rule("y", {"A-Bank", "B-Bank.Loans"}));
  auto empty = editor.create_rule("z", {});
  ASSERT_FALSE(empty);
  auto unknown = editor.create_rule("z", {"NoSuchOrg"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, acm::Errc::not_found);
}

TEST(WorkloadEditor, AddToRuleReportsIgnoredMembers) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  auto added = editor.add_to_rule(0, {"AutoCorp", "B-Bank"});
  ASSERT_TRUE(added) << added.error().to_string();
  EXPECT_EQ(*added, (Types{"B-Bank"}));
  EXPECT_EQ(editor.definition().rules[0].members,
            (Types{"A-Bank", "AutoCorp", "B-Bank", "__UNLABELED__"}));
  const std::size_t steps = editor.undo_steps();
  auto again = editor.add_to_rule(0, {"AutoCorp"});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (Types{"AutoCorp"}));
  EXPECT_EQ(editor.undo_steps(), steps);  // nothing changed, no step
  EXPECT_FALSE(editor.add_to_rule(7, {"AutoCorp"}));
}

TEST(WorkloadEditor, RemoveFromRuleAndRuleRenameDelete) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.remove_from_rule(0, {"B-Bank"}));
  EXPECT_EQ(editor.definition().rules[0].members, (Types{"A-Bank", "__UNLABELED__"}));
  EXPECT_FALSE(editor.remove_from_rule(0, {"AutoCorp"}));
  ASSERT_TRUE(editor.remove_from_rule(0, {"A-Bank", "__UNLABELED__"}));
  ASSERT_EQ(editor.definition().rules.size(), 1u);  // emptied rule deleted
  ASSERT_TRUE(editor.rename_rule(0, "Departments"));
  EXPECT_EQ(editor.definition().rules[0].name, "Departments");
  ASSERT_TRUE(editor.rename_rule(0, "Two words"));  // a conflict-set name may have spaces
  for (const char* name : {" lead", "trail ", "two  spaces", "tab\there"}) {
    auto bad = editor.rename_rule(0, name);
    ASSERT_FALSE(bad) << name;
    EXPECT_EQ(bad.error().code, acm::Errc::invalid_argument);
  }
  EXPECT_EQ(editor.definition().rules[0].name, "Two words");
  ASSERT_TRUE(editor.delete_rule(0));
  EXPECT_TRUE(editor.definition().rules.empty());
  EXPECT_FALSE(editor.delete_rule(0));
}

TEST(WorkloadEditor, SortDepartments) {
  WorkloadEditor editor;
  build_figure_10_2(editor);
  ASSERT_TRUE(editor.sort_departments());
  EXPECT_EQ(editor.definition().organizations[1].departments,
            (Types{"MarketAnalysis", "SecurityUnderwriting"}));
  EXPECT_EQ(editor.undo_description(), "Sort departments");
}

TEST(WorkloadEditor, UndoRedoEveryOperation) {
  WorkloadEditor editor;
  std::vector<WorkloadDefinition> states{editor.definition()};
  auto record = [&](bool ok) {
    ASSERT_TRUE(ok);
    states.push_back(editor.definition());
  };
  record(editor.add_organization("A-Bank").has_value());
  record(editor.add_organization("B-Bank").has_value());
  record(editor.add_department("A-Bank", "MarketAnalysis").has_value());
  record(editor.add_department("A-Bank", "Audit").has_value());
  record(editor.create_rule("", {"A-Bank", "B-Bank"}).has_value());
  record(editor.create_rule("d", {"A-Bank.Audit", "B-Bank"}).has_value());
  record(editor.add_to_rule(0, {"__UNLABELED__"}).has_value());
  record(editor.remove_from_rule(0, {"B-Bank"}).has_value());
  record(editor.rename_rule(1, "renamed").has_value());
  record(editor.rename_organization("A-Bank", "C-Bank").has_value());
  record(editor.rename_department("C-Bank", "Audit", "Accounts").has_value());
  record(editor.sort_departments().has_value());
  record(editor.delete_department("C-Bank", "Accounts").has_value());
  record(editor.delete_rule(0).has_value());
  record(editor.delete_organization("B-Bank").has_value());
  ASSERT_EQ(editor.undo_steps(), states.size() - 1);
  for (std::size_t i = states.size() - 1; i > 0; --i) {
    ASSERT_EQ(editor.definition(), states[i]) << "state " << i;
    ASSERT_TRUE(editor.undo());
  }
  EXPECT_EQ(editor.definition(), states[0]);
  EXPECT_FALSE(editor.can_undo());
  EXPECT_FALSE(editor.undo());
  EXPECT_FALSE(editor.modified());  // back at the saved (initial) state
  for (std::size_t i = 1; i < states.size(); ++i) {
    ASSERT_TRUE(editor.redo());
    ASSERT_EQ(editor.definition(), states[i]) << "state " << i;
  }
  EXPECT_FALSE(editor.can_redo());
  EXPECT_FALSE(editor.redo());
}

TEST(WorkloadEditor, NewChangeClearsRedoAndModifiedTracksSaves) {
  WorkloadEditor editor;
  ASSERT_TRUE(editor.add_organization("A"));
  editor.mark_saved();
  EXPECT_FALSE(editor.modified());
  ASSERT_TRUE(editor.add_organization("B"));
  EXPECT_TRUE(editor.modified());
  ASSERT_TRUE(editor.undo());
  EXPECT_FALSE(editor.modified());
  EXPECT_EQ(editor.redo_description(), "Add organization 'B'");
  ASSERT_TRUE(editor.add_organization("C"));
  EXPECT_FALSE(editor.can_redo());
  EXPECT_TRUE(editor.modified());
  ASSERT_TRUE(editor.undo());
  ASSERT_TRUE(editor.undo());
  EXPECT_TRUE(editor.modified());  // before the save
}

TEST(WorkloadEditor, ResetValidatesAndClearsHistory) {
  WorkloadEditor editor;
  ASSERT_TRUE(editor.add_organization("A"));
  WorkloadDefinition bad;
  bad.organizations = {{"X", {}}, {"X", {}}};
  auto refused = editor.reset(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "organization 'X' is defined twice");
  EXPECT_EQ(editor.definition().organizations.size(), 2u);  // unchanged
  WorkloadDefinition good;
  good.organizations = {{"X", {"D"}}};
  good.rules = {{"r", {"X.D"}}};
  ASSERT_TRUE(editor.reset(good));
  EXPECT_EQ(editor.definition(), good);
  EXPECT_FALSE(editor.can_undo());
  EXPECT_FALSE(editor.modified());
  WorkloadDefinition unsorted = good;
  unsorted.organizations[0].departments.push_back("C");
  unsorted.rules[0].members = {"X.D", "X.C"};
  EXPECT_FALSE(editor.reset(unsorted));
}

TEST(WorkloadEditor, HistoryIsBounded) {
  WorkloadEditor editor;
  for (std::size_t i = 0; i < WorkloadEditor::kMaxUndoSteps + 5; ++i) {
    ASSERT_TRUE(editor.add_organization("O" + std::to_string(i)));
  }
  EXPECT_EQ(editor.undo_steps(), WorkloadEditor::kMaxUndoSteps);
}

}  // namespace
}  // namespace shype::ezpolicy
