#include "acm/decision_engine.hpp"

#include <gtest/gtest.h>

#include "acm/compiler.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

int count_lines(const std::string& text) {
  return text.empty() ? 0 : 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

class MytestEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = compile_policy(testing::mytest_model(), {});
    ASSERT_TRUE(c) << c.error().to_string();
    numbering_ = c->numbering;
    auto e = PolicyEngine::build(c->image);
    ASSERT_TRUE(e) << e.error().to_string();
    engine_.emplace(std::move(*e));
  }
  Ssidref vm(const char* name) const { return *numbering_.vm_label_ssidref(name); }
  Ssidref res(const char* name) const { return *numbering_.resource_label_ssidref(name); }
  const PolicyEngine& engine() const { return *engine_; }

  LabelNumbering numbering_;
  std::optional<PolicyEngine> engine_;
};

TEST_F(MytestEngine, SharingFollowsCommonSteTypes) {
  EXPECT_TRUE(engine().share(vm("A-Bank"), vm("SystemManagement")));
  EXPECT_TRUE(engine().share(vm("A-Bank"), vm("A-Bank")));
  EXPECT_FALSE(engine().share(vm("A-Bank"), vm("B-Bank")));
  EXPECT_FALSE(engine().share(vm("A-Bank"), vm("A-Bank.SecurityUnderwriting")));
  EXPECT_TRUE(engine().share(kUnlabeledSsidref, vm("SystemManagement")));
  EXPECT_FALSE(engine().share(vm("A-Bank"), 0x00400040));  // no such label

  EXPECT_EQ(engine().explain_share(vm("A-Bank"), vm("SystemManagement")).rule,
            "permit: 'A-Bank' and 'SystemManagement' share STE type 'A-Bank'");
  EXPECT_EQ(engine().explain_share(vm("A-Bank"), vm("B-Bank")).rule,
            "deny: 'A-Bank' and 'B-Bank' have no common STE type");
  const Decision unknown = engine().explain_share(vm("A-Bank"), 0x00400040);
  EXPECT_FALSE(unknown.permitted);
  EXPECT_EQ(unknown.rule, "deny: ssidref 0x00400040 names no STE label of policy 'mytest'");
}

// Manual 10.2.6, Test 2: domain1 (A-Bank) may use A-Bank resources, not a
// swap file relabelled B-Bank.
TEST_F(MytestEngine, ResourceAccess) {
  EXPECT_TRUE(engine().resource_access(vm("A-Bank"), res("A-Bank")));
  EXPECT_FALSE(engine().resource_access(vm("A-Bank"), res("B-Bank")));
  EXPECT_TRUE(engine().resource_access(vm("SystemManagement"), res("B-Bank")));
  EXPECT_TRUE(engine().resource_access(kUnlabeledSsidref, res("__UNLABELED__")));
  EXPECT_FALSE(engine().resource_access(vm("A-Bank"), kUnlabeledSsidref));
  EXPECT_EQ(engine().explain_resource_access(vm("A-Bank"), res("B-Bank")).rule,
            "deny: 'A-Bank' and resource 'B-Bank' have no common STE type");
  EXPECT_EQ(engine().explain_resource_access(vm("A-Bank"), res("A-Bank")).rule,
            "permit: 'A-Bank' and resource 'A-Bank' share STE type 'A-Bank'");
}

TEST_F(MytestEngine, AuthorizationIsDominanceAndSharing) {
  for (const auto& name : numbering_.vm_labels) {
    EXPECT_TRUE(engine().authorize(vm("SystemManagement"), vm(name.c_str()))) << name;
  }
  EXPECT_TRUE(engine().authorize(vm("A-Bank"), vm("A-Bank")));
  EXPECT_FALSE(engine().authorize(vm("A-Bank"), vm("AutoCorp")));
  EXPECT_FALSE(engine().authorize(vm("A-Bank"), kUnlabeledSsidref));
  EXPECT_FALSE(engine().authorize(vm("A-Bank"), vm("SystemManagement")));
  EXPECT_EQ(
      engine().explain_authorize(vm("A-Bank"), vm("AutoCorp")).rule,
      "deny: 'A-Bank' does not authorize 'AutoCorp': STE type 'AutoCorp' of 'AutoCorp' is not "
      "in 'A-Bank'");
  EXPECT_TRUE(engine().explain_authorize(vm("SystemManagement"), vm("B-Bank")).permitted);
}

