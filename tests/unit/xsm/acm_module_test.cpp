// The ACM module's hooks on the manual's mytest policy (manual 10.2.6,
// reference xen-acm-hypervisor.md 8-10), its queries and its boot.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "acm/fingerprint.hpp"
#include "acm/xml/policy_files.hpp"
#include "xsm_test_support.hpp"

namespace shype::xsm {
namespace {

using testing::FakeHypervisor;
using testing::mytest;
using testing::records_since;

class AcmModule : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(XsmConfig config) {
    xsm_.reset();
    audit_ = std::make_unique<AuditLog>();
    xsm_ = testing::boot(*audit_, mytest().binary, std::move(config));
    hv_ = FakeHypervisor(mytest());
    ASSERT_EQ(hv_.create(*xsm_, 0, "SystemManagement"), 0);
  }
  void start_cached() {
    XsmConfig config;
    config.decision_cache = true;
    start(config);
  }
  // Sequence number the next audit record will get.
  std::uint64_t next_seq() const { return audit_->records_written() + 1; }
  acm::Ssidref vm(const char* label) const { return mytest().vm(label); }
  std::string fingerprint() const { return acm::to_hex(acm::sha256(mytest().binary)); }

  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Xsm> xsm_;
  FakeHypervisor hv_{mytest()};
};

// --- Boot -------------------------------------------------------------------

TEST(AcmBoot, TheBuiltInDefaultIsTheCompiledDefaultPolicy) {
  const auto builtin = builtin_default_policy();
  auto image = acm::read_binary_policy(builtin);
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(*image, testing::default_policy().image);
  EXPECT_EQ(acm::detect_binary_format(builtin), acm::BinaryFormat::compact);

  AuditLog audit;
  auto xsm = Xsm::create({}, audit);
  ASSERT_TRUE(xsm) << xsm.error().to_string();
  EXPECT_EQ((*xsm)->module_name(), "acm");
  const PolicyInfo info = (*xsm)->policy_info();
  EXPECT_EQ(info.name, "DEFAULT");
  EXPECT_EQ(info.version.to_string(), "1.0");
  EXPECT_EQ(info.primary, acm::PolicyCode::chinese_wall);
  EXPECT_EQ(info.secondary, acm::PolicyCode::simple_type_enforcement);
  EXPECT_EQ(info.fingerprint, acm::sha256(builtin));
  EXPECT_EQ((*xsm)->domain0_ssidref(), acm::kBootstrapSsidref);
  EXPECT_EQ((*xsm)->label_of(acm::kBootstrapSsidref), "SystemManagement");
  std::vector<std::uint8_t> bytes;
  ASSERT_EQ((*xsm)->get_policy(bytes), 0);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), builtin.begin(), builtin.end()));

  // The activation is the first audit record.
  const auto records = records_since(audit, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].hook, "policy_op");
  EXPECT_EQ(records[0].decision, "permit");
  EXPECT_EQ(records[0].policy_name, "DEFAULT");
  EXPECT_EQ(records[0].reason, "boot policy 'DEFAULT' 1.0 activated (compact format, " +
                                   std::to_string(builtin.size()) +
                                   " bytes); Domain-0's label is 'SystemManagement'");
}

TEST(AcmBoot, RefusesAMalformedPolicyOrADomain0LabelItLacks) {
  AuditLog audit;
  XsmConfig config;
  config.boot_policy = {0x00, 0x01, 0xde, 0xbc, 0x00};
  auto bad = Xsm::create(config, audit);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, acm::Errc::malformed_binary);
  EXPECT_EQ(bad.error().message.rfind("boot policy: ", 0), 0u) << bad.error().message;

  config.boot_policy = mytest().binary;
  for (acm::Ssidref d0 : {acm::Ssidref{0x00080008}, acm::Ssidref{0x00020001}}) {
    config.domain0_ssidref = d0;
    auto refused = Xsm::create(config, audit);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "Domain-0's ssidref " + acm::hex32(d0) +
                                           " is not a VM label of the boot policy 'mytest' 1.0");
  }
  config.domain0_ssidref = mytest().vm("A-Bank");
  auto ok = Xsm::create(config, audit);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->domain0_ssidref(), mytest().vm("A-Bank"));
}

