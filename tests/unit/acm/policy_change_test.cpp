#include "acm/policy_change.hpp"

#include <gtest/gtest.h>

#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using testing::items;

using testing::mytest_update_model;

Label* find_vm(PolicyModel& m, const std::string& name) {
  for (auto& l : m.vm_labels) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const char* const kImg = "file:/home/xen/dom_fc5/fedora.fc5.img";
const char* const kSwap = "file:/home/xen/dom_fc5/fedora.fc5.swap";

// The system of manual 10.3.5 before `xm setpolicy ACM mytest_update`.
class PolicyChange : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = number_policy(active_model_);
    ASSERT_TRUE(n);
    active_numbering_ = std::move(*n);
    running_ = {{0, "Domain-0", "SystemManagement"},
                {2, "domain1", "A-Bank"},
                {3, "domain4", "A-Bank.SecurityUnderwriting"}};
    in_use_ = {{kImg, "A-Bank", 2}, {kSwap, "A-Bank", 2}};
    resource_db_ = {{kSwap, "A-Bank"}, {kImg, "A-Bank"}};
    sharings_ = {{2, 0, SharingKind::event_channel},
                 {3, 0, SharingKind::event_channel},
                 {0, 2, SharingKind::grant}};
  }

  ActivePolicy active() const { return ActivePolicy{active_model_, active_numbering_}; }
  SystemSnapshot system() const {
    return SystemSnapshot{running_, in_use_, resource_db_, sharings_};
  }

  Result<PolicyChangePlan> plan(const PolicyModel& update,
                                ChangeMode mode = ChangeMode::update) const {
    return plan_policy_change(active(), update, system(), mode);
  }

  static std::vector<std::string> lines(const Error& e) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= e.message.size()) {
      const std::size_t end = e.message.find('\n', start);
      out.push_back(e.message.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return out;
  }

  static bool has_line(const std::vector<std::string>& all, const std::string& text) {
    return std::any_of(all.begin(), all.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

  PolicyModel active_model_ = testing::mytest_model();
  LabelNumbering active_numbering_;
  std::vector<RunningDomainLabel> running_;
  std::vector<ResourceInUse> in_use_;
  std::vector<ResourceLabelEntry> resource_db_;
  std::vector<DomainSharing> sharings_;
};

// Manual 10.3.5: the update succeeds; domain4 becomes A-Bank.SU, the
// resource labels stay valid.
TEST_F(PolicyChange, ManualUpdateExampleSucceeds) {
  auto p = plan(mytest_update_model());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->compiled.image.name, "mytest");
  EXPECT_EQ(p->compiled.image.xml_version, (PolicyVersion{1, 1}));

  // Old: __UNLABELED__ 0, SystemManagement 1, A-Bank 2, A-Bank.MarketAnalysis 3,
  // A-Bank.SecurityUnderwriting 4, AutoCorp 5, B-Bank 6. New: 0, SystemManagement 1,
  // A-Bank 2, A-Bank-WL 3, A-Bank.MA 4, A-Bank.SU 5, AutoCorp 6, B-Bank 7.
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> change{{3, 4}, {4, 5}, {5, 6}, {6, 7}};
  EXPECT_EQ(p->change_array, change);
  EXPECT_TRUE(p->delete_array.empty());

  ASSERT_EQ(p->domains.size(), 3u);
  EXPECT_EQ(p->domains[0].new_label, "SystemManagement");
  EXPECT_EQ(p->domains[0].new_ssidref, kBootstrapSsidref);
  EXPECT_EQ(p->domains[1].old_label, "A-Bank");
  EXPECT_EQ(p->domains[1].new_label, "A-Bank");
  EXPECT_EQ(p->domains[1].old_ssidref, 0x00020002u);
  EXPECT_EQ(p->domains[1].new_ssidref, 0x00020002u);
  EXPECT_EQ(p->domains[2].name, "domain4");
  EXPECT_EQ(p->domains[2].old_label, "A-Bank.SecurityUnderwriting");
  EXPECT_EQ(p->domains[2].new_label, "A-Bank.SU");
  EXPECT_EQ(p->domains[2].old_ssidref, 0x00040004u);
  EXPECT_EQ(p->domains[2].new_ssidref, 0x00050005u);

  ASSERT_EQ(p->resources.size(), 2u);
  for (const auto& r : p->resources) {
    EXPECT_FALSE(r.invalidated) << r.resource;
    EXPECT_EQ(r.new_label, "A-Bank");
  }

  const std::vector<LabelMapping> vm_map{{"SystemManagement", "SystemManagement"},
                                         {"__UNLABELED__", std::nullopt},
                                         {"A-Bank", "A-Bank"},
                                         {"A-Bank.SecurityUnderwriting", "A-Bank.SU"},
                                         {"A-Bank.MarketAnalysis", "A-Bank.MA"},
                                         {"B-Bank", "B-Bank"},
                                         {"AutoCorp", "AutoCorp"}};
  EXPECT_EQ(p->vm_labels, vm_map);
  EXPECT_EQ(p->resource_labels[1], (LabelMapping{"__UNLABELED__", std::nullopt}));
  EXPECT_EQ(p->resource_labels[3], (LabelMapping{"A-Bank.SecurityUnderwriting", "A-Bank.SU"}));

  // The hints agree with the per-domain ssidrefs, as the hypervisor relabels by them.
  for (const auto& d : p->domains) {
    std::uint32_t index = primary_half(d.old_ssidref);
    for (const auto& [from, to] : p->change_array) {
      if (from == primary_half(d.old_ssidref)) index = to;
    }
    EXPECT_EQ(vm_ssidref(index), d.new_ssidref) << d.name;
  }
}

TEST_F(PolicyChange, VersionMustFollowTheActivePolicy) {
  PolicyModel update = mytest_update_model();
  update.header.from_policy->version = {0, 9};
  auto p = plan(update);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::update_rejected);
  const auto all = lines(p.error());
  ASSERT_EQ(all.size(), 1u) << p.error().message;
  EXPECT_EQ(
      all[0].rfind(
          "XSERR_VERSION_PREVENTS_UPDATE (0x1013): The version of the policy prevents an update: ",
          0),
      0u)
      << all[0];

  // The active policy moved on to 1.1: the update from 1.0 to 1.1 no longer applies.
  active_model_.header.version = {1, 1};
  auto stale = plan(mytest_update_model());
  ASSERT_FALSE(stale);
  const auto stale_lines = lines(stale.error());
  EXPECT_EQ(stale_lines.size(), 2u) << stale.error().message;  // FromPolicy mismatch, not greater
  EXPECT_TRUE(has_line(stale_lines, "is not greater than the active version 1.1"));

  PolicyModel no_from = mytest_update_model();
  no_from.header.from_policy.reset();
  EXPECT_FALSE(plan(no_from));
}

