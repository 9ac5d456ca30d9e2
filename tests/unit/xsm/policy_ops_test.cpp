// setpolicy, chgpolicy and relabeldoms through the ACM module (reference
// xen-acm-hypervisor.md 11; manual 10.2.7, 10.3.5): every change is
// re-checked against the live system and is all or nothing.
#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

#include "acm/fingerprint.hpp"
#include "acm/policy_change.hpp"
#include "policy_fixtures.hpp"
#include "xsm_test_support.hpp"

namespace shype::xsm {
namespace {

using testing::default_policy;
using testing::FakeHypervisor;
using testing::mytest;
using testing::mytest_update;
using testing::records_since;
using Relabeled = std::vector<std::pair<abi::domid_t, acm::Ssidref>>;

bool has_tuple(const PolicyChange& c, std::int32_t code, std::uint32_t data) {
  return std::any_of(c.errors.begin(), c.errors.end(), [&](const abi::AcmErrorTuple& t) {
    return t.code == code && t.data == static_cast<std::int32_t>(data);
  });
}

std::size_t line_count(const std::string& text) {
  return text.empty() ? 0
                      : 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Everything observable about the active policy and the running system.
struct Snapshot {
  PolicyInfo info;
  std::vector<std::uint8_t> bytes;
  ChineseWallCounts counts;
  std::uint64_t seqno = 0;
  std::string d0_label;

  static Snapshot of(const Xsm& xsm) {
    Snapshot s;
    s.info = xsm.policy_info();
    EXPECT_EQ(xsm.get_policy(s.bytes), 0);
    s.counts = xsm.chinese_wall_counts();
    s.seqno = xsm.policy_seqno();
    s.d0_label = xsm.label_of(xsm.domain0_ssidref());
    return s;
  }
  void expect_same_as(const Snapshot& o) const {
    EXPECT_EQ(info.name, o.info.name);
    EXPECT_EQ(info.version, o.info.version);
    EXPECT_EQ(info.fingerprint, o.info.fingerprint);
    EXPECT_EQ(bytes, o.bytes);
    EXPECT_EQ(counts, o.counts);
    EXPECT_EQ(seqno, o.seqno);
    EXPECT_EQ(d0_label, o.d0_label);
  }
};

class PolicyOps : public ::testing::Test {
 protected:
  void boot(const testing::CompiledPolicy& policy, bool cache = false) {
    xsm_.reset();
    audit_ = std::make_unique<AuditLog>();
    XsmConfig config;
    config.decision_cache = cache;
    xsm_ = testing::boot(*audit_, policy.binary, config);
    hv_ = FakeHypervisor(policy);
    ASSERT_EQ(hv_.create(*xsm_, 0, "SystemManagement"), 0);
  }
  std::uint64_t next_seq() const { return audit_->records_written() + 1; }

  // The arrays xend computes for mytest -> mytest_update (tools 5.7).
  static acm::PolicyChangePlan plan_update(const std::vector<acm::RunningDomainLabel>& running) {
    const acm::ActivePolicy active{mytest().model, mytest().numbering};
    const acm::SystemSnapshot system{running, {}, {}, {}};
    auto plan = acm::plan_policy_change(active, mytest_update().model, system);
    EXPECT_TRUE(plan) << plan.error().to_string();
    return std::move(*plan);
  }

  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Xsm> xsm_;
  FakeHypervisor hv_{mytest()};
};

// --- setpolicy and the require_update rule --------------------------------------

TEST_F(PolicyOps, SetPolicyReplacesTheDefaultWhileDomainsRun) {
  boot(default_policy());
  ASSERT_EQ(hv_.create(*xsm_, 1, "__UNLABELED__", "unlabeled1"), 0);
  hv_.bind(0, 1);
  const std::uint64_t seq = next_seq();

  const PolicyChange c = xsm_->set_policy(mytest().binary, hv_.live());
  ASSERT_EQ(c.status, 0) << c.message;
  EXPECT_TRUE(c.errors.empty());
  EXPECT_TRUE(c.message.empty());
  EXPECT_TRUE(c.relabeled.empty());  // both labels keep their ssidrefs
  EXPECT_EQ(xsm_->policy_info().name, "mytest");
  EXPECT_EQ(xsm_->policy_info().fingerprint, acm::sha256(mytest().binary));
  EXPECT_EQ(xsm_->policy_seqno(), 2u);
  std::vector<std::uint8_t> bytes;
  ASSERT_EQ(xsm_->get_policy(bytes), 0);
  EXPECT_EQ(bytes, mytest().binary);

  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].hook, "policy_op");
  EXPECT_EQ(records[0].decision, "permit");
  EXPECT_EQ(records[0].policy_name, "mytest");
  EXPECT_EQ(records[0].reason,
            "setpolicy activated policy 'mytest' 1.0, replacing 'DEFAULT' 1.0; 0 domain(s) "
            "relabeled");