TEST(AcmBoot, AXenFormatPolicyWithoutNamesWorks) {
  const auto xen = testing::compile_model(mytest().model, acm::BinaryFormat::xen);
  AuditLog audit;
  auto xsm = testing::boot(audit, xen.binary);
  FakeHypervisor hv(xen);
  ASSERT_EQ(hv.create(*xsm, 0, "SystemManagement"), 0);
  ASSERT_EQ(hv.create(*xsm, 1, "A-Bank"), 0);
  EXPECT_EQ(hv.create(*xsm, 2, "B-Bank"), -EACCES);
  EXPECT_EQ(xsm->label_of(xen.vm("A-Bank")), "");
  const auto records = records_since(audit, 2);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].object_label, "");
  // Without names, types and conflict sets are shown by index.
  EXPECT_EQ(records[0].reason,
            "Chinese Wall type 4 conflicts with running type 0 (conflict set 0)");
}

// --- Manual 10.2.6 ------------------------------------------------------------

TEST_F(AcmModule, ChineseWallDeniesBBankWhileABankRuns) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank", "domain1"), 0);
  const std::uint64_t seq = next_seq();
  EXPECT_EQ(hv_.create(*xsm_, 2, "B-Bank", "domain2"), -EACCES);

  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 1u);
  const auto& r = records[0];
  EXPECT_EQ(r.hook, "domain_create");
  EXPECT_EQ(r.decision, "deny");
  EXPECT_EQ(r.status, -EACCES);
  EXPECT_EQ(r.subject_domid, 0u);
  EXPECT_EQ(r.subject_label, "SystemManagement");
  EXPECT_EQ(r.object_domid, 2u);
  EXPECT_EQ(r.object_name, "domain2");
  EXPECT_EQ(r.object_label, "B-Bank");
  EXPECT_EQ(r.object_ssidref, acm::hex32(vm("B-Bank")));
  EXPECT_EQ(r.reason,
            "Chinese Wall type 'B-Bank' conflicts with running type 'A-Bank' (conflict set 'RER')");
  EXPECT_EQ(r.policy_name, "mytest");
  EXPECT_EQ(r.policy_fingerprint, fingerprint());
  EXPECT_EQ(xsm_->stats().domain_create_denied, 1u);
  EXPECT_EQ(xsm_->hook_stats(Hook::domain_create).denied, 1u);

  // After domain1 is gone, B-Bank may run.
  hv_.destroy(*xsm_, 1);
  EXPECT_EQ(hv_.create(*xsm_, 2, "B-Bank", "domain2"), 0);
  EXPECT_EQ(hv_.create(*xsm_, 3, "A-Bank"), -EACCES);
}

TEST_F(AcmModule, ResourceAccessNeedsACommonSteType) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank", "domain1"), 0);
  EXPECT_EQ(xsm_->resource_access(hv_.ref(1), mytest().resource("A-Bank")), 0);
  const std::uint64_t seq = next_seq();
  EXPECT_EQ(xsm_->resource_access(hv_.ref(1), mytest().resource("B-Bank")), -EACCES);
  EXPECT_EQ(xsm_->resource_access(hv_.ref(0), mytest().resource("B-Bank")), 0);
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].hook, "resource_access");
  EXPECT_EQ(records[0].subject_label, "A-Bank");
  EXPECT_EQ(records[0].object_domid, kAuditNoDomain);
  EXPECT_EQ(records[0].object_label, "B-Bank");
  EXPECT_EQ(records[0].reason, "'A-Bank' and resource 'B-Bank' have no common STE type");
  EXPECT_EQ(xsm_->hook_stats(Hook::resource_access).calls, 3u);
  EXPECT_EQ(xsm_->hook_stats(Hook::resource_access).denied, 1u);
}

