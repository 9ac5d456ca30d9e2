// The ACM module: sHype's Chinese Wall + Simple Type Enforcement policy
// behind the XSM hooks (reference xen-acm-hypervisor.md 7-11).
//
// State: the active policy (bytes, engine, fingerprint), the Chinese Wall
// state of the running domains under it, every known domain's label and
// phase (indexed by domid), the decision cache and the statistics. Every
// change of that state is prepared aside and committed with noexcept moves,
// so a failure (a refused policy, std::bad_alloc) leaves it as it was.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "active_policy.hpp"
#include "hook_table.hpp"
#include "live_check.hpp"
#include "xsm/audit.hpp"
#include "xsm/decision_cache.hpp"
#include "xsm/xsm.hpp"

namespace shype::xsm {

inline constexpr HookTable kAcmHooks =
    make_hook_table(HookRule::deny, {
                                        {Hook::domain_create, HookRule::lifecycle},
                                        {Hook::domain_save, HookRule::lifecycle},
                                        {Hook::domain_restore, HookRule::lifecycle},
                                        {Hook::domain_relabel, HookRule::lifecycle},
                                        // ACM has no opinion on Domain-0 controlling a domain
                                        // or a domain's own console (Xen: dummy entries).
                                        {Hook::domain_destroy, HookRule::permit},
                                        {Hook::domain_pause, HookRule::permit},
                                        {Hook::domain_unpause, HookRule::permit},
                                        {Hook::domain_getinfo, HookRule::permit},
                                        {Hook::console_io, HookRule::permit},
                                        // Xen mediated only unbound/interdomain and grant
                                        // map; shype decides every sharing operation.
                                        {Hook::evtchn_unbound, HookRule::ste_event_channel},
                                        {Hook::evtchn_interdomain, HookRule::ste_event_channel},
                                        {Hook::evtchn_send, HookRule::ste_event_channel},
                                        {Hook::grant_setup, HookRule::ste_grant},
                                        {Hook::grant_map, HookRule::ste_grant},
                                        {Hook::grant_copy, HookRule::ste_grant},
                                        {Hook::grant_transfer, HookRule::ste_grant},
                                        {Hook::resource_access, HookRule::ste_resource},
                                        {Hook::frame_access, HookRule::ste_frame},
                                        {Hook::policy_op, HookRule::policy_op},
                                        {Hook::getdecision, HookRule::policy_op},
                                    });

class AcmModule final : public Xsm {
 public:
  AcmModule(std::unique_ptr<const ActivePolicy> policy, acm::Ssidref domain0,
            const XsmConfig& config, AuditLog& audit);

  std::string_view module_name() const noexcept override { return "acm"; }
  acm::Ssidref domain0_ssidref() const noexcept override { return domain0_ssidref_; }
  PolicyInfo policy_info() const override;
  std::string label_of(acm::Ssidref ssidref) const override;
  std::uint64_t policy_seqno() const noexcept override { return seqno_; }

  int domain_create(const DomainRef& created) noexcept override;
  void domain_create_failed(const DomainRef& created) noexcept override;
  void domain_destroyed(const DomainRef& domain) noexcept override;
  int domain_save(const DomainRef& domain) noexcept override;
  int domain_restore(const DomainRef& domain) noexcept override;
  int domain_control(Hook hook, const DomainRef& target) noexcept override;
  int share(Hook hook, const DomainRef& subject, const DomainRef& object) noexcept override;
  int resource_access(const DomainRef& domain, acm::Ssidref resource) noexcept override;
  int frame_access(const DomainRef& from, const DomainRef& to) noexcept override;

  PolicyChange set_policy(std::span<const std::uint8_t> binary,
                          const LiveState& live) noexcept override;
  PolicyChange change_policy(std::span<const std::uint8_t> binary,
                             std::span<const std::uint32_t> deleted,
                             std::span<const std::pair<std::uint32_t, std::uint32_t>> changed,
                             const LiveState& live) noexcept override;
  PolicyChange relabel(std::span<const abi::AcmRelabelEntry> entries,
                       const LiveState& live) noexcept override;
  int get_policy(std::vector<std::uint8_t>& out) const noexcept override;
  int get_ssid(abi::AcmGetSsid& request, const LiveState& live) const noexcept override;
  int get_decision(abi::AcmGetDecision& request, const LiveState& live) noexcept override;
  abi::AcmStats stats() const noexcept override;
  HookStats hook_stats(Hook hook) const noexcept override;
  ChineseWallCounts chinese_wall_counts() const override;

  // The boot policy's activation record (called once by make_acm_module).
  void audit_boot();

 private:
  // An audit party before it is turned into strings (allocation happens
  // only inside audit(), which never throws).
  struct Party {
    std::uint32_t domid = 0;
    acm::Ssidref ssidref = 0;
    std::string_view name;
  };
  [[nodiscard]] static Party party(const DomainRef& d) noexcept {
    return {d.domid, d.ssidref, d.name};
  }
  [[nodiscard]] Party domain0_party() const noexcept {
    return {acm::kDomain0Id, domain0_ssidref_, "Domain-0"};
  }