// Versions compare as numbers: "1.00" is version 1.0 (Xen compared strings).
TEST_F(PolicyChange, VersionsCompareNumerically) {
  PolicyModel update = mytest_update_model();
  update.header.from_policy->version = *PolicyVersion::parse("1.00");
  EXPECT_TRUE(plan(update));
}

TEST_F(PolicyChange, FromMustNameAnOldLabel) {
  PolicyModel update = mytest_update_model();
  find_vm(update, "A-Bank.MA")->from = "A-Bank.MarketAnalysys";
  auto p = plan(update);
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()),
                       "XSERR_BAD_LABEL (0x1014): VM label 'A-Bank.MA' is renamed from "
                       "'A-Bank.MarketAnalysys', which is not a VM label"))
      << p.error().message;
}

TEST_F(PolicyChange, AmbiguousRenameIsRejected) {
  PolicyModel update = mytest_update_model();
  find_vm(update, "A-Bank-WL")->from = "A-Bank";  // A-Bank also stays
  auto p = plan(update);
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()), "XSERR_BAD_LABEL")) << p.error().message;
}

TEST_F(PolicyChange, DeletingALabelInUseIsRejected) {
  PolicyModel update = mytest_update_model();
  std::erase_if(update.vm_labels, [](const Label& l) { return l.name == "A-Bank.SU"; });
  auto p = plan(update);
  ASSERT_FALSE(p);
  const auto all = lines(p.error());
  ASSERT_EQ(all.size(), 1u) << p.error().message;
  EXPECT_EQ(
      all[0],
      "ACM_SSIDREF_IN_USE (0x104): running domain 'domain4' (domid 3) has label "
      "'A-Bank.SecurityUnderwriting' (ssidref 0x00040004), which policy 'mytest' 1.1 deletes");

  // Deleted labels no domain uses are fine and go to the delete array.
  running_.pop_back();
  sharings_.erase(sharings_.begin() + 1);  // domain4's channel to Domain-0
  auto ok = plan(update);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->delete_array, std::vector<std::uint32_t>{4});
}