  // The Chinese Wall state was rebuilt from the running domains: the
  // unlabeled domain now keeps A-Bank out (conflict set RER).
  hv_.use_labels(mytest());
  EXPECT_EQ(hv_.create(*xsm_, 2, "A-Bank"), -EACCES);
  const auto denial = records_since(*audit_, seq + 1);
  ASSERT_EQ(denial.size(), 1u);
  EXPECT_EQ(denial[0].reason,
            "Chinese Wall type 'A-Bank' conflicts with running type '__UNLABELED__' (conflict set "
            "'RER')");
  hv_.destroy(*xsm_, 1);
  EXPECT_EQ(hv_.create(*xsm_, 2, "A-Bank"), 0);
}

TEST_F(PolicyOps, SetPolicyNeedsTheDefaultOrOnlyDomain0) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "AutoCorp"), 0);
  const Snapshot before = Snapshot::of(*xsm_);
  const std::uint64_t seq = next_seq();
  PolicyChange c = xsm_->set_policy(mytest_update().binary, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_EQ(c.message,
            "the active policy 'mytest' 1.0 is not the DEFAULT policy and domains other than "
            "Domain-0 run: update it with chgpolicy (a change map and a delete list)");
  Snapshot::of(*xsm_).expect_same_as(before);
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].decision, "deny");
  EXPECT_EQ(records[0].status, -EFAULT);
  EXPECT_EQ(records[0].reason, "setpolicy refused policy 'mytest' 1.1: " + c.message);

  // Nothing is remembered (Xen's flag was, quirk 4): with Domain-0 alone
  // the same call succeeds.
  hv_.destroy(*xsm_, 1);
  c = xsm_->set_policy(mytest_update().binary, hv_.live());
  EXPECT_EQ(c.status, 0) << c.message;
  EXPECT_EQ(xsm_->policy_info().version.to_string(), "1.1");
}

TEST_F(PolicyOps, AFailedSetPolicyLeavesTheDefaultReplaceable) {
  boot(default_policy());
  ASSERT_EQ(hv_.create(*xsm_, 1, "__UNLABELED__"), 0);
  const std::vector<std::uint8_t> garbage(100, 0x5a);
  EXPECT_EQ(xsm_->set_policy(garbage, hv_.live()).status, -EFAULT);
  EXPECT_EQ(xsm_->set_policy(mytest().binary, hv_.live()).status, 0);
  // And back to DEFAULT with Domain-0 alone, then DEFAULT to mytest again
  // with a domain running.
  hv_.destroy(*xsm_, 1);
  EXPECT_EQ(xsm_->set_policy(default_policy().binary, hv_.live()).status, 0);
  hv_.use_labels(default_policy());
  ASSERT_EQ(hv_.create(*xsm_, 1, "__UNLABELED__"), 0);
  EXPECT_EQ(xsm_->set_policy(mytest().binary, hv_.live()).status, 0);
}

TEST_F(PolicyOps, MalformedBinariesAreRefusedWithTheReadersMessage) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  const Snapshot before = Snapshot::of(*xsm_);
  std::vector<std::vector<std::uint8_t>> bad;
  bad.emplace_back();
  bad.emplace_back(mytest().binary.begin(), mytest().binary.begin() + 100);
  bad.emplace_back(64, 0xff);
  bad.push_back(mytest().binary);
  bad.back()[bad.back().size() / 2] ^= 0x40;  // the compact format's SHA-256 notices
  bad.push_back(testing::compile_model(mytest().model, acm::BinaryFormat::xen).binary);
  bad.back().resize(bad.back().size() - 8);
  for (const auto& bytes : bad) {
    const auto reader = acm::read_binary_policy(bytes);
    ASSERT_FALSE(reader);
    for (const PolicyChange& c :
         {xsm_->set_policy(bytes, hv_.live()), xsm_->change_policy(bytes, {}, {}, hv_.live())}) {
      EXPECT_EQ(c.status, -EFAULT);
      EXPECT_EQ(c.message, reader.error().message);
      EXPECT_TRUE(c.errors.empty());
    }
  }
  Snapshot::of(*xsm_).expect_same_as(before);
}

