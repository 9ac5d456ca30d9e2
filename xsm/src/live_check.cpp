#include "live_check.hpp"

#include <algorithm>
#include <utility>

namespace shype::xsm {
namespace {

const CandidateDomain* find_candidate(std::span<const CandidateDomain> domains,
                                      std::uint32_t domid) {
  auto it =
      std::lower_bound(domains.begin(), domains.end(), domid,
                       [](const CandidateDomain& d, std::uint32_t id) { return d.domid < id; });
  return it != domains.end() && it->domid == domid ? &*it : nullptr;
}

// "domain 3 ('domU1', 'A-Bank')", the label as `policy` names it.
std::string describe_labeled(const CandidateDomain& d, const ActivePolicy& policy,
                             const LiveState& live) {
  std::string text = describe_domain(d.domid, live);
  const std::string label = policy.label_name(d.new_ssidref);
  text += label.empty() ? " (ssidref " + acm::hex32(d.new_ssidref) + ")" : " ('" + label + "')";
  return text;
}

void check_live_domains(std::span<const CandidateDomain> domains, const LiveState& live,
                        CheckReport& report) {
  for (const DomainRef& d : live.domains) {
    const CandidateDomain* c = find_candidate(domains, d.domid);
    if (c == nullptr) {
      report.add(abi::kAcmDomainLookup, d.domid,
                 "ACM_DOMAIN_LOOKUP (0x102): the hypervisor runs " +
                     describe_domain(d.domid, live) + ", which the XSM layer never admitted");
    } else if (c->old_ssidref != d.ssidref) {
      report.add(abi::kAcmDomainLookup, d.domid,
                 "ACM_DOMAIN_LOOKUP (0x102): the hypervisor reports ssidref " +
                     acm::hex32(d.ssidref) + " for " + describe_domain(d.domid, live) +
                     ", which the XSM layer admitted with " + acm::hex32(c->old_ssidref));
    }
  }
}

void check_labels_exist(const ActivePolicy& policy, std::span<const CandidateDomain> domains,
                        const LiveState& live, CheckReport& report) {
  for (const CandidateDomain& d : domains) {
    if (policy.is_vm_label(d.new_ssidref)) continue;
    report.add(abi::kAcmSsidrefInUse, acm::primary_half(d.new_ssidref),
               "ACM_SSIDREF_IN_USE (0x104): " + describe_domain(d.domid, live) +
                   " would have ssidref " + acm::hex32(d.new_ssidref) +
                   ", which names no VM label of policy " + policy.describe());
  }
}

std::optional<acm::ChineseWallState> check_chinese_wall(const ActivePolicy& policy,
                                                        std::span<const CandidateDomain> domains,
                                                        const LiveState& live,
                                                        CheckReport& report) {
  const acm::PolicyEngine& engine = policy.engine();
  acm::ChineseWallState state = engine.new_chinese_wall_state();
  bool conflict = false;
  for (const CandidateDomain& d : domains) {
    if (d.phase != DomainPhase::running || !policy.is_vm_label(d.new_ssidref)) continue;
    if (state.try_start(acm::primary_half(d.new_ssidref))) continue;
    conflict = true;
    const acm::AdmissionExplanation why = state.explain_admission(acm::primary_half(d.new_ssidref));
    report.add(abi::kAcmChwallConflict, why.blocked_type.value_or(0),
               "ACM_CHWALL_CONFLICT (0x103): " + describe_labeled(d, policy, live) + ": " +
                   engine.explain_admission(state, d.new_ssidref).reason());
  }
  if (conflict) return std::nullopt;
  return state;
}

void check_sharings(const ActivePolicy& policy, std::span<const CandidateDomain> domains,
                    const LiveState& live, CheckReport& report) {
  const acm::PolicyEngine& engine = policy.engine();
  for (const acm::DomainSharing& s : live.sharings) {
    const bool evtchn = s.kind == acm::SharingKind::event_channel;
    const char* what = evtchn ? "event channel" : "grant mapping";
    const CandidateDomain* a = find_candidate(domains, s.domid);
    const CandidateDomain* b = find_candidate(domains, s.remote_domid);
    for (auto [candidate, domid] : {std::pair{a, s.domid}, std::pair{b, s.remote_domid}}) {
      if (candidate != nullptr) continue;
      report.add(abi::kAcmDomainLookup, domid,
                 std::string("ACM_DOMAIN_LOOKUP (0x102): ") + describe_domain(domid, live) +
                     " of a live " + what + " is not a domain the XSM layer admitted");
    }
    if (a == nullptr || b == nullptr) continue;
    // A label that does not exist is reported once, by check_labels_exist.
    if (!policy.is_vm_label(a->new_ssidref) || !policy.is_vm_label(b->new_ssidref)) continue;
    if (engine.share(a->new_ssidref, b->new_ssidref)) continue;
    const std::uint32_t data = ((s.domid & 0xffffu) << 16) | (s.remote_domid & 0xffffu);
    report.add(evtchn ? abi::kAcmEvtchnSharingViolation : abi::kAcmGnttabSharingViolation, data,
               std::string(evtchn ? "ACM_EVTCHN_SHARING_VIOLATION (0x100) "
                                  : "ACM_GNTTAB_SHARING_VIOLATION (0x101) ") +
                   acm::hex32(data) + ": " + describe_labeled(*a, policy, live) + " and " +
                   describe_labeled(*b, policy, live) + " have a live " + what +
                   " but no common STE type under policy " + policy.describe());
  }
}

void check_authorization(const ActivePolicy& policy, std::span<const CandidateDomain> domains,
                         const LiveState& live, CheckReport& report) {
  const acm::PolicyEngine& engine = policy.engine();
  const CandidateDomain* dom0 = find_candidate(domains, acm::kDomain0Id);
  if (dom0 == nullptr || !policy.is_vm_label(dom0->new_ssidref)) return;
  const bool dom0_relabeled = dom0->new_ssidref != dom0->old_ssidref;
  for (const CandidateDomain& d : domains) {
    if (d.domid == acm::kDomain0Id || d.phase != DomainPhase::running ||
        !policy.is_vm_label(d.new_ssidref)) {
      continue;
    }
    // Domain-0 relabelled: its label must include every running domain's
    // types; otherwise only relabelled domains are checked against it.
    if (!dom0_relabeled && d.new_ssidref == d.old_ssidref) continue;
    if (engine.authorize(dom0->new_ssidref, d.new_ssidref)) continue;
    report.add_reason("VM is not authorized to run: Domain-0's label '" +
                      policy.label_name(dom0->new_ssidref) + "' does not authorize " +
                      describe_labeled(d, policy, live) + ": " +
                      engine.explain_authorize(dom0->new_ssidref, d.new_ssidref).reason());
  }
}

}  // namespace

void CheckReport::add(std::int32_t code, std::uint32_t data, std::string reason) {
  // Tuple data is a u32 on the wire; Xen's struct declares it signed.
  const auto value = static_cast<std::int32_t>(data);
  const bool seen = std::any_of(tuples_.begin(), tuples_.end(), [&](const abi::AcmErrorTuple& t) {
    return t.code == code && t.data == value;
  });
  if (!seen && tuples_.size() < abi::kAcmMaxErrors) tuples_.push_back({code, value});
  add_reason(std::move(reason));
}

void CheckReport::add_reason(std::string reason) {
  ++findings_;
  if (reasons_.size() < kMaxReasonLines) reasons_.push_back(std::move(reason));
}

std::string CheckReport::message() const {
  std::string text;
  for (const auto& r : reasons_) {
    if (!text.empty()) text += '\n';
    text += r;
  }
  if (findings_ > reasons_.size()) {
    text += "\n... and " + std::to_string(findings_ - reasons_.size()) + " more";
  }
  return text;
}

std::string describe_domain(std::uint32_t domid, const LiveState& live) {
  std::string text = "domain " + std::to_string(domid);
  for (const DomainRef& d : live.domains) {
    if (d.domid == domid && !d.name.empty()) {
      text += " '";
      text += d.name;
      text += "'";
      break;
    }
  }
  return text;
}

std::optional<acm::ChineseWallState> check_live_state(const ActivePolicy& policy,
                                                      std::span<const CandidateDomain> domains,
                                                      const LiveState& live,
                                                      const CheckOptions& options,
                                                      CheckReport& report) {
  check_live_domains(domains, live, report);
  check_labels_exist(policy, domains, live, report);
  auto state = check_chinese_wall(policy, domains, live, report);
  check_sharings(policy, domains, live, report);
  if (options.authorization) check_authorization(policy, domains, live, report);
  return state;
}

}  // namespace shype::xsm
