// Planning a run-time policy change (manual 10.3.5; reference
// xen-acm-tools.md 5.4-5.8, xen-acm-hypervisor.md 11.2-11.4): decides,
// before anything is changed, whether an update policy may replace the
// active one while domains run, and if so what happens to every running
// domain, labeled resource and label. Nothing here changes state: xend
// applies the plan (prepare / commit / roll back, STYLE.md rule 8) and the
// hypervisor re-checks it.
//
// Rules:
//  - Version (tools 5.4): unless the active or the new policy is DEFAULT,
//    the update's FromPolicy must name the active policy and its version,
//    and the new version must be greater. Versions compare as numbers
//    (major, minor); Xen's tools compared the FromPolicy version as a string,
//    so "1.00" did not match "1.0" - here it does.
//  - Renames (5.5): a label's `from` must name a label of the active policy
//    (XSERR_BAD_LABEL). A `from` naming an old label that the update also
//    defines under that same name is ambiguous and rejected too (Xen let the
//    hypervisor arrays and the tool relabelling disagree in that case).
//  - Hints (5.7 step 2), exactly as Xen's tools: for every old VM label
//    absent from the new policy, (old index, new index) in the change array
//    if it was renamed, else the old index in the delete array; for every
//    label in both whose index moved, (old, new). Index 0 (unlabeled) is
//    never listed.
//  - Every running domain keeps a label: renamed or same name; a deleted
//    label in use is ACM_SSIDREF_IN_USE (0x104), as the hypervisor reports.
//    An unlabeled domain needs the new policy to define __UNLABELED__
//    (Xen let it run on with an empty row; the manual says such an update
//    must be rejected).
//  - Under the new policy: no Chinese Wall conflict among running domains
//    (0x103, parameter = CHWALL type index); every live event channel or
//    grant keeps a common STE type (0x100 / 0x101, parameter = domid << 16 |
//    remote); every resource in use stays accessible (XSERR_RESOURCE_ACCESS);
//    and, beyond Xen, Domain-0's new label still authorizes every running
//    domain (XSERR_VM_NOT_AUTHORIZED) - "if any running user domain would -
//    under the new policy - not be allowed to run ... the update is rejected".
//  - Reset to DEFAULT (5.8, ChangeMode::reset_to_default): the update's
//    bootstrap label gets `from` = Domain-0's current label, only Domain-0 is
//    renamed, so every other running labeled domain makes the reset fail
//    unless its label exists in DEFAULT by name; resource labels that DEFAULT
//    lacks are invalidated.
// Every reason is reported, not only the first.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "acm/error.hpp"
#include "acm/numbering.hpp"
#include "acm/policy_model.hpp"
#include "acm/ssidref.hpp"