// An image of mytest without its Chinese Wall component (STE + NULL).
std::vector<std::uint8_t> ste_only_mytest() {
  acm::PolicyImage image = mytest().image;
  image.primary = acm::PolicyCode::simple_type_enforcement;
  image.secondary = acm::PolicyCode::null;
  image.chwall_type_count = 0;
  image.chwall_labels = {};
  image.conflict_sets = {};
  image.names->chwall_types.clear();
  image.names->conflict_sets.clear();
  return acm::write_binary_policy(image, acm::BinaryFormat::compact);
}

TEST_F(PolicyOps, OnlyChineseWallPlusSteOrTheActiveCombinationLoads) {
  boot(mytest());
  const PolicyChange c = xsm_->set_policy(ste_only_mytest(), hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_EQ(c.message,
            "policy 'mytest' 1.0 combines SIMPLE TYPE ENFORCEMENT + NULL; at run time only CHINESE "
            "WALL + SIMPLE TYPE ENFORCEMENT or the active combination (CHINESE WALL + SIMPLE TYPE "
            "ENFORCEMENT) can be loaded");

  // Booted with STE alone, the same combination and CHWALL + STE both load.
  AuditLog audit;
  auto ste = testing::boot(audit, ste_only_mytest());
  FakeHypervisor hv(mytest());
  ASSERT_EQ(hv.create(*ste, 0, "SystemManagement"), 0);
  ASSERT_EQ(hv.create(*ste, 1, "A-Bank"), 0);
  EXPECT_EQ(hv.create(*ste, 2, "B-Bank"), 0);  // no Chinese Wall
  hv.destroy(*ste, 1);
  hv.destroy(*ste, 2);
  EXPECT_EQ(ste->set_policy(ste_only_mytest(), hv.live()).status, 0);
  EXPECT_EQ(ste->set_policy(mytest().binary, hv.live()).status, 0);
  EXPECT_EQ(ste->policy_info().primary, acm::PolicyCode::chinese_wall);
}

// --- chgpolicy ---------------------------------------------------------------------

TEST_F(PolicyOps, ChangePolicyRelabelsRunningDomainsByTheChangeMap) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank.SecurityUnderwriting", "domain1"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp", "domain2"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 3, "A-Bank", "domain3"), 0);
  hv_.bind(0, 1);
  hv_.bind(0, 2);
  hv_.bind(3, 0, acm::SharingKind::grant);
  const acm::PolicyChangePlan plan = plan_update({{0, "Domain-0", "SystemManagement"},
                                                  {1, "domain1", "A-Bank.SecurityUnderwriting"},
                                                  {2, "domain2", "AutoCorp"},
                                                  {3, "domain3", "A-Bank"}});
  // Renames and moved indexes; 5 -> 6 and 6 -> 7 must not chain.
  EXPECT_TRUE(plan.delete_array.empty());
  EXPECT_EQ(plan.change_array,
            (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{3, 4}, {4, 5}, {5, 6}, {6, 7}}));
  Relabeled expected;
  for (const auto& d : plan.domains) {
    if (d.new_ssidref != d.old_ssidref) expected.emplace_back(d.domid, d.new_ssidref);
  }
  ASSERT_EQ(expected,
            (Relabeled{{1, mytest_update().vm("A-Bank.SU")}, {2, mytest_update().vm("AutoCorp")}}));
  const std::uint64_t seq = next_seq();

  const PolicyChange c =
      xsm_->change_policy(mytest_update().binary, plan.delete_array, plan.change_array, hv_.live());
  ASSERT_EQ(c.status, 0) << c.message;
  EXPECT_EQ(c.relabeled, expected);
  EXPECT_TRUE(c.errors.empty());
  hv_.apply(c);
  hv_.use_labels(mytest_update());
  EXPECT_EQ(xsm_->policy_info().version.to_string(), "1.1");
  EXPECT_EQ(xsm_->label_of(hv_.ref(1).ssidref), "A-Bank.SU");
  EXPECT_EQ(xsm_->domain0_ssidref(), mytest_update().vm("SystemManagement"));

  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].reason,
            "chgpolicy activated policy 'mytest' 1.1, replacing 'mytest' 1.0; 2 domain(s) "
            "relabeled");
  EXPECT_EQ(records[1].hook, "domain_relabel");
  EXPECT_EQ(records[1].object_domid, 1u);
  EXPECT_EQ(records[1].object_name, "domain1");
  EXPECT_EQ(records[1].object_label, "A-Bank.SU");
  EXPECT_EQ(records[1].reason,
            "relabeled by chgpolicy from 'A-Bank.SecurityUnderwriting' (0x00040004) to "
            "'A-Bank.SU' (0x00050005)");

  // The Chinese Wall state follows the new labels: B-Bank stays out while an
  // A-Bank type runs, and comes in once the relabelled domains are gone.
  EXPECT_EQ(hv_.create(*xsm_, 4, "B-Bank"), -EACCES);
  EXPECT_EQ(hv_.create(*xsm_, 4, "A-Bank.MA"), -EACCES);  // conflicts with A-Bank.SU
  hv_.destroy(*xsm_, 1);
  hv_.destroy(*xsm_, 3);
  EXPECT_EQ(hv_.create(*xsm_, 4, "B-Bank"), 0);
  EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(2), hv_.ref(0)), 0);
}

