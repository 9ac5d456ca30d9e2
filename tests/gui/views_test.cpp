// The window's views without a window: Problems, the XML preview, Explain
// (decided by the policy core) and Deploy (against a stand-in for xend).
#include <algorithm>

#include <gtest/gtest.h>

#include "ezpolicy/gui/deploy.hpp"
#include "ezpolicy/gui/workload_views.hpp"
#include "ezpolicy/translator.hpp"
#include "fake_xend.hpp"
#include "fixtures.hpp"

namespace shype::ezpolicy::gui {
namespace {

using testing::figure_10_2;

bool has_problem(const std::vector<Problem>& problems, ProblemSeverity severity,
                 const std::string& text) {
  return std::any_of(problems.begin(), problems.end(), [&](const Problem& p) {
    return p.severity == severity && p.message.find(text) != std::string::npos;
  });
}

TEST(Problems, Figure10_2HasNone) {
  EXPECT_TRUE(find_problems(figure_10_2(), "mytest").empty());
}

TEST(Problems, ARuleWithOneMemberIsAWarningAndItsMissingUnlabeledANote) {
  WorkloadDefinition d = figure_10_2();
  d.rules.push_back({"lonely", {"AutoCorp"}});
  d.rules.push_back({"banks", {"A-Bank", "AutoCorp"}});
  const auto problems = find_problems(d, "mytest");
  EXPECT_TRUE(has_problem(problems, ProblemSeverity::warning, "lonely")) << problems.size();
  EXPECT_TRUE(has_problem(problems, ProblemSeverity::note, "'banks' does not hold __UNLABELED__"));
  EXPECT_FALSE(has_problem(problems, ProblemSeverity::error, ""));
}

TEST(Problems, AnInvalidPolicyNameIsAnError) {
  const auto problems = find_problems(figure_10_2(), "my test");
  EXPECT_TRUE(has_problem(problems, ProblemSeverity::error, ""));
  EXPECT_EQ(problems.front().severity, ProblemSeverity::error);
}

TEST(Problems, NoUnlabeledOrganizationIsANote) {
  WorkloadDefinition d = figure_10_2();
  d.organizations.erase(d.organizations.begin());
  for (auto& rule : d.rules)
    std::erase(rule.members, "__UNLABELED__");
  EXPECT_TRUE(has_problem(find_problems(d, "mytest"), ProblemSeverity::note,
                          "no organization __UNLABELED__"));
}

TEST(Preview, IsWhatSaveAsPolicyWrites) {
  auto preview = preview_policy_xml(figure_10_2(), "mytest", "Mon Nov 19 22:51:56 2007");
  ASSERT_TRUE(preview) << preview.error().to_string();
  auto translation = translate(figure_10_2(), "mytest", "Mon Nov 19 22:51:56 2007");
  ASSERT_TRUE(translation);
  EXPECT_EQ(*preview, translation->xml);
  EXPECT_FALSE(preview_policy_xml(figure_10_2(), "", "x"));
}

TEST(Explain, TheBanksMayNeitherShareNorRunTogether) {
  auto e = explain(figure_10_2(), "A-Bank", "B-Bank");
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_FALSE(e->may_share);
  EXPECT_FALSE(e->may_run_together);
  EXPECT_NE(e->run_rule.find("deny"), std::string::npos) << e->run_rule;
  EXPECT_EQ(e->deciding_rules, std::vector<std::string>{"RER"});
  const std::string text = e->to_text("A-Bank", "B-Bank");
  EXPECT_NE(text.find("Run together: NO"), std::string::npos) << text;
}

TEST(Explain, DepartmentsInheritTheirOrganizationsRules) {
  auto e = explain(figure_10_2(), "B-Bank", "A-Bank.MarketAnalysis");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->may_run_together) << e->run_rule;
  EXPECT_FALSE(e->may_share);
  // Sibling departments are in the second rule.
  auto siblings = explain(figure_10_2(), "A-Bank.SecurityUnderwriting", "A-Bank.MarketAnalysis");
  ASSERT_TRUE(siblings);
  EXPECT_FALSE(siblings->may_run_together);
  EXPECT_EQ(siblings->deciding_rules, std::vector<std::string>{"RER"});
}

TEST(Explain, UnrelatedWorkloadsRunTogetherButDoNotShare) {
  auto e = explain(figure_10_2(), "A-Bank", "AutoCorp");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->may_run_together) << e->run_rule;
  EXPECT_FALSE(e->may_share) << e->share_rule;
  EXPECT_TRUE(e->deciding_rules.empty());
}