TEST(AcmAudit, DenialsReachTheAuditFileAsJsonLines) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("xsm_module_audit_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  {
    AuditLog audit(path);
    auto xsm = testing::boot(audit, mytest().binary);
    FakeHypervisor hv(mytest());
    ASSERT_EQ(hv.create(*xsm, 0, "SystemManagement"), 0);
    ASSERT_EQ(hv.create(*xsm, 1, "A-Bank"), 0);
    ASSERT_EQ(hv.create(*xsm, 2, "B-Bank"), -EACCES);
    ASSERT_EQ(xsm->resource_access(hv.ref(1), mytest().resource("AutoCorp")), -EACCES);
    EXPECT_EQ(audit.write_errors(), 0u);
    EXPECT_EQ(xsm->stats().audit_records, 3u);  // boot, create, resource
  }
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(lines[i]["seq"], i + 1);
  EXPECT_EQ(lines[0]["hook"], "policy_op");
  EXPECT_EQ(lines[1]["hook"], "domain_create");
  EXPECT_EQ(lines[1]["object"]["label"], "B-Bank");
  EXPECT_EQ(lines[2]["hook"], "resource_access");
  EXPECT_EQ(lines[2]["object"]["ssidref"], acm::hex32(mytest().resource("AutoCorp")));
  std::filesystem::remove(path);
}

// --- Lifecycle ----------------------------------------------------------------

TEST_F(AcmModule, DomainCreateNeedsAVmLabel) {
  const std::uint64_t seq = next_seq();
  const auto before = xsm_->chinese_wall_counts();
  // Out of range, mixed halves, a resource label.
  for (acm::Ssidref s :
       {acm::Ssidref{0x00400040}, acm::Ssidref{0x00020006}, mytest().resource("A-Bank")}) {
    EXPECT_EQ(hv_.create_ssidref(*xsm_, 5, s), -EINVAL) << acm::hex32(s);
  }
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].reason, "ssidref 0x00400040 is not a VM label of policy 'mytest' 1.0");
  EXPECT_EQ(records[0].status, -EINVAL);
  EXPECT_EQ(xsm_->chinese_wall_counts(), before);
  EXPECT_EQ(hv_.create(*xsm_, 5, "__UNLABELED__"), 0);
}

TEST_F(AcmModule, ACreatedDomainIdIsNotCreatedTwice) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "AutoCorp"), 0);
  const auto before = xsm_->chinese_wall_counts();
  EXPECT_EQ(xsm_->domain_create({1, vm("AutoCorp"), "again"}), -EEXIST);
  EXPECT_EQ(xsm_->chinese_wall_counts(), before);
}

TEST_F(AcmModule, CreateFailedRollsTheChineseWallBack) {
  const auto before = xsm_->chinese_wall_counts();
  const DomainRef a{1, vm("A-Bank"), "domain1"};
  ASSERT_EQ(xsm_->domain_create(a), 0);
  EXPECT_NE(xsm_->chinese_wall_counts(), before);
  xsm_->domain_create_failed(a);
  EXPECT_EQ(xsm_->chinese_wall_counts(), before);
  EXPECT_EQ(hv_.create(*xsm_, 2, "B-Bank"), 0);
  // Rolling back an unknown domain changes nothing.
  xsm_->domain_create_failed({9, vm("B-Bank"), "never"});
  EXPECT_EQ(hv_.create(*xsm_, 3, "A-Bank"), -EACCES);
}