TEST_F(PolicyOps, ARefusedChangeLeavesTheOldPolicyFullyActive) {
  boot(mytest(), true);
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank", "domain1"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp", "domain2"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 4, "AutoCorp", "domain4"), 0);
  hv_.bind(2, 4);
  hv_.bind(0, 1, acm::SharingKind::grant);
  // The update, except that AutoCorp loses its STE type: the live channel
  // between domain2 and domain4 would lose its common type.
  acm::PolicyModel model = acm::testing::mytest_update_model();
  for (auto& l : model.vm_labels) {
    if (l.name == "AutoCorp") l.ste_types.clear();
  }
  const auto variant = testing::compile_model(model);
  const acm::PolicyChangePlan plan = plan_update({{0, "Domain-0", "SystemManagement"},
                                                  {1, "domain1", "A-Bank"},
                                                  {2, "domain2", "AutoCorp"},
                                                  {4, "domain4", "AutoCorp"}});
  // And the caller also deletes A-Bank (index 2), which domain1 holds.
  std::vector<std::uint32_t> deleted = plan.delete_array;
  deleted.push_back(2);

  ASSERT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(2), hv_.ref(4)), 0);  // cached
  const abi::AcmStats stats_before = xsm_->stats();
  const Snapshot before = Snapshot::of(*xsm_);
  const std::uint64_t seq = next_seq();

  const PolicyChange c =
      xsm_->change_policy(variant.binary, deleted, plan.change_array, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_TRUE(c.relabeled.empty());
  EXPECT_EQ(c.errors.size(), 2u);
  EXPECT_TRUE(has_tuple(c, abi::kAcmSsidrefInUse, 2));
  EXPECT_TRUE(has_tuple(c, abi::kAcmEvtchnSharingViolation, (2u << 16) | 4u));
  EXPECT_EQ(line_count(c.message), 2u) << c.message;
  EXPECT_NE(c.message.find("ACM_EVTCHN_SHARING_VIOLATION (0x100) 0x00020004: domain 2 'domain2' "
                           "('AutoCorp') and domain 4 'domain4' ('AutoCorp') have a live event "
                           "channel but no common STE type under policy 'mytest' 1.1"),
            std::string::npos)
      << c.message;

  // Same policy, same state, same decisions, same cache.
  Snapshot::of(*xsm_).expect_same_as(before);
  EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(2), hv_.ref(4)), 0);
  EXPECT_EQ(xsm_->stats().ec_cachehit_count, stats_before.ec_cachehit_count + 1);
  EXPECT_EQ(hv_.create(*xsm_, 5, "B-Bank"), -EACCES);
  abi::AcmGetDecision d{};
  d.interface_version = abi::kAcmInterfaceVersion;
  d.get_by1 = d.get_by2 = abi::kAcmGetBySsidref;
  d.id1 = mytest().vm("A-Bank");
  d.id2 = mytest().vm("AutoCorp");
  d.hook = static_cast<std::uint32_t>(abi::AcmHook::sharing);
  ASSERT_EQ(xsm_->get_decision(d, hv_.live()), 0);
  EXPECT_EQ(d.decision, abi::kAcmAccessDenied);
  hv_.destroy(*xsm_, 1);
  EXPECT_EQ(hv_.create(*xsm_, 5, "B-Bank"), 0);  // the old labels are released correctly

  const auto records = records_since(*audit_, seq);
  ASSERT_GE(records.size(), 1u);
  EXPECT_EQ(records[0].hook, "policy_op");
  EXPECT_EQ(records[0].decision, "deny");
  EXPECT_EQ(records[0].policy_name, "mytest");
  EXPECT_EQ(records[0].policy_fingerprint, acm::to_hex(acm::sha256(mytest().binary)));
  EXPECT_EQ(records[0].reason.rfind("chgpolicy refused policy 'mytest' 1.1: ", 0), 0u);
}