TEST_F(MytestEngine, AdmissionThroughChineseWallState) {
  ChineseWallState state = engine().new_chinese_wall_state();
  ASSERT_TRUE(state.try_start(primary_half(vm("A-Bank"))));
  EXPECT_FALSE(engine().admissible(state, vm("B-Bank")));
  EXPECT_TRUE(engine().admissible(state, vm("AutoCorp")));
  EXPECT_EQ(
      engine().explain_admission(state, vm("B-Bank")).rule,
      "deny: Chinese Wall type 'B-Bank' conflicts with running type 'A-Bank' (conflict set 'RER')");
  EXPECT_EQ(engine().explain_admission(state, vm("AutoCorp")).rule,
            "permit: no Chinese Wall type of label 'AutoCorp' conflicts with a running type");
  EXPECT_FALSE(engine().explain_admission(state, 0x00090009).permitted);
}

// States made by the engine keep working after the engine is moved.
TEST_F(MytestEngine, StatesSurviveEngineMoves) {
  ChineseWallState state = engine().new_chinese_wall_state();
  ASSERT_TRUE(state.try_start(primary_half(vm("A-Bank"))));
  PolicyEngine moved = std::move(*engine_);
  engine_.reset();
  EXPECT_FALSE(moved.admissible(state, vm("B-Bank")));
  EXPECT_EQ(&state.index(), &moved.chinese_wall());
}

TEST_F(MytestEngine, WithoutNamesRulesShowIndexes) {
  PolicyImage image = engine().image();
  image.names.reset();
  auto e = PolicyEngine::build(image);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->explain_share(vm("A-Bank"), vm("B-Bank")).rule,
            "deny: STE row 2 and STE row 6 have no common STE type");
  ChineseWallState state = e->new_chinese_wall_state();
  ASSERT_TRUE(state.try_start(2));
  EXPECT_EQ(e->explain_admission(state, vm("B-Bank")).rule,
            "deny: Chinese Wall type 4 conflicts with running type 0 (conflict set 0)");
}

TEST_F(MytestEngine, RebuildFromRunningDomains) {
  const std::vector<RunningDomain> ok{
      {0, vm("SystemManagement")}, {2, vm("A-Bank")}, {3, vm("AutoCorp")}};
  auto state = engine().rebuild_chinese_wall(ok);
  ASSERT_TRUE(state);
  EXPECT_FALSE(engine().admissible(*state, vm("B-Bank")));
  const std::vector<RunningDomain> bad{
      {0, vm("SystemManagement")}, {2, vm("A-Bank")}, {3, vm("B-Bank")}};
  EXPECT_FALSE(engine().rebuild_chinese_wall(bad));
}

// Manual 10.2.7: relabel Domain-0 to A-Bank while domain1 (A-Bank) runs;
// then AutoCorp and unlabeled domains are not authorized; relabel back.
TEST_F(MytestEngine, Manual1027Domain0Relabel) {
  std::vector<RunningDomain> running{{0, vm("SystemManagement")}, {7, vm("A-Bank")}};
  const std::vector<DomainSharing> sharings{{7, 0, SharingKind::event_channel},
                                            {7, 0, SharingKind::grant}};
  const Decision to_abank = engine().check_domain0_relabel(vm("A-Bank"), running, sharings);
  EXPECT_TRUE(to_abank.permitted) << to_abank.rule;
  running[0].ssidref = vm("A-Bank");

  EXPECT_FALSE(engine().authorize(running[0].ssidref, vm("AutoCorp")));     // domain3
  EXPECT_FALSE(engine().authorize(running[0].ssidref, kUnlabeledSsidref));  // domain4

  const Decision back = engine().check_domain0_relabel(vm("SystemManagement"), running, sharings);
  EXPECT_TRUE(back.permitted) << back.rule;
  running[0].ssidref = vm("SystemManagement");
  EXPECT_TRUE(engine().authorize(running[0].ssidref, vm("AutoCorp")));
}

// "This command fails if any running domain has an STE type in its label
// that is not included in the [new] label"; every reason is listed.
TEST_F(MytestEngine, Domain0RelabelListsEveryViolation) {
  const std::vector<RunningDomain> running{{0, vm("SystemManagement")}, {7, vm("A-Bank")}};
  const std::vector<DomainSharing> sharings{{7, 0, SharingKind::event_channel},
                                            {0, 7, SharingKind::grant}};
  const Decision d = engine().check_domain0_relabel(vm("AutoCorp"), running, sharings);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(count_lines(d.rule), 3) << d.rule;
  EXPECT_NE(d.rule.find("ACM_EVTCHN_SHARING_VIOLATION (0x100) 0x00070000"), std::string::npos)
      << d.rule;
  EXPECT_NE(d.rule.find("ACM_GNTTAB_SHARING_VIOLATION (0x101) 0x00000007"), std::string::npos)
      << d.rule;
  EXPECT_NE(
      d.rule.find("Domain-0's new label 'AutoCorp' does not authorize running domain 7 ('A-Bank')"),
      std::string::npos)
      << d.rule;
}