TEST(Explain, SystemManagementSharesWithEveryWorkload) {
  auto e = explain(figure_10_2(), "SystemManagement", "B-Bank");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->may_share) << e->share_rule;
  EXPECT_TRUE(e->may_run_together);
  auto same = explain(figure_10_2(), "A-Bank", "A-Bank");
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->may_share);
  EXPECT_TRUE(same->may_run_together) << same->run_rule;
}

TEST(Explain, UnknownLabelsAreRefused) {
  auto e = explain(figure_10_2(), "A-Bank", "C-Bank");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("C-Bank"), std::string::npos);
  EXPECT_EQ(explainable_labels(figure_10_2()).front(), "SystemManagement");
  EXPECT_EQ(explainable_labels(figure_10_2()).size(), 7u);
}

TEST(Deploy, SendsThePolicyAsXmSetpolicyDoesAndShowsTheAnswer) {
  testing::ScratchDir root;
  testing::FakeXend xend(
      root.path(),
      [](const std::string& method, const rpc::Json& params) -> rpc::Result<rpc::Json> {
        if (method != "policy.set") return rpc::fail("unexpected " + method);
        return rpc::Json{{"policy",
                          {{"name", "mytest"},
                           {"version", "1.0"},
                           {"loaded", true},
                           {"boot", true},
                           {"subsystems", {"ACM"}},
                           {"type", params.value("type", "")}}},
                         {"warnings", {"boot policy not changed"}}};
      });
  const DeployOutcome outcome = deploy_policy(
      {root.path(), "<xml/>", "/etc/xen/acm-security/policies/mytest-security_policy.xml",
       std::chrono::seconds(10)});
  EXPECT_TRUE(outcome.ok) << outcome.message;
  EXPECT_NE(outcome.message.find("Successfully set the new policy."), std::string::npos);
  EXPECT_NE(outcome.message.find("Policy name           : mytest"), std::string::npos)
      << outcome.message;
  EXPECT_EQ(outcome.warnings, std::vector<std::string>{"boot policy not changed"});
  ASSERT_EQ(xend.requests().size(), 1u);
  const rpc::Json& params = xend.requests()[0]["params"];
  EXPECT_EQ(params["type"], "ACM");
  EXPECT_EQ(params["xml"], "<xml/>");
  EXPECT_EQ(params["file"], "/etc/xen/acm-security/policies/mytest-security_policy.xml");
}

TEST(Deploy, ShowsXendsRefusalWithItsReasons) {
  testing::ScratchDir root;
  testing::FakeXend xend(root.path(), [](const std::string&, const rpc::Json&) {
    return rpc::Result<rpc::Json>(
        rpc::fail("Policy update would leave running domains unlabeled",
                  rpc::Json{{"details", {"domain1: label A-Bank is gone"}}}));
  });
  const DeployOutcome outcome =
      deploy_policy({root.path(), "<xml/>", "f.xml", std::chrono::seconds(10)});
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.message,
            "An error occurred trying to set the policy: Policy update would leave running "
            "domains unlabeled.\n  domain1: label A-Bank is gone");
}

TEST(Deploy, SaysWhenXendIsNotRunning) {
  testing::ScratchDir root;
  const DeployOutcome outcome =
      deploy_policy({root.path(), "<xml/>", "f.xml", std::chrono::seconds(2)});
  EXPECT_FALSE(outcome.ok);
  EXPECT_NE(outcome.message.find("xend is not running"), std::string::npos) << outcome.message;
}

}  // namespace
}  // namespace shype::ezpolicy::gui