  // Writes one record; a failure (out of memory) is counted, never thrown.
  template <typename ReasonFn>
  void audit(Hook hook, const Party& subject, const Party& object, int status,
             ReasonFn&& reason) noexcept;
  // Counts the denial of `hook`, audits it, returns `status`.
  template <typename ReasonFn>
  int deny(Hook hook, const Party& subject, const Party& object, int status,
           ReasonFn&& reason) noexcept;

  [[nodiscard]] int admit(Hook hook, const DomainRef& domain, bool restore) noexcept;
  void release(const DomainRef& domain) noexcept;
  // The cold paths of share(), kept out of line.
  [[nodiscard, gnu::noinline, gnu::cold]] int deny_share(Hook hook, const DomainRef& subject,
                                                         const DomainRef& object) noexcept;
  [[gnu::noinline, gnu::cold]] void audit_share_permit(Hook hook, const DomainRef& subject,
                                                       const DomainRef& object,
                                                       bool cached) noexcept;
  [[nodiscard, gnu::noinline, gnu::cold]] int deny_wrong_entry(Hook hook, const char* entry,
                                                               const Party& subject,
                                                               const Party& object) noexcept;
  [[gnu::noinline]] void remember(const DomainRef& subject, const DomainRef& object,
                                  SharingKind kind) noexcept;

  [[nodiscard]] DomainRecord* record_of(std::uint32_t domid) noexcept {
    return domid < domains_.size() && domains_[domid].phase != DomainPhase::none ? &domains_[domid]
                                                                                 : nullptr;
  }
  // Every known domain with its current label (sorted by domid).
  [[nodiscard]] std::vector<CandidateDomain> candidates() const;

  // set_policy and change_policy (the load path, reference 11.2).
  [[nodiscard]] PolicyChange load_policy(
      std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
      std::span<const std::pair<std::uint32_t, std::uint32_t>> changed, const LiveState& live,
      bool update);
  [[nodiscard]] PolicyChange relabel_domains(std::span<const abi::AcmRelabelEntry> entries,
                                             const LiveState& live);
  // Records a refused policy operation and fills `change`.
  PolicyChange refuse(Hook hook, PolicyChange change, const std::string& what) noexcept;
  // Swaps in labels (and a policy) prepared and checked by the callers.
  void commit(std::unique_ptr<const ActivePolicy> policy, acm::ChineseWallState state,
              std::vector<DomainRecord> domains) noexcept;

  [[nodiscard]] int resolve(std::uint32_t get_by, std::uint32_t id, const LiveState& live,
                            acm::Ssidref& out) const noexcept;

  AuditLog& audit_;
  std::unique_ptr<const ActivePolicy> policy_;
  // Refers to policy_'s Chinese Wall index (heap-held by the engine, so it
  // stays put when the unique_ptr moves).
  acm::ChineseWallState chinese_wall_;
  std::vector<DomainRecord> domains_;  // indexed by domid, grown on demand
  acm::Ssidref domain0_ssidref_;
  std::uint64_t seqno_ = 1;
  DecisionCache cache_;
  bool cache_enabled_;
  bool audit_permits_;

  // Xen's STE counters, [0] event channels, [1] grants (reference 8.4).
  std::array<std::uint64_t, 2> eval_{};
  std::array<std::uint64_t, 2> denied_{};
  std::array<std::uint64_t, 2> cachehit_{};
  std::array<HookStats, kHookCount> hook_stats_{};
  std::uint64_t domain_create_denied_ = 0;
  std::uint64_t audit_records_ = 0;
  std::uint64_t audit_lost_ = 0;
};

}  // namespace shype::xsm

// Template members, here because both acm_module.cpp and
// acm_policy_ops.cpp use them.
namespace shype::xsm {

template <typename ReasonFn>
void AcmModule::audit(Hook hook, const Party& subject, const Party& object, int status,
                      ReasonFn&& reason) noexcept {
  try {
    AuditRecord r;
    r.hook = hook;
    r.subject = {subject.domid, subject.ssidref, std::string(subject.name),
                 policy_->label_name(subject.ssidref)};
    r.object = {object.domid, object.ssidref, std::string(object.name),
                policy_->label_name(object.ssidref)};
    r.permitted = status == 0;
    r.status = status;
    r.reason = std::forward<ReasonFn>(reason)();
    r.policy_name = policy_->image().name;
    r.policy_version = policy_->version_text();
    r.policy_fingerprint = policy_->fingerprint_hex();
    audit_.record(std::move(r));
    ++audit_records_;
  } catch (...) {
    // Out of memory (or a broken clock): the decision stands, the record is
    // lost and counted.
    ++audit_lost_;
  }
}

template <typename ReasonFn>
int AcmModule::deny(Hook hook, const Party& subject, const Party& object, int status,
                    ReasonFn&& reason) noexcept {
  const auto index = static_cast<std::size_t>(hook);
  if (index < kHookCount) ++hook_stats_[index].denied;
  audit(hook, subject, object, status, std::forward<ReasonFn>(reason));
  return status;
}

}  // namespace shype::xsm