TEST_F(MytestEngine, Domain0RelabelKeepsChineseWallConsistent) {
  const std::vector<RunningDomain> running{{0, vm("SystemManagement")}, {7, vm("B-Bank")}};
  const Decision d = engine().check_domain0_relabel(vm("A-Bank"), running, {});
  EXPECT_FALSE(d.permitted);
  EXPECT_NE(d.rule.find("ACM_CHWALL_CONFLICT (0x103)"), std::string::npos) << d.rule;
}

TEST_F(MytestEngine, RelabelRejectsNonVmSsidrefsAndUnknownDomains) {
  const std::vector<RunningDomain> running{{0, vm("SystemManagement")}};
  EXPECT_FALSE(
      engine().check_domain0_relabel(res("A-Bank"), running, {}).permitted);  // a resource label
  EXPECT_FALSE(engine().check_domain0_relabel(0x00200020, running, {}).permitted);
  const Decision d = engine().check_relabel(5, vm("A-Bank"), running, {});
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.rule, "deny: domain 5 is not running");
}

// Generalised to any running domain (reference 11.5, tools 1.3): CHWALL,
// live sharing, the domain's resources and Domain-0's authorization.
TEST_F(MytestEngine, RelabelOfAUserDomain) {
  const std::vector<RunningDomain> running{
      {0, vm("SystemManagement")}, {2, vm("A-Bank")}, {3, vm("AutoCorp")}};
  const std::vector<DomainSharing> sharings{{2, 0, SharingKind::event_channel}};
  const std::vector<ResourceUse> resources{{2, res("A-Bank")}, {3, res("AutoCorp")}};
  EXPECT_TRUE(engine().check_relabel(2, vm("A-Bank"), running, sharings, resources).permitted);

  const Decision su =
      engine().check_relabel(2, vm("A-Bank.SecurityUnderwriting"), running, sharings, resources);
  EXPECT_FALSE(su.permitted);
  EXPECT_EQ(count_lines(su.rule), 1) << su.rule;
  EXPECT_NE(
      su.rule.find("XSERR_RESOURCE_ACCESS (0x1017): 'A-Bank.SecurityUnderwriting' cannot access "
                   "resource 'A-Bank'"),
      std::string::npos)
      << su.rule;

  std::vector<RunningDomain> restricted = running;
  restricted[0].ssidref = vm("A-Bank");  // Domain-0 only authorizes A-Bank
  restricted.pop_back();
  const Decision auto_corp = engine().check_relabel(2, vm("AutoCorp"), restricted, {}, {});
  EXPECT_FALSE(auto_corp.permitted);
  EXPECT_NE(auto_corp.rule.find("Domain-0's label does not authorize 'AutoCorp'"),
            std::string::npos)
      << auto_corp.rule;
}

TEST(PolicyEngine, RejectsInconsistentImages) {
  auto c = compile_policy(testing::mytest_model(), {});
  ASSERT_TRUE(c);
  PolicyImage names_off = c->image;
  names_off.names->vm_labels.pop_back();
  EXPECT_FALSE(PolicyEngine::build(names_off));
  PolicyImage rows_off = c->image;
  rows_off.vm_label_count = 100;
  EXPECT_FALSE(PolicyEngine::build(rows_off));
  PolicyImage chwall_off = c->image;
  chwall_off.vm_label_count = 8;
  chwall_off.names.reset();
  EXPECT_FALSE(PolicyEngine::build(chwall_off));
}

TEST(PolicyEngine, DefaultPolicyLetsUnlabeledDomainsShareWithDomain0) {
  auto c = compile_policy(testing::default_model(), {});
  ASSERT_TRUE(c);
  auto e = PolicyEngine::build(c->image);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->share(kUnlabeledSsidref, kBootstrapSsidref));
  EXPECT_TRUE(e->share(kUnlabeledSsidref, kUnlabeledSsidref));
  EXPECT_TRUE(e->authorize(kBootstrapSsidref, kUnlabeledSsidref));
  ChineseWallState state = e->new_chinese_wall_state();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(state.try_start(0));
  EXPECT_TRUE(e->admissible(state, kBootstrapSsidref));
}

}  // namespace
}  // namespace shype::acm