// The update drops __UNLABELED__: a running unlabeled domain could no longer run.
TEST_F(PolicyChange, UnlabeledDomainNeedsUnlabeledSupport) {
  running_.push_back({9, "domain9", ""});
  auto p = plan(mytest_update_model());
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()),
                       "ACM_SSIDREF_IN_USE (0x104): running domain 'domain9' (domid 9) "
                       "is unlabeled"))
      << p.error().message;
}

TEST_F(PolicyChange, ChineseWallConflictUnderTheNewPolicy) {
  running_.push_back({5, "domain3", "AutoCorp"});
  PolicyModel update = mytest_update_model();
  update.chwall->conflict_sets.push_back({"Cars", items({"A-Bank", "AutoCorp"}), {}});
  auto p = plan(update);
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(
      lines(p.error()),
      "ACM_CHWALL_CONFLICT (0x103): running domain 'domain3' (domid 5, label 'AutoCorp'): "
      "Chinese Wall type 'AutoCorp' conflicts with running type 'A-Bank' (conflict set 'Cars')"))
      << p.error().message;
}

// Every reason is listed, one per line: a Domain-0 label that loses A-Bank
// breaks both live channels with domain1 and no longer authorizes it.
TEST_F(PolicyChange, EveryReasonIsListed) {
  PolicyModel update = mytest_update_model();
  auto& sys = find_vm(update, "SystemManagement")->ste_types;
  std::erase_if(sys, [](const NamedItem& t) { return t.name == "A-Bank"; });
  update.resource_labels[1].ste_types = items({"B-Bank"});  // resource label A-Bank -> type B-Bank
  auto p = plan(update);
  ASSERT_FALSE(p);
  const auto all = lines(p.error());
  EXPECT_EQ(all.size(), 5u) << p.error().message;
  EXPECT_TRUE(has_line(all, "ACM_EVTCHN_SHARING_VIOLATION (0x100)"));
  EXPECT_TRUE(has_line(all, "ACM_GNTTAB_SHARING_VIOLATION (0x101)"));
  EXPECT_TRUE(has_line(all,
                       "XSERR_RESOURCE_ACCESS (0x1017): running domain 'domain1' (domid 2, label "
                       "'A-Bank') could no longer access resource '" +
                           std::string(kImg) + "'"));
  EXPECT_TRUE(has_line(all,
                       "XSERR_RESOURCE_ACCESS (0x1017): running domain 'domain1' (domid 2, label "
                       "'A-Bank') could no longer access resource '" +
                           std::string(kSwap) + "'"));
  EXPECT_TRUE(has_line(all,
                       "XSERR_VM_NOT_AUTHORIZED (0x101a): VM is not authorized to run: running "
                       "domain 'domain1'"));

  const PolicyChangeOutcome outcome = evaluate_policy_change(active(), update, system());
  EXPECT_FALSE(outcome.plan);
  ASSERT_EQ(outcome.reasons.size(), 5u);
  const auto evtchn = std::find_if(
      outcome.reasons.begin(), outcome.reasons.end(),
      [](const ChangeReason& r) { return r.code == ChangeReasonCode::evtchn_sharing_violation; });
  ASSERT_NE(evtchn, outcome.reasons.end());
  EXPECT_EQ(evtchn->parameter, 0x00020000u);  // domid << 16 | remote, as Xen's error tuples
}