TEST_F(PolicyOps, ASavedDomainIsRelabelledAndReadmittedUnderTheNewPolicy) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "AutoCorp", "domain1"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "B-Bank", "domain2"), 0);
  ASSERT_EQ(xsm_->domain_save(hv_.ref(1)), 0);
  const auto plan = plan_update(
      {{0, "Domain-0", "SystemManagement"}, {1, "domain1", "AutoCorp"}, {2, "domain2", "B-Bank"}});
  const PolicyChange c =
      xsm_->change_policy(mytest_update().binary, plan.delete_array, plan.change_array, hv_.live());
  ASSERT_EQ(c.status, 0) << c.message;
  EXPECT_EQ(c.relabeled,
            (Relabeled{{1, mytest_update().vm("AutoCorp")}, {2, mytest_update().vm("B-Bank")}}));
  hv_.apply(c);
  hv_.use_labels(mytest_update());
  // Saved, domain1 holds no Chinese Wall type; restored, it is admitted
  // again with its new label.
  EXPECT_EQ(xsm_->domain_restore(hv_.ref(1)), 0);
  EXPECT_EQ(hv_.create(*xsm_, 3, "A-Bank"), -EACCES);  // B-Bank runs
}

TEST_F(PolicyOps, ChangePolicyReportsChineseWallConflictsAmongRunningDomains) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 3, "AutoCorp"), 0);
  acm::PolicyModel model = acm::testing::mytest_update_model();
  model.chwall->conflict_sets.push_back({"Cars", acm::testing::items({"A-Bank", "AutoCorp"}), {}});
  const auto variant = testing::compile_model(model);
  const auto plan = plan_update({{0, "Domain-0", "SystemManagement"},
                                 {1, "d1", "A-Bank"},
                                 {2, "d2", "AutoCorp"},
                                 {3, "d3", "AutoCorp"}});
  const PolicyChange c =
      xsm_->change_policy(variant.binary, plan.delete_array, plan.change_array, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  // Both AutoCorp domains conflict with domain 1; the tuple (code, CHWALL
  // type of the new policy) is reported once, both reasons are kept.
  const auto autocorp = *variant.numbering.chwall_type_index("AutoCorp");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has_tuple(c, abi::kAcmChwallConflict, autocorp));
  EXPECT_EQ(line_count(c.message), 2u);
  EXPECT_NE(c.message.find("ACM_CHWALL_CONFLICT (0x103): domain 2 'domain2' ('AutoCorp'): Chinese "
                           "Wall type 'AutoCorp' conflicts with running type 'A-Bank' (conflict "
                           "set 'Cars')"),
            std::string::npos)
      << c.message;
}

