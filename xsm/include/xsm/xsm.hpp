// The XSM layer as the hypervisor sees it: one object that answers every
// hook (hooks.hpp) with the active module ("dummy" or "acm", chosen when
// the hypervisor starts), audits every denial, keeps statistics, and carries
// out the ACM operations of xsm_op.
//
// Hooks return 0 to permit or a negative errno: -EACCES when the policy
// denies (Xen returned ACM_ACCESS_DENIED, -111; shype uses the errno the
// rest of the ABI uses), -EINVAL for a label the policy does not know.
//
// Domain lifecycle hooks are transactions (reference xen-acm-hypervisor.md
// 7.1, STYLE.md rule 8): domain_create checks and commits the domain's
// Chinese Wall types; if the hypervisor then fails to start the domain it
// calls domain_create_failed to roll back; domain_destroyed and domain_save
// release them, domain_restore takes them again.
//
// Thread safety: none. The hypervisor calls the XSM layer from its single
// event loop, which makes every policy swap atomic with respect to hooks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acm/decision_engine.hpp"
#include "acm/error.hpp"
#include "acm/fingerprint.hpp"
#include "acm/ssidref.hpp"
#include "shype/abi.hpp"
#include "shype/xsm_op.hpp"
#include "xsm/hooks.hpp"

namespace shype::xsm {

class AuditLog;

// A domain as the hooks see it.
struct DomainRef {
  abi::domid_t domid = 0;
  acm::Ssidref ssidref = 0;
  std::string_view name;  // for audit records
};

// What the hypervisor shares with the XSM layer when the policy or a label
// changes: every live domain (Domain-0 included) and every live
// inter-domain channel (bound event channels, mapped grants).
struct LiveState {
  std::vector<DomainRef> domains;
  std::vector<acm::DomainSharing> sharings;
};

// The outcome of setpolicy, chgpolicy and relabeldoms.
struct PolicyChange {
  int status = 0;  // 0, or -errno (-EFAULT: refused, as Xen; -ENOSYS under dummy)
  std::vector<abi::AcmErrorTuple> errors;  // the re-check's error tuples
  std::string message;                     // why, readably (empty on success)
  // On success: every domain whose ssidref changes, with its new ssidref.
  // The hypervisor applies them at once (still inside the same event).
  std::vector<std::pair<abi::domid_t, acm::Ssidref>> relabeled;
};

// The active policy, as getssid and audit records name it.
struct PolicyInfo {
  std::string name;
  acm::PolicyVersion version;
  acm::PolicyCode primary = acm::PolicyCode::null;
  acm::PolicyCode secondary = acm::PolicyCode::null;
  acm::Sha256Digest fingerprint{};
};

struct XsmConfig {
  std::string module = "acm";  // "acm" or "dummy"
  // The boot policy (a binary in either format); empty: the built-in
  // DEFAULT policy.
  std::vector<std::uint8_t> boot_policy;
  // Domain-0's label; default: the bootstrap label (ssidref 0x00010001).
  std::optional<acm::Ssidref> domain0_ssidref;
};

class Xsm {
 public:
  // Fails if the module is unknown, the boot policy is malformed, or
  // Domain-0's ssidref is not a VM label of it.
  [[nodiscard]] static acm::Result<std::unique_ptr<Xsm>> create(const XsmConfig& config,
                                                               AuditLog& audit);
  virtual ~Xsm() = default;

  [[nodiscard]] virtual std::string_view module_name() const noexcept = 0;
  [[nodiscard]] virtual acm::Ssidref domain0_ssidref() const noexcept = 0;
  // The active policy (name "NULL" and an empty fingerprint under dummy).
  [[nodiscard]] virtual PolicyInfo policy_info() const = 0;
  // The VM label name of an ssidref ("" if unknown), for records and xm.
  [[nodiscard]] virtual std::string label_of(acm::Ssidref ssidref) const = 0;

  // Domain lifecycle.
  [[nodiscard]] virtual int domain_create(const DomainRef& created) = 0;
  virtual void domain_create_failed(const DomainRef& created) = 0;
  virtual void domain_destroyed(const DomainRef& domain) = 0;
  [[nodiscard]] virtual int domain_save(const DomainRef& domain) = 0;
  [[nodiscard]] virtual int domain_restore(const DomainRef& domain) = 0;
  // Domain-0 acting on a domain: domain_destroy, domain_pause,
  // domain_unpause, domain_getinfo.
  [[nodiscard]] virtual int domain_control(Hook hook, const DomainRef& target) = 0;

  // Sharing between two domains (STE): evtchn_unbound, evtchn_interdomain,
  // evtchn_send, grant_setup, grant_map, grant_copy, grant_transfer.
  [[nodiscard]] virtual int share(Hook hook, const DomainRef& subject, const DomainRef& object) = 0;
  // A backend acting for `domain` on a resource with label `resource`.
  [[nodiscard]] virtual int resource_access(const DomainRef& domain, acm::Ssidref resource) = 0;

  // xsm_op (the caller has checked that Domain-0 asks).
  [[nodiscard]] virtual PolicyChange set_policy(std::span<const std::uint8_t> binary,
                                                const LiveState& live) = 0;
  [[nodiscard]] virtual PolicyChange change_policy(
      std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
      std::span<const std::pair<std::uint32_t, std::uint32_t>> changed, const LiveState& live) = 0;
  [[nodiscard]] virtual PolicyChange relabel(std::span<const abi::AcmRelabelEntry> entries,
                                             const LiveState& live) = 0;
  // The active binary policy, exactly as loaded (-ENOSYS under dummy).
  [[nodiscard]] virtual int get_policy(std::vector<std::uint8_t>& out) const = 0;
  // Fills the OUT fields of `request`; -ESRCH for an unknown domain id.
  [[nodiscard]] virtual int get_ssid(abi::AcmGetSsid& request, const LiveState& live) const = 0;
  [[nodiscard]] virtual int get_decision(abi::AcmGetDecision& request, const LiveState& live) = 0;
  [[nodiscard]] virtual abi::AcmStats stats() const = 0;
};

}  // namespace shype::xsm