TEST_F(AcmModule, SaveReleasesAndRestoreReadmits) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank", "domain1"), 0);
  const DomainRef saved = hv_.ref(1);
  ASSERT_EQ(xsm_->domain_save(saved), 0);
  EXPECT_EQ(xsm_->domain_save(saved), 0);  // saved twice: nothing more to release
  ASSERT_EQ(hv_.create(*xsm_, 2, "B-Bank", "domain2"), 0);
  // domain1 cannot come back while B-Bank runs, and stays saved.
  EXPECT_EQ(xsm_->domain_restore(saved), -EACCES);
  EXPECT_EQ(xsm_->hook_stats(Hook::domain_restore).denied, 1u);
  hv_.destroy(*xsm_, 2);
  EXPECT_EQ(xsm_->domain_restore(saved), 0);
  EXPECT_EQ(xsm_->domain_restore(saved), -EEXIST);
  EXPECT_EQ(hv_.create(*xsm_, 2, "B-Bank"), -EACCES);
  // A domain restored under a new id (migration, xm restore) is admitted too.
  ASSERT_EQ(xsm_->domain_save(saved), 0);
  hv_.destroy(*xsm_, 1);
  EXPECT_EQ(xsm_->domain_restore({7, vm("A-Bank"), "domain1"}), 0);
  EXPECT_EQ(xsm_->domain_save({8, vm("A-Bank"), "unknown"}), -ESRCH);
}

TEST_F(AcmModule, DestroyReleasesTheLabelTheDomainWasAdmittedWith) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  // Even if the caller names another label, the admitted one is released.
  xsm_->domain_destroyed({1, vm("AutoCorp"), "domain1"});
  EXPECT_EQ(hv_.create(*xsm_, 2, "B-Bank"), 0);
}

TEST_F(AcmModule, DomainControlIsPermittedThroughTheTable) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "B-Bank"), 0);
  for (Hook h : {Hook::domain_destroy, Hook::domain_pause, Hook::domain_unpause,
                 Hook::domain_getinfo, Hook::console_io}) {
    EXPECT_EQ(xsm_->domain_control(h, hv_.ref(1)), 0) << hook_name(h);
    EXPECT_EQ(xsm_->hook_stats(h).calls, 1u);
  }
  const std::uint64_t seq = next_seq();
  EXPECT_EQ(xsm_->domain_control(Hook::grant_map, hv_.ref(1)), -EACCES);
  EXPECT_EQ(xsm_->domain_control(static_cast<Hook>(kHookCount + 3), hv_.ref(1)), -EACCES);
  EXPECT_EQ(xsm_->share(Hook::domain_create, hv_.ref(0), hv_.ref(1)), -EACCES);
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].reason, "hook 'grant_map' is not decided through domain_control");
  EXPECT_EQ(records[1].reason,
            "hook number " + std::to_string(kHookCount + 3) + " is not in the hook list");
  EXPECT_EQ(records[2].reason, "hook 'domain_create' is not decided through share");
}

// --- Sharing and the decision cache --------------------------------------------

TEST_F(AcmModule, EveryEventChannelAndGrantHookUsesSteTypes) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank", "domain1"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp", "domain2"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 3, "A-Bank", "domain3"), 0);
  const std::uint64_t seq = next_seq();
  std::size_t denials = 0;
  for (Hook h : {Hook::evtchn_unbound, Hook::evtchn_interdomain, Hook::evtchn_send,
                 Hook::grant_setup, Hook::grant_map, Hook::grant_copy, Hook::grant_transfer}) {
    EXPECT_EQ(xsm_->share(h, hv_.ref(1), hv_.ref(0)), 0) << hook_name(h);
    EXPECT_EQ(xsm_->share(h, hv_.ref(0), hv_.ref(2)), 0) << hook_name(h);
    EXPECT_EQ(xsm_->share(h, hv_.ref(1), hv_.ref(3)), 0) << hook_name(h);
    EXPECT_EQ(xsm_->share(h, hv_.ref(1), hv_.ref(2)), -EACCES) << hook_name(h);
    ++denials;
    EXPECT_EQ(xsm_->hook_stats(h).denied, 1u);
  }
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), denials);
  EXPECT_EQ(records[1].hook, "evtchn_interdomain");
  EXPECT_EQ(records[1].subject_label, "A-Bank");
  EXPECT_EQ(records[1].object_label, "AutoCorp");
  EXPECT_EQ(records[1].reason, "'A-Bank' and 'AutoCorp' have no common STE type");
  const abi::AcmStats s = xsm_->stats();
  // Without the cache (the default) every request is evaluated.
  EXPECT_EQ(s.ec_eval_count, 12u);
  EXPECT_EQ(s.ec_cachehit_count, 0u);
  EXPECT_EQ(s.ec_denied_count, 3u);
  EXPECT_EQ(s.gt_eval_count, 16u);
  EXPECT_EQ(s.gt_cachehit_count, 0u);
  EXPECT_EQ(s.gt_denied_count, 4u);
}