TEST_F(PolicyOps, ChangePolicyChecksTheHypervisorsViewAgainstItsOwn) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  LiveState live = hv_.live();
  live.domains.push_back({9, mytest().vm("B-Bank"), "stranger"});  // never admitted
  live.domains[1].ssidref = mytest().vm("AutoCorp");               // not what was admitted
  live.sharings.push_back({1, 12, acm::SharingKind::grant});       // a domain nobody knows
  const PolicyChange c = xsm_->change_policy(mytest().binary, {}, {}, live);
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_TRUE(has_tuple(c, abi::kAcmDomainLookup, 9));
  EXPECT_TRUE(has_tuple(c, abi::kAcmDomainLookup, 1));
  EXPECT_TRUE(has_tuple(c, abi::kAcmDomainLookup, 12));
  EXPECT_EQ(c.errors.size(), 3u);
  // With the hypervisor's view right, reloading the same policy works.
  EXPECT_EQ(xsm_->change_policy(mytest().binary, {}, {}, hv_.live()).status, 0);
}

TEST_F(PolicyOps, ADeletedLabelStillInUseIsReported) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "B-Bank"), 0);
  const std::uint32_t b_bank = acm::primary_half(mytest().vm("B-Bank"));
  const std::vector<std::uint32_t> deleted{b_bank, 5};  // 5: AutoCorp, not in use
  const PolicyChange c = xsm_->change_policy(mytest().binary, deleted, {}, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].code, abi::kAcmSsidrefInUse);
  EXPECT_EQ(c.errors[0].data, static_cast<std::int32_t>(b_bank));
}

TEST_F(PolicyOps, AChangeMapNamingAnIndexTwiceIsRefused) {
  boot(mytest());
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> changed{{3, 4}, {3, 5}};
  const PolicyChange c = xsm_->change_policy(mytest_update().binary, {}, changed, hv_.live());
  EXPECT_EQ(c.status, -EINVAL);
  EXPECT_EQ(c.message, "the change map lists old label index 3 twice");
}

TEST_F(PolicyOps, ALabelMissingFromTheNewPolicyIsInUse) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "B-Bank"), 0);  // index 6
  // The DEFAULT policy has two VM labels; B-Bank has nowhere to go.
  const PolicyChange c = xsm_->change_policy(default_policy().binary, {}, {}, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_TRUE(has_tuple(c, abi::kAcmSsidrefInUse, 6));
}

TEST_F(PolicyOps, APolicyChangeFlushesTheCache) {
  boot(mytest(), true);
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(0)), 0);
  ASSERT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(0)), 0);
  EXPECT_EQ(xsm_->stats().gt_cachehit_count, 1u);
  ASSERT_EQ(xsm_->change_policy(mytest().binary, {}, {}, hv_.live()).status, 0);
  ASSERT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(0)), 0);
  EXPECT_EQ(xsm_->stats().gt_cachehit_count, 1u);
  EXPECT_EQ(xsm_->stats().gt_eval_count, 2u);
}

// --- relabeldoms -------------------------------------------------------------------

TEST_F(PolicyOps, Domain0RelabelMustAuthorizeEveryRunningDomain) {
  // Manual 10.2.7: Domain-0 to A-Bank is refused while an AutoCorp domain
  // runs, accepted once it does not.
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "AutoCorp", "autocorp"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "A-Bank", "abank"), 0);
  hv_.bind(1, 0);  // its console channel
  const abi::AcmRelabelEntry to_abank{0, mytest().vm("A-Bank")};
  const std::uint64_t seq = next_seq();
  PolicyChange c = xsm_->relabel({&to_abank, 1}, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has_tuple(c, abi::kAcmEvtchnSharingViolation, (1u << 16) | 0u));
  EXPECT_EQ(line_count(c.message), 2u) << c.message;
  EXPECT_NE(c.message.find("VM is not authorized to run: Domain-0's label 'A-Bank' does not "
                           "authorize domain 1 'autocorp' ('AutoCorp')"),
            std::string::npos)
      << c.message;
  EXPECT_EQ(xsm_->domain0_ssidref(), mytest().vm("SystemManagement"));
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].hook, "domain_relabel");
  EXPECT_EQ(records[0].decision, "deny");
  EXPECT_EQ(records[0].object_label, "A-Bank");

  // Without a channel the authorization rule alone refuses it (no Xen code).
  hv_.destroy(*xsm_, 1);
  ASSERT_EQ(hv_.create(*xsm_, 1, "AutoCorp", "autocorp"), 0);
  c = xsm_->relabel({&to_abank, 1}, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  EXPECT_TRUE(c.errors.empty());
  EXPECT_EQ(line_count(c.message), 1u);

  hv_.destroy(*xsm_, 1);
  const std::uint64_t seqno = xsm_->policy_seqno();
  c = xsm_->relabel({&to_abank, 1}, hv_.live());
  ASSERT_EQ(c.status, 0) << c.message;
  EXPECT_EQ(c.relabeled, (Relabeled{{0, mytest().vm("A-Bank")}}));
  EXPECT_EQ(xsm_->domain0_ssidref(), mytest().vm("A-Bank"));
  EXPECT_EQ(xsm_->policy_seqno(), seqno + 1);
  hv_.apply(c);
  EXPECT_EQ(xsm_->label_of(xsm_->domain0_ssidref()), "A-Bank");
}

