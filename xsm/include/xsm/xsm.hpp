// The XSM layer as the hypervisor sees it: one object that answers every
// hook (hooks.hpp) with the active module ("dummy" or "acm", chosen when
// the hypervisor starts), audits every denial, keeps statistics, and carries
// out the ACM operations of xsm_op.
//
// Hooks return 0 to permit or a negative errno: -EACCES when the policy
// denies (Xen returned ACM_ACCESS_DENIED, -111; shype uses the errno the
// rest of the ABI uses), -EINVAL for a label the policy does not know,
// -ENOMEM when the XSM layer ran out of memory deciding (a denial too). No
// exception leaves a hook: they run in the hypervisor's event loop.
//
// Each hook is looked up in the module's hook table (STYLE.md rule 4): a
// hook passed to an entry point that does not decide it (share() with
// Hook::domain_create, a value outside the list) is denied with -EACCES and
// audited, as FLASK denies an unknown permission.
//
// Domain lifecycle hooks are transactions (reference xen-acm-hypervisor.md
// 7.1, STYLE.md rule 8): domain_create checks and commits the domain's
// Chinese Wall types; if the hypervisor then fails to start the domain it
// calls domain_create_failed to roll back; domain_destroyed and domain_save
// release them, domain_restore takes them again. Per domain id the ACM
// module keeps the label it admitted the domain with:
//   create:  unknown -> running      (-EEXIST if the id is known)
//   save:    running -> saved        (types released; saved again: no-op)
//   restore: unknown/saved -> running (admitted again, with the ssidref given)
//   destroyed / create_failed: any -> unknown (types released if held)
// Domain-0 is created through domain_create like every domain (Xen 5.4),
// with domain0_ssidref(); the policy operations refuse to run while the
// hypervisor reports a live domain the XSM layer never admitted.
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
  // 0, or -errno: -EFAULT refused (as Xen: a malformed binary, another
  // component combination, the require_update rule, a failed re-check);
  // -EINVAL a relabel to an ssidref that names no VM label of the policy,
  // or a malformed change map; -ENOMEM; -ENOSYS under dummy.
  int status = 0;
  // The re-check's error tuples (Xen's codes, xsm_op.hpp), each once, at
  // most abi::kAcmMaxErrors. Some refusals have no Xen code and carry only
  // a message (e.g. Domain-0's new label not authorizing a running domain).
  std::vector<abi::AcmErrorTuple> errors;
  std::string message;  // why, readably, one reason per line (empty on success)
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

// Per-hook counters (besides Xen's STE counters in abi::AcmStats).
struct HookStats {
  std::uint64_t calls = 0;
  std::uint64_t denied = 0;
  std::uint64_t cache_hits = 0;  // sharing hooks only
};

// The live Chinese Wall counters of the active policy (what Xen's getpolicy
// dump carried): per CHWALL type, running domains holding it and the
// conflict aggregate (reference 9.1).
struct ChineseWallCounts {
  std::vector<std::uint32_t> running_types;
  std::vector<std::uint32_t> conflict_aggregate;
  friend bool operator==(const ChineseWallCounts&, const ChineseWallCounts&) = default;
};

struct XsmConfig {
  std::string module = "acm";  // "acm" or "dummy"
  // The boot policy (a binary in either format); empty: the built-in
  // DEFAULT policy. Ignored by dummy, as Xen's dummy ignored the module.
  std::vector<std::uint8_t> boot_policy;
  // Domain-0's label; default: the bootstrap label (ssidref 0x00010001).
  std::optional<acm::Ssidref> domain0_ssidref;
  // The decision cache of the sharing hooks (decision_cache.hpp). Off by
  // default: ACM's STE decision costs a few nanoseconds, a cache lookup as
  // much, so the cache made every measured pattern slower (xsm_bench, CPU
  // time per hook: one pair repeated, 100% hits, 6.4 ns against 5.0 ns
  // without; Domain-0's backends serving 63 guests, 58% hits, 16.1 ns
  // against 11.3 ns). It stays for modules whose decisions cost more. Off,
  // every sharing decision is evaluated (*_eval counts all, *_cachehit 0).
  bool decision_cache = false;
  // Audit permits of the hooks too, not only denials (costly: one record per
  // decision; for investigations).
  bool audit_permits = false;
};