TEST_F(AcmModule, TheCacheIsKeyedByKindNotHook) {
  start_cached();
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  for (Hook h : {Hook::evtchn_unbound, Hook::evtchn_interdomain, Hook::evtchn_send,
                 Hook::grant_setup, Hook::grant_map, Hook::grant_copy, Hook::grant_transfer}) {
    EXPECT_EQ(xsm_->share(h, hv_.ref(1), hv_.ref(0)), 0) << hook_name(h);
  }
  // The first hook of each kind evaluates, the others find the permit.
  const abi::AcmStats s = xsm_->stats();
  EXPECT_EQ(s.ec_eval_count, 1u);
  EXPECT_EQ(s.ec_cachehit_count, 2u);
  EXPECT_EQ(s.gt_eval_count, 1u);
  EXPECT_EQ(s.gt_cachehit_count, 3u);
}

TEST_F(AcmModule, TheCacheAnswersRepeatedPermitsOnly) {
  start_cached();
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp"), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(0)), 0);
    EXPECT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(0)), 0);
    EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(2)), -EACCES);
  }
  abi::AcmStats s = xsm_->stats();
  EXPECT_EQ(s.ec_eval_count, 1u + 3u);  // one permit evaluated, every denial evaluated
  EXPECT_EQ(s.ec_cachehit_count, 2u);
  EXPECT_EQ(s.ec_denied_count, 3u);
  EXPECT_EQ(s.gt_eval_count, 1u);
  EXPECT_EQ(s.gt_cachehit_count, 2u);
  EXPECT_EQ(xsm_->hook_stats(Hook::evtchn_interdomain).calls, 6u);
  EXPECT_EQ(xsm_->hook_stats(Hook::evtchn_interdomain).cache_hits, 2u);
  EXPECT_EQ(s.audit_records, audit_->records_written());
}

TEST_F(AcmModule, ADestroyedDomainsIdCarriesNoCachedPermit) {
  start_cached();
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  ASSERT_EQ(hv_.create(*xsm_, 2, "A-Bank"), 0);
  ASSERT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(2)), 0);
  ASSERT_EQ(xsm_->share(Hook::grant_map, hv_.ref(2), hv_.ref(1)), 0);
  hv_.destroy(*xsm_, 2);
  ASSERT_EQ(hv_.create(*xsm_, 2, "AutoCorp"), 0);
  EXPECT_EQ(xsm_->share(Hook::grant_map, hv_.ref(1), hv_.ref(2)), -EACCES);
  EXPECT_EQ(xsm_->share(Hook::grant_map, hv_.ref(2), hv_.ref(1)), -EACCES);
  EXPECT_EQ(xsm_->stats().gt_cachehit_count, 0u);
}

TEST_F(AcmModule, WithoutTheCacheEveryDecisionIsEvaluated) {
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(0)), 0);
  EXPECT_EQ(xsm_->stats().ec_eval_count, 4u);
  EXPECT_EQ(xsm_->stats().ec_cachehit_count, 0u);
}

TEST_F(AcmModule, PermitsAreAuditedWhenAsked) {
  XsmConfig config;
  config.audit_permits = true;
  config.decision_cache = true;
  start(config);
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank"), 0);
  const std::uint64_t seq = next_seq();
  ASSERT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(0)), 0);
  ASSERT_EQ(xsm_->share(Hook::evtchn_interdomain, hv_.ref(1), hv_.ref(0)), 0);
  const auto records = records_since(*audit_, seq);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].decision, "permit");
  EXPECT_EQ(records[0].reason, "'A-Bank' and 'SystemManagement' share STE type 'A-Bank'");
  EXPECT_EQ(records[1].reason, "permitted by the decision cache (security state 1)");
}

