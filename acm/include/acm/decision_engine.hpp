// The policy decisions the hypervisor and the tools ask for, on ssidrefs
// (reference xen-acm-hypervisor.md 8.2, 9.4, 10, 11.5; manual 10.2.6-10.2.7):
//   share            ACMHOOK_sharing: the STE halves have a common type
//                    (event channels, grant tables, two domains).
//   authorize        ACMHOOK_authorization: Domain-0's STE types include the
//                    VM's and they share a type ("VM is not authorized to run").
//   resource_access  a VM's label and a resource label share an STE type.
//   admissible       ACMHOOK_conflictset: the CHWALL half conflicts with no
//                    running type (through a ChineseWallState).
// The CHWALL half is the low 16 bits and the STE half the high 16 bits of an
// ssidref (ssidref.hpp), whatever the component order of the image: a
// domain's VM label i is (i << 16) | i, a resource label is (row << 16).
//
// The boolean forms are noexcept, allocate nothing and cost O(1) in the size
// of the policy (SteIndex, ChineseWallIndex). The explain_* forms return a
// Decision whose rule names labels and types (indexes when the image has no
// names), for audit records, xm and tests.
//
// Thread safety: a PolicyEngine is immutable after build; many threads may
// decide concurrently. ChineseWallState is the caller's to lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "acm/chinese_wall.hpp"
#include "acm/error.hpp"
#include "acm/policy_image.hpp"
#include "acm/ssidref.hpp"
#include "acm/ste.hpp"

namespace shype::acm {

// A decision and the rule that made it, e.g.
//   "permit: 'A-Bank' and 'SystemManagement' share STE type 'A-Bank'"
//   "deny: Chinese Wall type 'B-Bank' conflicts with running type 'A-Bank' (conflict set 'RER')"
// A denial with several reasons has one reason per line.
struct Decision {
  bool permitted = false;
  std::string rule;

  // The rule without its leading "permit: " / "deny: ", to quote it in
  // another message.
  [[nodiscard]] std::string reason() const;
};

inline constexpr std::uint32_t kDomain0Id = 0;

// A running (or paused) domain and its current label.
struct RunningDomain {
  std::uint32_t domid = 0;
  Ssidref ssidref = kUnlabeledSsidref;
};

enum class SharingKind : std::uint8_t { event_channel, grant };

// A live inter-domain channel: a bound interdomain event channel or a mapped
// grant between two domains.
struct DomainSharing {
  std::uint32_t domid = 0;
  std::uint32_t remote_domid = 0;
  SharingKind kind = SharingKind::event_channel;
};

// A resource a running domain uses (resource labels are STE rows).
struct ResourceUse {
  std::uint32_t domid = 0;
  Ssidref resource = kUnlabeledSsidref;
};

class PolicyEngine {
 public:
  // Validates the image's shape (row and name counts) and builds both indexes.
  [[nodiscard]] static Result<PolicyEngine> build(PolicyImage image);
  [[nodiscard]] static Result<PolicyEngine> build(PolicyImage image,
                                                  const SteIndex::Options& options);

  [[nodiscard]] bool share(Ssidref a, Ssidref b) const noexcept {
    return ste_.share(secondary_half(a), secondary_half(b));
  }
  [[nodiscard]] bool authorize(Ssidref dom0, Ssidref vm) const noexcept {
    const std::uint32_t d = secondary_half(dom0);
    const std::uint32_t v = secondary_half(vm);
    return ste_.dominates(d, v) && ste_.share(d, v);
  }
  [[nodiscard]] bool resource_access(Ssidref vm, Ssidref resource) const noexcept {
    return ste_.share(secondary_half(vm), secondary_half(resource));
  }
  // The state must have been made from this engine (new_chinese_wall_state).
  [[nodiscard]] bool admissible(const ChineseWallState& state, Ssidref domain) const noexcept {
    return state.admissible(primary_half(domain));
  }

  [[nodiscard]] Decision explain_share(Ssidref a, Ssidref b) const;
  [[nodiscard]] Decision explain_authorize(Ssidref dom0, Ssidref vm) const;
  [[nodiscard]] Decision explain_resource_access(Ssidref vm, Ssidref resource) const;
  [[nodiscard]] Decision explain_admission(const ChineseWallState& state, Ssidref domain) const;

  // An empty Chinese Wall state for this policy, and one recomputed for the
  // running domains (fails naming the first conflict, see ChineseWallState).
  [[nodiscard]] ChineseWallState new_chinese_wall_state() const {
    return ChineseWallState(*chwall_);
  }
  [[nodiscard]] Result<ChineseWallState> rebuild_chinese_wall(
      std::span<const RunningDomain> running) const;

  // Would relabelling running domain `domid` to `new_ssidref` leave the
  // system consistent (manual 10.2.7, reference 11.5 and tools 1.3)?
  //  - new_ssidref names a VM label of this policy (Xen did not check, quirk 8);
  //  - the Chinese Wall state of all running domains stays conflict-free;
  //  - every live sharing still has a common STE type (ACM_EVTCHN/GNTTAB
  //    sharing violations 0x100/0x101);
  //  - every resource the domain uses still shares a type with it;
  //  - Domain-0 (domid 0): its new label authorizes every other running
  //    domain ("the new label must at least include all STE types of those
  //    domains that are currently running");
  //  - another domain: Domain-0's label (if running) authorizes the new label.
  // `running` lists every running domain with its current ssidref, Domain-0
  // included. A denial lists every reason, one per line.
  [[nodiscard]] Decision check_relabel(std::uint32_t domid, Ssidref new_ssidref,
                                       std::span<const RunningDomain> running,
                                       std::span<const DomainSharing> sharings,
                                       std::span<const ResourceUse> resources = {}) const;
  [[nodiscard]] Decision check_domain0_relabel(Ssidref new_ssidref,
                                               std::span<const RunningDomain> running,
                                               std::span<const DomainSharing> sharings) const {
    return check_relabel(kDomain0Id, new_ssidref, running, sharings);
  }

  [[nodiscard]] const PolicyImage& image() const noexcept { return *image_; }
  [[nodiscard]] const SteIndex& ste() const noexcept { return ste_; }
  [[nodiscard]] const ChineseWallIndex& chinese_wall() const noexcept { return *chwall_; }

  // "'A-Bank'" / "resource 'A-Bank'" for an STE row; "STE row 7" without names.
  [[nodiscard]] std::string ste_row_name(std::uint32_t row) const;
  [[nodiscard]] std::string ste_type_name(std::uint32_t type) const;
  // The VM label of an ssidref (its STE half), for messages.
  [[nodiscard]] std::string label_name(Ssidref ssidref) const;

 private:
  PolicyEngine() = default;
  [[nodiscard]] std::optional<std::string> bad_vm_ssidref(Ssidref s) const;

  // Heap-held so that ChineseWallStates made by the engine stay valid when
  // the engine is moved.
  std::unique_ptr<const PolicyImage> image_;
  std::unique_ptr<const ChineseWallIndex> chwall_;
  SteIndex ste_;
};

}  // namespace shype::acm