TEST_F(PolicyChange, ResourceWhoseLabelIsDeletedBecomesInvalidAndBlocksIfInUse) {
  PolicyModel update = mytest_update_model();
  std::erase_if(update.resource_labels, [](const Label& l) { return l.name == "A-Bank"; });
  auto p = plan(update);
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()), "its label 'A-Bank' is deleted")) << p.error().message;

  in_use_.clear();
  auto ok = plan(update);
  ASSERT_TRUE(ok) << ok.error().to_string();
  ASSERT_EQ(ok->resources.size(), 2u);
  EXPECT_TRUE(ok->resources[0].invalidated);
  EXPECT_EQ(ok->resources[0].reason, "policy 'mytest' 1.1 has no resource label 'A-Bank'");
}

TEST_F(PolicyChange, SharingWithADomainThatIsNotRunning) {
  sharings_.push_back({2, 42, SharingKind::event_channel});
  auto p = plan(mytest_update_model());
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()), "ACM_DOMAIN_LOOKUP (0x102): domain 42"))
      << p.error().message;
}

TEST_F(PolicyChange, RunningLabelMustBelongToTheActivePolicy) {
  running_.push_back({8, "stray", "NoSuchLabel"});
  auto p = plan(mytest_update_model());
  ASSERT_FALSE(p);
  EXPECT_TRUE(has_line(lines(p.error()), "XSERR_BAD_LABEL (0x1014): running domain 'stray'"))
      << p.error().message;
}

TEST_F(PolicyChange, InconsistentUpdateIsReported) {
  PolicyModel update = mytest_update_model();
  find_vm(update, "B-Bank")->ste_types = items({"C-Bank"});
  auto p = plan(update);
  ASSERT_FALSE(p);
  const auto all = lines(p.error());
  EXPECT_TRUE(has_line(all, "XSERR_POLICY_INCONSISTENT (0x1004)")) << p.error().message;
  for (const auto& line : all) {  // the compiler's findings stay on one line
    EXPECT_TRUE(line.rfind("XSERR_", 0) == 0 || line.rfind("ACM_", 0) == 0) << line;
  }
}

TEST_F(PolicyChange, DuplicateDomidsAreInvalidInput) {
  running_.push_back({2, "twin", "A-Bank"});
  auto p = plan(mytest_update_model());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
}

// Tools 5.4: DEFAULT -> any policy needs no FromPolicy.
TEST_F(PolicyChange, FromDefaultSkipsTheVersionRule) {
  active_model_ = testing::default_model();
  active_numbering_ = *number_policy(active_model_);
  running_ = {{0, "Domain-0", "SystemManagement"}, {1, "guest", "__UNLABELED__"}};
  in_use_.clear();
  resource_db_.clear();
  sharings_ = {{1, 0, SharingKind::event_channel}};
  auto p = plan(testing::mytest_model());
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(p->change_array.empty());
  EXPECT_TRUE(p->delete_array.empty());
  EXPECT_EQ(p->domains[1].new_label, "__UNLABELED__");
  EXPECT_EQ(p->domains[1].new_ssidref, kUnlabeledSsidref);
}