// --- Queries --------------------------------------------------------------------

abi::AcmGetSsid ssid_request(std::uint32_t get_by, std::uint32_t id) {
  abi::AcmGetSsid r{};
  r.interface_version = abi::kAcmInterfaceVersion;
  r.get_by = get_by;
  r.id = id;
  return r;
}

TEST_F(AcmModule, GetSsidNamesPolicyAndLabel) {
  ASSERT_EQ(hv_.create(*xsm_, 4, "A-Bank.MarketAnalysis"), 0);
  auto r = ssid_request(abi::kAcmGetByDomid, 4);
  ASSERT_EQ(xsm_->get_ssid(r, hv_.live()), 0);
  EXPECT_EQ(r.ssidref, vm("A-Bank.MarketAnalysis"));
  EXPECT_STREQ(r.policy_name, "mytest");
  EXPECT_STREQ(r.label, "A-Bank.MarketAnalysis");
  EXPECT_EQ(r.primary_code, 1u);
  EXPECT_EQ(r.secondary_code, 2u);
  EXPECT_EQ(r.version_major, 1u);
  EXPECT_EQ(r.version_minor, 0u);
  EXPECT_EQ(0, std::memcmp(r.fingerprint, acm::sha256(mytest().binary).data(), 32));

  r = ssid_request(abi::kAcmGetBySsidref, mytest().resource("AutoCorp"));
  ASSERT_EQ(xsm_->get_ssid(r, hv_.live()), 0);
  EXPECT_STREQ(r.label, "AutoCorp");

  r = ssid_request(abi::kAcmGetByDomid, 9);
  EXPECT_EQ(xsm_->get_ssid(r, hv_.live()), -ESRCH);
  r = ssid_request(7, 0);
  EXPECT_EQ(xsm_->get_ssid(r, hv_.live()), -ESRCH);
  r = ssid_request(abi::kAcmGetBySsidref, 0x00990099);
  EXPECT_EQ(xsm_->get_ssid(r, hv_.live()), -EINVAL);
  r = ssid_request(abi::kAcmGetBySsidref, vm("A-Bank"));
  r.interface_version = 0xAAAA0009;
  EXPECT_EQ(xsm_->get_ssid(r, hv_.live()), -EACCES);
}

abi::AcmGetDecision decision_request(abi::AcmHook hook, std::uint32_t id1, std::uint32_t id2 = 0,
                                     std::uint32_t by = abi::kAcmGetBySsidref) {
  abi::AcmGetDecision r{};
  r.interface_version = abi::kAcmInterfaceVersion;
  r.get_by1 = by;
  r.get_by2 = by;
  r.id1 = id1;
  r.id2 = id2;
  r.hook = static_cast<std::uint32_t>(hook);
  r.decision = 42;
  return r;
}