// The built-in DEFAULT policy (policies/DEFAULT-security_policy.xml,
// compiled to the compact format when shype is built): the boot policy when
// XsmConfig::boot_policy is empty.
[[nodiscard]] std::span<const std::uint8_t> builtin_default_policy() noexcept;

class Xsm {
 public:
  // Fails if the module is unknown, the boot policy is malformed, or
  // Domain-0's ssidref is not a VM label of it. `audit` must outlive the
  // Xsm. The ACM module records the activation of the boot policy.
  [[nodiscard]] static acm::Result<std::unique_ptr<Xsm>> create(const XsmConfig& config,
                                                                AuditLog& audit);
  virtual ~Xsm() = default;

  [[nodiscard]] virtual std::string_view module_name() const noexcept = 0;
  // Domain-0's current label (relabel and chgpolicy may change it).
  [[nodiscard]] virtual acm::Ssidref domain0_ssidref() const noexcept = 0;
  // The active policy (name "NULL" and an empty fingerprint under dummy).
  [[nodiscard]] virtual PolicyInfo policy_info() const = 0;
  // The label name of an ssidref ("" if unknown or the policy has no
  // names): a VM label for (i << 16) | i, a resource label for a resource
  // ssidref (row << 16), for records and xm.
  [[nodiscard]] virtual std::string label_of(acm::Ssidref ssidref) const = 0;
  // Incremented by every policy change and relabel: the tag of the decision
  // cache, and a cheap "did the security state change" for callers.
  [[nodiscard]] virtual std::uint64_t policy_seqno() const noexcept = 0;

  // Domain lifecycle. domain_create: -EINVAL if the ssidref names no VM
  // label of the active policy, -EACCES on a Chinese Wall conflict, -EEXIST
  // if the domain id is already known. Xen's authorization check ("VM is
  // not authorized to run": Domain-0's STE types include the VM's) is the
  // toolstack's, asked through get_decision(AcmHook::authorization), as in
  // Xen; domain_create does not apply it.
  [[nodiscard]] virtual int domain_create(const DomainRef& created) noexcept = 0;
  virtual void domain_create_failed(const DomainRef& created) noexcept = 0;
  virtual void domain_destroyed(const DomainRef& domain) noexcept = 0;
  // -ESRCH for a domain the XSM layer does not know.
  [[nodiscard]] virtual int domain_save(const DomainRef& domain) noexcept = 0;
  // As domain_create, for a domain coming back (its ssidref as saved).
  [[nodiscard]] virtual int domain_restore(const DomainRef& domain) noexcept = 0;
  // Domain-0 acting on a domain: domain_destroy, domain_pause,
  // domain_unpause, domain_getinfo, and a domain's console_io. ACM has no
  // opinion and permits, through its hook table.
  [[nodiscard]] virtual int domain_control(Hook hook, const DomainRef& target) noexcept = 0;

  // Sharing between two domains (STE): evtchn_unbound, evtchn_interdomain,
  // evtchn_send, grant_setup, grant_map, grant_copy, grant_transfer. The
  // ssidrefs are the domains' current labels as the hypervisor holds them.
  [[nodiscard]] virtual int share(Hook hook, const DomainRef& subject,
                                  const DomainRef& object) noexcept = 0;
  // A backend acting for `domain` on a resource with label `resource`.
  [[nodiscard]] virtual int resource_access(const DomainRef& domain,
                                            acm::Ssidref resource) noexcept = 0;
  // A bridge (Domain-0's or a driver domain's) passing a network frame from
  // `from` to `to`: the STE sharing decision of the two labels (a type in
  // common), as ACMHOOK_sharing decides it; a refusal is audited. Not
  // cached: the caller asks per frame, so a relabel or a new policy counts
  // from the next frame on.
  [[nodiscard]] virtual int frame_access(const DomainRef& from, const DomainRef& to) noexcept = 0;