// Manual 10.3.5 "Removing the sHype/Xen Security Policy": with only
// Domain-0 running the reset succeeds and every resource label is invalidated.
TEST_F(PolicyChange, ResetToDefault) {
  running_.resize(1);
  in_use_.clear();
  sharings_.clear();
  auto p = plan(testing::default_model(), ChangeMode::reset_to_default);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->compiled.image.name, "DEFAULT");
  EXPECT_EQ(p->domains[0].new_label, "SystemManagement");
  for (const auto& r : p->resources)
    EXPECT_TRUE(r.invalidated) << r.resource;
  EXPECT_EQ(p->delete_array, (std::vector<std::uint32_t>{2, 3, 4, 5, 6}));
  EXPECT_TRUE(p->change_array.empty());
}

// Domain-0 relabelled to A-Bank (manual 10.2.7) is renamed into
// SystemManagement by the reset: (2 -> 1) in the change array.
TEST_F(PolicyChange, ResetRenamesDomain0Only) {
  running_ = {{0, "Domain-0", "A-Bank"}};
  in_use_.clear();
  sharings_.clear();
  auto p = plan(testing::default_model(), ChangeMode::reset_to_default);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->domains[0].new_label, "SystemManagement");
  EXPECT_EQ(p->domains[0].new_ssidref, kBootstrapSsidref);
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> change{{2, 1}};
  EXPECT_EQ(p->change_array, change);
  EXPECT_EQ(p->delete_array, (std::vector<std::uint32_t>{3, 4, 5, 6}));

  // Another running domain with Domain-0's label is not renamed: it blocks.
  running_.push_back({2, "domain1", "A-Bank"});
  auto blocked = plan(testing::default_model(), ChangeMode::reset_to_default);
  ASSERT_FALSE(blocked);
  EXPECT_TRUE(
      has_line(lines(blocked.error()), "ACM_SSIDREF_IN_USE (0x104): running domain 'domain1'"))
      << blocked.error().message;
}

// "When resetting the policy, no labeled domains can be running."
TEST_F(PolicyChange, ResetWithLabeledDomainsRunningFails) {
  auto p = plan(testing::default_model(), ChangeMode::reset_to_default);
  ASSERT_FALSE(p);
  const auto all = lines(p.error());
  EXPECT_TRUE(has_line(all, "running domain 'domain1' (domid 2) has label 'A-Bank'"));
  EXPECT_TRUE(
      has_line(all, "running domain 'domain4' (domid 3) has label 'A-Bank.SecurityUnderwriting'"));

  // Unlabeled domains survive: DEFAULT supports __UNLABELED__.
  running_ = {{0, "Domain-0", "SystemManagement"}, {4, "plain", ""}};
  in_use_.clear();
  sharings_ = {{4, 0, SharingKind::event_channel}};
  auto ok = plan(testing::default_model(), ChangeMode::reset_to_default);
  ASSERT_TRUE(ok) << ok.error().to_string();
}

// Beyond Xen: a running domain that Domain-0's new label no longer
// authorizes rejects the update.
TEST_F(PolicyChange, Domain0MustStillAuthorizeRunningDomains) {
  running_.push_back({5, "domain3", "AutoCorp"});
  PolicyModel update = mytest_update_model();
  auto& sys = find_vm(update, "SystemManagement")->ste_types;
  std::erase_if(sys, [](const NamedItem& t) { return t.name == "AutoCorp"; });
  auto p = plan(update);
  ASSERT_FALSE(p);
  const auto all = lines(p.error());
  ASSERT_EQ(all.size(), 1u) << p.error().message;
  EXPECT_EQ(
      all[0],
      "XSERR_VM_NOT_AUTHORIZED (0x101a): VM is not authorized to run: running domain 'domain3' "
      "(domid 5, label 'AutoCorp'): 'SystemManagement' does not authorize 'AutoCorp': STE type "
      "'AutoCorp' of 'AutoCorp' is not in 'SystemManagement'");
}

}  // namespace
}  // namespace shype::acm
