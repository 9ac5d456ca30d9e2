// The policy view's wx-free parts: Problems of a refined policy and Explain
// on any policy model.
#include "ezpolicy/gui/policy_views.hpp"

#include <gtest/gtest.h>

#include "ezpolicy/gui/workload_views.hpp"

namespace shype::ezpolicy::gui::policy_views_test {
namespace {

const std::string kMytest = std::string(SHYPE_SOURCE_DIR) + "/policies/mytest-security_policy.xml";

TEST(PolicyViews, NoPolicyNoProblems) {
  PolicyEditor editor;
  EXPECT_TRUE(find_policy_problems(editor).empty());
}

TEST(PolicyViews, ProblemsAreTheCoresWarnings) {
  PolicyEditor editor;
  ASSERT_TRUE(editor.load_file(kMytest));
  EXPECT_TRUE(find_policy_problems(editor).empty());
  ASSERT_TRUE(editor.add_conflict_set("Solo", {"AutoCorp"}));
  ASSERT_TRUE(editor.add_label(LabelKind::vm, "Empty"));
  auto problems = find_policy_problems(editor);
  ASSERT_EQ(problems.size(), 2u);
  for (const Problem& p : problems)
    EXPECT_EQ(p.severity, ProblemSeverity::warning);
  EXPECT_NE(problems[0].message.find("'Solo' has a single type"), std::string::npos);
  EXPECT_NE(problems[1].message.find("'Empty'"), std::string::npos);
  EXPECT_EQ(vm_label_names(editor.policy()).back(), "Empty");
}

TEST(PolicyViews, ExplainPolicyUsesTheConflictSets) {
  PolicyEditor editor;
  ASSERT_TRUE(editor.load_file(kMytest));
  auto apart = explain_policy(editor.policy(), "A-Bank", "B-Bank");
  ASSERT_TRUE(apart) << apart.error().to_string();
  EXPECT_FALSE(apart->may_run_together);
  EXPECT_FALSE(apart->may_share);
  EXPECT_EQ(apart->deciding_rules, std::vector<std::string>{"RER"});
  auto together = explain_policy(editor.policy(), "A-Bank", "AutoCorp");
  ASSERT_TRUE(together);
  EXPECT_TRUE(together->may_run_together);
  auto shared = explain_policy(editor.policy(), "SystemManagement", "AutoCorp");
  ASSERT_TRUE(shared);
  EXPECT_TRUE(shared->may_share);
  auto unknown = explain_policy(editor.policy(), "A-Bank", "Nobody");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "'Nobody' is not a VM label of this policy");
}

}  // namespace
}  // namespace shype::ezpolicy::gui::policy_views_test