TEST_F(AcmModule, GetDecisionAnswersSharingAuthorizationAndConflicts) {
  auto decide = [&](abi::AcmHook hook, std::uint32_t a, std::uint32_t b = 0,
                    std::uint32_t by = abi::kAcmGetBySsidref) {
    auto r = decision_request(hook, a, b, by);
    EXPECT_EQ(xsm_->get_decision(r, hv_.live()), 0);
    return r.decision;
  };
  using abi::AcmHook;
  constexpr auto kPermit = abi::kAcmAccessPermitted;
  constexpr auto kDeny = abi::kAcmAccessDenied;
  const acm::Ssidref d0 = vm("SystemManagement");
  EXPECT_EQ(decide(AcmHook::sharing, vm("A-Bank"), d0), kPermit);
  EXPECT_EQ(decide(AcmHook::sharing, vm("A-Bank"), vm("B-Bank")), kDeny);
  EXPECT_EQ(decide(AcmHook::sharing, vm("A-Bank"), mytest().resource("A-Bank")), kPermit);
  // Authorization: dominance and a common type ("VM is not authorized to run").
  EXPECT_EQ(decide(AcmHook::authorization, d0, vm("AutoCorp")), kPermit);
  EXPECT_EQ(decide(AcmHook::authorization, vm("A-Bank"), vm("AutoCorp")), kDeny);
  EXPECT_EQ(decide(AcmHook::authorization, vm("A-Bank"), d0), kDeny);
  // conflictset against the running domains, over both conflict sets
  // (Xen's misindexing made the second set unreliable, quirk 6).
  EXPECT_EQ(decide(AcmHook::conflictset, vm("B-Bank")), kPermit);
  ASSERT_EQ(hv_.create(*xsm_, 1, "A-Bank.SecurityUnderwriting"), 0);
  EXPECT_EQ(decide(AcmHook::conflictset, vm("B-Bank")), kDeny);
  EXPECT_EQ(decide(AcmHook::conflictset, vm("A-Bank.MarketAnalysis")), kDeny);
  EXPECT_EQ(decide(AcmHook::conflictset, vm("A-Bank")), kPermit);
  EXPECT_EQ(decide(AcmHook::conflictset, 0x00770077), kDeny);
  // By domain id, through the hypervisor's live state.
  EXPECT_EQ(decide(AcmHook::sharing, 0, 1, abi::kAcmGetByDomid), kPermit);
  EXPECT_EQ(decide(AcmHook::none, d0, d0), kDeny);
  EXPECT_EQ(decide(static_cast<AcmHook>(9), d0, d0), kDeny);

  auto unknown = decision_request(AcmHook::sharing, 0, 5, abi::kAcmGetByDomid);
  EXPECT_EQ(xsm_->get_decision(unknown, hv_.live()), -ESRCH);
  auto old_version = decision_request(AcmHook::sharing, d0, d0);
  old_version.interface_version = 0;
  EXPECT_EQ(xsm_->get_decision(old_version, hv_.live()), -EACCES);
  EXPECT_EQ(xsm_->hook_stats(Hook::getdecision).calls, 16u);
}

TEST_F(AcmModule, DomainCreateNeedsDomain0sAuthorization) {
  // A-Bank as Domain-0's label does not authorize AutoCorp (manual 10.2.7):
  // the hypervisor refuses the domain itself, not only the toolstack.
  XsmConfig config;
  config.domain0_ssidref = vm("A-Bank");
  xsm_.reset();
  audit_ = std::make_unique<AuditLog>();
  xsm_ = testing::boot(*audit_, mytest().binary, config);
  hv_ = FakeHypervisor(mytest());
  ASSERT_EQ(hv_.create(*xsm_, 0, "A-Bank"), 0);
  EXPECT_EQ(hv_.create(*xsm_, 1, "AutoCorp"), -EPERM);
  EXPECT_EQ(hv_.create(*xsm_, 2, "A-Bank"), 0);
  auto r = decision_request(abi::AcmHook::authorization, 0, 2, abi::kAcmGetByDomid);
  ASSERT_EQ(xsm_->get_decision(r, hv_.live()), 0);
  EXPECT_EQ(r.decision, abi::kAcmAccessPermitted);
  std::uint64_t next = 0;
  const auto records = audit_->read_since(1, 100, next);
  ASSERT_FALSE(records.empty());
  EXPECT_NE(records.back().find("VM is not authorized to run"), std::string::npos);
}

TEST_F(AcmModule, LabelOfNamesVmAndResourceLabels) {
  EXPECT_EQ(xsm_->label_of(vm("B-Bank")), "B-Bank");
  EXPECT_EQ(xsm_->label_of(0), "__UNLABELED__");
  EXPECT_EQ(xsm_->label_of(mytest().resource("A-Bank.MarketAnalysis")), "A-Bank.MarketAnalysis");
  EXPECT_EQ(xsm_->label_of(0x00020003), "");
  EXPECT_EQ(xsm_->label_of(acm::kInvalidSsidref), "");
}

}  // namespace
}  // namespace shype::xsm
