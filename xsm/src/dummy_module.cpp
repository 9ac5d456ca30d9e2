// The dummy module (reference 12): every hook permits, nothing is recorded,
// policy operations are not supported. It is the baseline the ACM module is
// measured against, so its hooks do nothing but the hook-list check.
#include <cerrno>

#include "hook_table.hpp"
#include "modules.hpp"

namespace shype::xsm {
namespace {

constexpr HookTable kDummyHooks = make_hook_table(HookRule::permit, {});

constexpr const char* kNotSupported = "Command not supported under XSM 'dummy' module.";

class DummyModule final : public Xsm {
 public:
  explicit DummyModule(acm::Ssidref domain0) : domain0_(domain0) {}

  std::string_view module_name() const noexcept override { return "dummy"; }
  acm::Ssidref domain0_ssidref() const noexcept override { return domain0_; }
  PolicyInfo policy_info() const override {
    PolicyInfo info;
    info.name = "NULL";
    return info;
  }
  std::string label_of(acm::Ssidref) const override { return {}; }
  std::uint64_t policy_seqno() const noexcept override { return 0; }

  int domain_create(const DomainRef&) noexcept override { return 0; }
  void domain_create_failed(const DomainRef&) noexcept override {}
  void domain_destroyed(const DomainRef&) noexcept override {}
  int domain_save(const DomainRef&) noexcept override { return 0; }
  int domain_restore(const DomainRef&) noexcept override { return 0; }
  int domain_control(Hook hook, const DomainRef&) noexcept override { return decide(hook); }
  int share(Hook hook, const DomainRef&, const DomainRef&) noexcept override {
    return decide(hook);
  }
  int resource_access(const DomainRef&, acm::Ssidref) noexcept override { return 0; }
  int frame_access(const DomainRef&, const DomainRef&) noexcept override { return 0; }

  PolicyChange set_policy(std::span<const std::uint8_t>, const LiveState&) noexcept override {
    return not_supported();
  }
  PolicyChange change_policy(std::span<const std::uint8_t>, std::span<const std::uint32_t>,
                             std::span<const std::pair<std::uint32_t, std::uint32_t>>,
                             const LiveState&) noexcept override {
    return not_supported();
  }
  PolicyChange relabel(std::span<const abi::AcmRelabelEntry>, const LiveState&) noexcept override {
    return not_supported();
  }
  int get_policy(std::vector<std::uint8_t>&) const noexcept override { return -ENOSYS; }
  int get_ssid(abi::AcmGetSsid&, const LiveState&) const noexcept override { return -ENOSYS; }
  int get_decision(abi::AcmGetDecision&, const LiveState&) noexcept override { return -ENOSYS; }
  abi::AcmStats stats() const noexcept override {
    abi::AcmStats s{};
    s.interface_version = abi::kAcmInterfaceVersion;
    return s;
  }
  HookStats hook_stats(Hook) const noexcept override { return {}; }
  ChineseWallCounts chinese_wall_counts() const override { return {}; }

 private:
  // Even dummy denies a value outside the hook list.
  static int decide(Hook hook) noexcept {
    return rule_of(kDummyHooks, hook) == HookRule::permit ? 0 : -EACCES;
  }
  static PolicyChange not_supported() noexcept {
    PolicyChange change;
    change.status = -ENOSYS;
    try {
      change.message = kNotSupported;
    } catch (...) {
      // Out of memory for the message: the status says it all.
    }
    return change;
  }

  acm::Ssidref domain0_;
};

}  // namespace

std::unique_ptr<Xsm> make_dummy_module(const XsmConfig& config) {
  return std::make_unique<DummyModule>(config.domain0_ssidref.value_or(acm::kBootstrapSsidref));
}

}  // namespace shype::xsm