  // xsm_op (the caller has checked that Domain-0 asks).
  //
  // set_policy and change_policy (reference 11.2-11.4, done right):
  //  1. the binary is read strictly (refusal: -EFAULT, the reader's message);
  //  2. its combination must be CHINESE WALL + STE, or the active one;
  //  3. require_update rule (Xen's quirk 4 fixed): set_policy replaces the
  //     active policy only if that policy has the DEFAULT shape (reference
  //     5.5: one CHWALL type, two VM labels without CHWALL types, STE rows
  //     {__UNLABELED__} and {SystemManagement, __UNLABELED__}) or if no
  //     domain but Domain-0 is known; otherwise running domains need the
  //     change map and delete list of change_policy. Nothing is remembered
  //     between calls (Xen's flag stayed set after a failed load);
  //  4. change_policy: a deleted label index still held by a domain (either
  //     half) is ACM_SSIDREF_IN_USE; then every domain is relabelled by the
  //     change map, each half of its ssidref mapped on its own (old index ->
  //     new index; Xen mapped the low half and wrote it into both);
  //  5. re-check under the new policy, every error collected: each domain's
  //     label exists (ACM_SSIDREF_IN_USE, the index), no Chinese Wall
  //     conflict among running domains (ACM_CHWALL_CONFLICT, the type),
  //     every live sharing keeps a common STE type (ACM_EVTCHN/GNTTAB_
  //     SHARING_VIOLATION, (domid << 16) | remote), every live domain and
  //     every domain of a sharing is one the XSM layer admitted with the
  //     ssidref the hypervisor reports (ACM_DOMAIN_LOOKUP, the domid);
  //  6. only then the swap: policy, Chinese Wall state rebuilt for the
  //     running domains, new labels, seqno + 1, decision cache flushed.
  // On any failure the old policy stays fully active.
  [[nodiscard]] virtual PolicyChange set_policy(std::span<const std::uint8_t> binary,
                                                const LiveState& live) noexcept = 0;
  [[nodiscard]] virtual PolicyChange change_policy(
      std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
      std::span<const std::pair<std::uint32_t, std::uint32_t>> changed,
      const LiveState& live) noexcept = 0;
  // relabeldoms (reference 11.5, manual 10.2.7): the listed domains get new
  // ssidrefs, all or nothing. Each must be a VM label of the active policy
  // (-EINVAL; Xen did not check, quirk 8); the Chinese Wall state and the
  // live sharings are re-checked as in step 5, and so is authorization as
  // the manual requires it: Domain-0's new label must authorize every
  // running domain, another domain's new label must be authorized by
  // Domain-0's. Success flushes the decision cache (Xen did not, quirk 9).
  [[nodiscard]] virtual PolicyChange relabel(std::span<const abi::AcmRelabelEntry> entries,
                                             const LiveState& live) noexcept = 0;
  // The active binary policy, exactly as loaded (-ENOSYS under dummy).
  [[nodiscard]] virtual int get_policy(std::vector<std::uint8_t>& out) const noexcept = 0;
  // Fills the OUT fields of `request` (by ssidref, or by domid through
  // `live`): -ESRCH for an unknown domain id or get_by, -EINVAL for an
  // ssidref that names no label, -EACCES for another interface version.
  [[nodiscard]] virtual int get_ssid(abi::AcmGetSsid& request,
                                     const LiveState& live) const noexcept = 0;
  // ACMHOOK_sharing (common STE type), ACMHOOK_authorization (id1's STE
  // types include id2's, and they share one), ACMHOOK_conflictset (id1's
  // label is admissible with the domains running now; Xen misindexed it,
  // quirk 6); another hook value is denied. Returns 0 with
  // decision = kAcmAccessPermitted or kAcmAccessDenied, or -ESRCH / -EACCES
  // as get_ssid.
  [[nodiscard]] virtual int get_decision(abi::AcmGetDecision& request,
                                         const LiveState& live) noexcept = 0;
  [[nodiscard]] virtual abi::AcmStats stats() const noexcept = 0;
  [[nodiscard]] virtual HookStats hook_stats(Hook hook) const noexcept = 0;
  // Empty under dummy.
  [[nodiscard]] virtual ChineseWallCounts chinese_wall_counts() const = 0;
};

}  // namespace shype::xsm
