// The dummy module: permits every hook, records nothing, has no policy.
#include <cerrno>

#include <gtest/gtest.h>

#include "xsm_test_support.hpp"

namespace shype::xsm {
namespace {

constexpr const char* kNotSupported = "Command not supported under XSM 'dummy' module.";

class DummyModule : public ::testing::Test {
 protected:
  void SetUp() override {
    XsmConfig config;
    config.module = "dummy";
    auto created = Xsm::create(config, audit_);
    ASSERT_TRUE(created) << created.error().to_string();
    xsm_ = std::move(*created);
  }
  AuditLog audit_;
  std::unique_ptr<Xsm> xsm_;
};

TEST_F(DummyModule, PermitsEveryHook) {
  const DomainRef d0{0, acm::kBootstrapSsidref, "Domain-0"};
  // Labels mean nothing to dummy: even ones no policy has.
  const DomainRef a{1, 0x12345678, "a"};
  const DomainRef b{2, 0xffffffff, "b"};
  EXPECT_EQ(xsm_->domain_create(d0), 0);
  EXPECT_EQ(xsm_->domain_create(a), 0);
  EXPECT_EQ(xsm_->domain_create(a), 0);
  EXPECT_EQ(xsm_->domain_save(a), 0);
  EXPECT_EQ(xsm_->domain_restore(a), 0);
  xsm_->domain_create_failed(b);
  xsm_->domain_destroyed(a);
  for (std::size_t i = 0; i < kHookCount; ++i) {
    const auto hook = static_cast<Hook>(i);
    EXPECT_EQ(xsm_->share(hook, a, b), 0) << hook_name(hook);
    EXPECT_EQ(xsm_->domain_control(hook, a), 0) << hook_name(hook);
  }
  EXPECT_EQ(xsm_->resource_access(a, 0x00420000), 0);
  EXPECT_EQ(audit_.records_written(), 0u);
  EXPECT_EQ(xsm_->hook_stats(Hook::grant_map).calls, 0u);
  EXPECT_EQ(xsm_->stats().ec_eval_count, 0u);
  EXPECT_EQ(xsm_->stats().interface_version, abi::kAcmInterfaceVersion);
}

TEST_F(DummyModule, DeniesAValueOutsideTheHookList) {
  const DomainRef a{1, 0, "a"};
  EXPECT_EQ(xsm_->share(static_cast<Hook>(kHookCount), a, a), -EACCES);
  EXPECT_EQ(xsm_->domain_control(static_cast<Hook>(200), a), -EACCES);
}

TEST_F(DummyModule, PolicyOperationsAreNotSupported) {
  const LiveState live;
  const std::vector<std::uint8_t> policy = testing::mytest().binary;
  for (const PolicyChange& c :
       {xsm_->set_policy(policy, live), xsm_->change_policy(policy, {}, {}, live),
        xsm_->relabel({}, live)}) {
    EXPECT_EQ(c.status, -ENOSYS);
    EXPECT_EQ(c.message, kNotSupported);
    EXPECT_TRUE(c.errors.empty());
  }
  std::vector<std::uint8_t> out;
  EXPECT_EQ(xsm_->get_policy(out), -ENOSYS);
  abi::AcmGetSsid ssid{};
  ssid.interface_version = abi::kAcmInterfaceVersion;
  EXPECT_EQ(xsm_->get_ssid(ssid, live), -ENOSYS);
  abi::AcmGetDecision decision{};
  decision.interface_version = abi::kAcmInterfaceVersion;
  EXPECT_EQ(xsm_->get_decision(decision, live), -ENOSYS);
}

TEST_F(DummyModule, HasTheNullPolicy) {
  EXPECT_EQ(xsm_->module_name(), "dummy");
  const PolicyInfo info = xsm_->policy_info();
  EXPECT_EQ(info.name, "NULL");
  EXPECT_EQ(info.primary, acm::PolicyCode::null);
  EXPECT_EQ(info.fingerprint, acm::Sha256Digest{});
  EXPECT_EQ(xsm_->domain0_ssidref(), acm::kBootstrapSsidref);
  EXPECT_EQ(xsm_->label_of(acm::kBootstrapSsidref), "");
  EXPECT_TRUE(xsm_->chinese_wall_counts().running_types.empty());
}

TEST(XsmCreate, RefusesAnUnknownModule) {
  AuditLog audit;
  XsmConfig config;
  config.module = "flask";
  auto created = Xsm::create(config, audit);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, acm::Errc::invalid_argument);
  EXPECT_EQ(created.error().message, "unknown XSM module 'flask' (acm or dummy)");
}

}  // namespace
}  // namespace shype::xsm