namespace shype::acm {

// Reason codes: Xen's hypervisor error-tuple codes (reference 4.5) and xend's
// XSERR codes (0x1000 + n, tools 5.9) where they exist.
enum class ChangeReasonCode : std::uint32_t {
  evtchn_sharing_violation = 0x100,  // ACM_EVTCHN_SHARING_VIOLATION
  gnttab_sharing_violation = 0x101,  // ACM_GNTTAB_SHARING_VIOLATION
  domain_lookup = 0x102,             // ACM_DOMAIN_LOOKUP
  chwall_conflict = 0x103,           // ACM_CHWALL_CONFLICT
  ssidref_in_use = 0x104,            // ACM_SSIDREF_IN_USE
  policy_inconsistent = 0x1004,      // XSERR_POLICY_INCONSISTENT
  version_prevents_update = 0x1013,  // XSERR_VERSION_PREVENTS_UPDATE
  bad_label = 0x1014,                // XSERR_BAD_LABEL
  resource_access = 0x1017,          // XSERR_RESOURCE_ACCESS
  vm_not_authorized = 0x101a,        // XSERR_VM_NOT_AUTHORIZED
};
// "ACM_SSIDREF_IN_USE", "XSERR_VERSION_PREVENTS_UPDATE", ...
[[nodiscard]] const char* change_reason_name(ChangeReasonCode code) noexcept;

struct ChangeReason {
  ChangeReasonCode code = ChangeReasonCode::policy_inconsistent;
  std::uint32_t parameter = 0;  // as in Xen's error tuples; 0 where Xen has none
  std::string text;
  // "ACM_SSIDREF_IN_USE (0x104): running domain 'domain4' (domid 3) ..."
  [[nodiscard]] std::string to_string() const;
};

// What the system looks like now. Label names are those of the active
// policy; "" or __UNLABELED__ means unlabeled.
struct RunningDomainLabel {
  std::uint32_t domid = 0;
  std::string name;
  std::string label;
};
struct ResourceInUse {
  std::string resource;  // e.g. "file:/home/xen/dom_fc5/fedora.fc5.img"
  std::string label;     // "" = unlabeled
  std::uint32_t domid = 0;
};
struct ResourceLabelEntry {
  std::string resource;
  std::string label;
};
struct SystemSnapshot {
  std::span<const RunningDomainLabel> running;  // include Domain-0 (domid 0)
  std::span<const ResourceInUse> resources_in_use;
  std::span<const ResourceLabelEntry> resource_labels;  // the active policy's entries
  std::span<const DomainSharing> sharings;
};

struct ActivePolicy {
  const PolicyModel& model;
  const LabelNumbering& numbering;  // as compiled from `model`
};

enum class ChangeMode { update, reset_to_default };

struct DomainRelabel {
  std::uint32_t domid = 0;
  std::string name;
  std::string old_label;
  std::string new_label;
  Ssidref old_ssidref = kUnlabeledSsidref;
  Ssidref new_ssidref = kUnlabeledSsidref;
};

struct ResourceRelabel {
  std::string resource;
  std::string old_label;
  bool invalidated = false;  // true: the entry becomes INV_ACM:<old policy>:<old label>
  std::string new_label;     // when not invalidated
  std::string reason;        // why it was invalidated
};

// Fate of one label of the active policy: its new name, or nullopt if the
// update deletes it (dormant domains carrying it become INV_ACM).
struct LabelMapping {
  std::string old_name;
  std::optional<std::string> new_name;
  friend bool operator==(const LabelMapping&, const LabelMapping&) = default;
};

struct PolicyChangePlan {
  CompiledPolicy compiled;  // the new policy
  // Xen's chgpolicy hints: (old VM label index, new index) and deleted indexes.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> change_array;
  std::vector<std::uint32_t> delete_array;
  std::vector<DomainRelabel> domains;         // one per running domain, input order
  std::vector<ResourceRelabel> resources;     // one per resource label entry, input order
  std::vector<LabelMapping> vm_labels;        // every VM label of the active policy
  std::vector<LabelMapping> resource_labels;  // every resource label of the active policy
};

struct PolicyChangeOutcome {
  std::optional<PolicyChangePlan> plan;  // set iff reasons is empty
  std::vector<ChangeReason> reasons;
};

// Evaluates the change and collects every reason against it. The domids of
// system.running must be unique (plan_policy_change checks). Without a
// domid 0 entry the Domain-0 authorization rule is not checked.
[[nodiscard]] PolicyChangeOutcome evaluate_policy_change(
    const ActivePolicy& active, const PolicyModel& update, const SystemSnapshot& system,
    ChangeMode mode = ChangeMode::update, std::span<const std::uint8_t> update_xml = {});

// The same as a Result: the plan, or update_rejected whose message has one
// ChangeReason::to_string() per line. invalid_argument for malformed input
// (two running domains with one domid).
[[nodiscard]] Result<PolicyChangePlan> plan_policy_change(
    const ActivePolicy& active, const PolicyModel& update, const SystemSnapshot& system,
    ChangeMode mode = ChangeMode::update, std::span<const std::uint8_t> update_xml = {});

}  // namespace shype::acm