TEST_F(PolicyOps, RelabelIsAllOrNothing) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 3, "A-Bank"), 0);
  const Snapshot before = Snapshot::of(*xsm_);
  // domain1 to AutoCorp would be fine; domain2 to B-Bank conflicts with
  // domain3's A-Bank.
  const abi::AcmRelabelEntry entries[] = {{1, mytest().vm("AutoCorp")}, {2, mytest().vm("B-Bank")}};
  const PolicyChange c = xsm_->relabel(entries, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  const auto a_bank = *mytest().numbering.chwall_type_index("A-Bank");
  EXPECT_TRUE(has_tuple(c, abi::kAcmChwallConflict, a_bank));
  Snapshot::of(*xsm_).expect_same_as(before);
  EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(3)), 0);
}

TEST_F(PolicyOps, RelabelNeedsKnownDomainsAndVmLabels) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  const Snapshot before = Snapshot::of(*xsm_);
  const abi::AcmRelabelEntry bad_label[] = {{1, 0x00400040}, {1, 0x00050002}};
  PolicyChange c = xsm_->relabel(bad_label, hv_.live());
  EXPECT_EQ(c.status, -EINVAL);
  EXPECT_EQ(c.message,
            "ssidref 0x00400040 for domain 1 'domain1' is not a VM label of policy 'mytest' 1.0\n"
            "domain 1 is listed twice\n"
            "ssidref 0x00050002 for domain 1 'domain1' is not a VM label of policy 'mytest' 1.0");
  const abi::AcmRelabelEntry unknown[] = {{7, mytest().vm("A-Bank")}};
  c = xsm_->relabel(unknown, hv_.live());
  EXPECT_EQ(c.status, -EFAULT);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has_tuple(c, abi::kAcmDomainLookup, 7));
  Snapshot::of(*xsm_).expect_same_as(before);
}

TEST_F(PolicyOps, RelabelFlushesTheCacheSoNoStalePermitSurvives) {
  // Xen's relabeldoms left the STE caches alone (quirk 9).
  boot(mytest(), true);
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 3, "A-Bank"), 0);
  ASSERT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(3)), 0);
  ASSERT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(3)), 0);
  ASSERT_EQ(xsm_->stats().ec_cachehit_count, 1u);
  const abi::AcmRelabelEntry to_autocorp{1, mytest().vm("AutoCorp")};
  const PolicyChange c = xsm_->relabel({&to_autocorp, 1}, hv_.live());
  ASSERT_EQ(c.status, 0) << c.message;
  hv_.apply(c);
  EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(3)), -EACCES);
  EXPECT_EQ(xsm_->stats().ec_cachehit_count, 1u);
  // The Chinese Wall now counts AutoCorp for domain 1: B-Bank conflicts only
  // with domain 3's A-Bank.
  hv_.destroy(*xsm_, 3);
  EXPECT_EQ(hv_.create(*xsm_, 4, "B-Bank"), 0);
}

TEST_F(PolicyOps, RelabelToTheSameLabelChangesNothing) {
  boot(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  const std::uint64_t seqno = xsm_->policy_seqno();
  const abi::AcmRelabelEntry same{1, mytest().vm("A-Bank")};
  const PolicyChange c = xsm_->relabel({&same, 1}, hv_.live());
  EXPECT_EQ(c.status, 0);
  EXPECT_TRUE(c.relabeled.empty());
  EXPECT_EQ(xsm_->policy_seqno(), seqno);
}

}  // namespace
}  // namespace shype::xsm
