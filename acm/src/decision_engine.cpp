#include "acm/decision_engine.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

namespace shype::acm {
namespace {

std::string hex_code(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", value);
  return text;
}

constexpr std::string_view kPermit = "permit: ";
constexpr std::string_view kDeny = "deny: ";

Decision permit(const std::string& rule) {
  return Decision{true, std::string(kPermit) + rule};
}
Decision deny(const std::string& rule) {
  return Decision{false, std::string(kDeny) + rule};
}

Decision deny_all(const std::vector<std::string>& reasons) {
  Decision d;
  for (const auto& r : reasons) {
    if (!d.rule.empty()) d.rule += '\n';
    d.rule += kDeny;
    d.rule += r;
  }
  return d;
}

const RunningDomain* find_domain(std::span<const RunningDomain> running, std::uint32_t domid) {
  auto it = std::find_if(running.begin(), running.end(),
                         [&](const RunningDomain& d) { return d.domid == domid; });
  return it == running.end() ? nullptr : &*it;
}

Status check_names(const PolicyImage& image) {
  if (!image.names) return {};
  const PolicyNames& n = *image.names;
  const bool consistent =
      n.vm_labels.size() == image.vm_label_count &&
      n.vm_labels.size() + n.resource_labels.size() == image.ste_labels.rows() &&
      n.ste_types.size() == image.ste_type_count &&
      (!image.has_chwall() || (n.chwall_types.size() == image.chwall_type_count &&
                               n.conflict_sets.size() == image.conflict_sets.rows()));
  if (consistent) return {};
  return make_error(Errc::invalid_argument,
                    "the names of policy '" + image.name +
                        "' do not match its label, type or conflict set counts");
}

}  // namespace

std::string Decision::reason() const {
  const std::string_view prefix = permitted ? kPermit : kDeny;
  return rule.compare(0, prefix.size(), prefix) == 0 ? rule.substr(prefix.size()) : rule;
}

Result<PolicyEngine> PolicyEngine::build(PolicyImage image) {
  return build(std::move(image), SteIndex::Options{});
}

Result<PolicyEngine> PolicyEngine::build(PolicyImage image, const SteIndex::Options& options) {
  if (image.vm_label_count > image.ste_labels.rows()) {
    return make_error(Errc::invalid_argument,
                      "policy '" + image.name + "' has " + std::to_string(image.vm_label_count) +
                          " VM labels but only " + std::to_string(image.ste_labels.rows()) +
                          " STE rows");
  }
  if (image.has_chwall() && image.chwall_labels.rows() != image.vm_label_count) {
    return make_error(Errc::invalid_argument,
                      "policy '" + image.name + "' has " +
                          std::to_string(image.chwall_labels.rows()) + " Chinese Wall rows for " +
                          std::to_string(image.vm_label_count) + " VM labels");
  }
  if (auto s = check_names(image); !s) return tl::unexpected(s.error());
  auto ste = SteIndex::build(image, options);
  if (!ste) return tl::unexpected(ste.error());
  auto chwall = ChineseWallIndex::build(image);
  if (!chwall) return tl::unexpected(chwall.error());

  PolicyEngine engine;
  engine.ste_ = std::move(*ste);
  engine.chwall_ = std::make_unique<const ChineseWallIndex>(std::move(*chwall));
  engine.image_ = std::make_unique<const PolicyImage>(std::move(image));
  return engine;
}

std::string PolicyEngine::ste_row_name(std::uint32_t row) const {
  const PolicyImage& img = *image_;
  if (img.names && row < img.ste_labels.rows()) {
    if (row < img.vm_label_count) return "'" + img.names->vm_labels[row] + "'";
    return "resource '" + img.names->resource_labels[row - img.vm_label_count] + "'";
  }
  return "STE row " + std::to_string(row);
}

std::string PolicyEngine::ste_type_name(std::uint32_t type) const {
  if (image_->names && type < image_->names->ste_types.size()) {
    return "'" + image_->names->ste_types[type] + "'";
  }
  return std::to_string(type);
}

std::string PolicyEngine::label_name(Ssidref ssidref) const {
  return ste_row_name(secondary_half(ssidref));
}

Decision PolicyEngine::explain_share(Ssidref a, Ssidref b) const {
  const std::uint32_t ra = secondary_half(a);
  const std::uint32_t rb = secondary_half(b);
  for (Ssidref s : {a, b}) {
    if (secondary_half(s) >= ste_.rows()) {
      return deny("ssidref " + hex32(s) + " names no STE label of policy '" + image_->name + "'");
    }
  }
  if (auto t = ste_.common_type(ra, rb)) {
    return permit(ste_row_name(ra) + " and " + ste_row_name(rb) + " share STE type " +
                  ste_type_name(*t));
  }
  return deny(ste_row_name(ra) + " and " + ste_row_name(rb) + " have no common STE type");
}

Decision PolicyEngine::explain_resource_access(Ssidref vm, Ssidref resource) const {
  return explain_share(vm, resource);
}

Decision PolicyEngine::explain_authorize(Ssidref dom0, Ssidref vm) const {
  const std::uint32_t d = secondary_half(dom0);
  const std::uint32_t v = secondary_half(vm);
  for (Ssidref s : {dom0, vm}) {
    if (secondary_half(s) >= ste_.rows()) {
      return deny("ssidref " + hex32(s) + " names no STE label of policy '" + image_->name + "'");
    }
  }
  if (auto missing = ste_.first_missing_type(d, v)) {
    return deny(ste_row_name(d) + " does not authorize " + ste_row_name(v) + ": STE type " +
                ste_type_name(*missing) + " of " + ste_row_name(v) + " is not in " +
                ste_row_name(d));
  }
  auto common = ste_.common_type(d, v);
  if (!common) {
    return deny(ste_row_name(v) + " has no STE type, so no label authorizes it to run");
  }
  return permit(ste_row_name(d) + " authorizes " + ste_row_name(v) + ": every STE type of " +
                ste_row_name(v) + " is one of its own (shared type " + ste_type_name(*common) +
                ")");
}

Decision PolicyEngine::explain_admission(const ChineseWallState& state, Ssidref domain) const {
  const std::uint32_t label = primary_half(domain);
  const AdmissionExplanation why = state.explain_admission(label);
  const ChineseWallIndex& cw = state.index();
  if (why.label_out_of_range) {
    return deny("ssidref " + hex32(domain) + " names no Chinese Wall label of policy '" +
                image_->name + "'");
  }
  if (why.admissible) {
    return permit("no Chinese Wall type of label " + cw.label_name(label) +
                  " conflicts with a running type");
  }
  std::string rule =
      "Chinese Wall type " + cw.type_name(*why.blocked_type) + " conflicts with running type";
  if (why.running_types.size() > 1) rule += "s";
  for (std::size_t i = 0; i < why.running_types.size(); ++i) {
    rule += i == 0 ? " " : ", ";
    rule += cw.type_name(why.running_types[i]);
  }
  if (why.conflict_set) rule += " (conflict set " + cw.conflict_set_name(*why.conflict_set) + ")";
  return deny(rule);
}

Result<ChineseWallState> PolicyEngine::rebuild_chinese_wall(
    std::span<const RunningDomain> running) const {
  std::vector<std::uint32_t> labels;
  labels.reserve(running.size());
  for (const auto& d : running)
    labels.push_back(primary_half(d.ssidref));
  return ChineseWallState::rebuild(*chwall_, labels);
}

std::optional<std::string> PolicyEngine::bad_vm_ssidref(Ssidref s) const {
  if (secondary_half(s) >= image_->vm_label_count || primary_half(s) >= chwall_->labels()) {
    return "ssidref " + hex32(s) + " is not a VM label of policy '" + image_->name + "'";
  }
  return std::nullopt;
}

Decision PolicyEngine::check_relabel(std::uint32_t domid, Ssidref new_ssidref,
                                     std::span<const RunningDomain> running,
                                     std::span<const DomainSharing> sharings,
                                     std::span<const ResourceUse> resources) const {
  std::vector<std::string> reasons;
  const RunningDomain* target = find_domain(running, domid);
  if (!target) reasons.push_back("domain " + std::to_string(domid) + " is not running");
  if (auto bad = bad_vm_ssidref(new_ssidref)) reasons.push_back(*bad);
  if (!reasons.empty()) return deny_all(reasons);

  const std::string new_name = label_name(new_ssidref);
  auto describe = [&](const RunningDomain& d) {
    return "domain " + std::to_string(d.domid) + " (" + label_name(d.ssidref) + ")";
  };
  std::vector<RunningDomain> after(running.begin(), running.end());
  for (auto& d : after) {
    if (d.domid == domid) d.ssidref = new_ssidref;
  }

  // Chinese Wall: the running set must stay conflict-free (11.5 step 2).
  // Unlike Xen's init_state this goes on after a conflict so that every
  // conflicting domain is named.
  ChineseWallState state(*chwall_);
  for (const auto& d : after) {
    if (auto bad = bad_vm_ssidref(d.ssidref)) {
      reasons.push_back("running " + describe(d) + ": " + *bad);
      continue;
    }
    if (state.try_start(primary_half(d.ssidref))) continue;
    const Decision why = explain_admission(state, d.ssidref);
    reasons.push_back("ACM_CHWALL_CONFLICT (0x103): " + describe(d) + ": " + why.reason());
  }

  // Every live event channel and grant mapping must keep a common STE type.
  for (const auto& s : sharings) {
    const RunningDomain* a = find_domain(after, s.domid);
    const RunningDomain* b = find_domain(after, s.remote_domid);
    if (!a || !b) {
      reasons.push_back("ACM_DOMAIN_LOOKUP (0x102): domain " +
                        std::to_string(a ? s.remote_domid : s.domid) +
                        " of a live sharing is not running");
      continue;
    }
    if (share(a->ssidref, b->ssidref)) continue;
    const bool evtchn = s.kind == SharingKind::event_channel;
    reasons.push_back(std::string(evtchn ? "ACM_EVTCHN_SHARING_VIOLATION (0x100)"
                                         : "ACM_GNTTAB_SHARING_VIOLATION (0x101)") +
                      " " + hex32(((s.domid & 0xffffu) << 16) | (s.remote_domid & 0xffffu)) + ": " +
                      describe(*a) + " and " + describe(*b) + " have a live " +
                      (evtchn ? "event channel" : "grant mapping") + " but no common STE type");
  }

  for (const auto& r : resources) {
    if (r.domid != domid || resource_access(new_ssidref, r.resource)) continue;
    reasons.push_back("XSERR_RESOURCE_ACCESS (" + hex_code(0x1017) + "): " + new_name +
                      " cannot access " + ste_row_name(secondary_half(r.resource)) +
                      " that domain " + std::to_string(domid) + " uses");
  }

  if (domid == kDomain0Id) {
    for (const auto& d : after) {
      if (d.domid == kDomain0Id || authorize(new_ssidref, d.ssidref)) continue;
      reasons.push_back("Domain-0's new label " + new_name + " does not authorize running " +
                        describe(d) + ": " + explain_authorize(new_ssidref, d.ssidref).reason());
    }
  } else if (const RunningDomain* dom0 = find_domain(after, kDomain0Id)) {
    if (!authorize(dom0->ssidref, new_ssidref)) {
      reasons.push_back("Domain-0's label does not authorize " + new_name + ": " +
                        explain_authorize(dom0->ssidref, new_ssidref).reason());
    }
  }

  if (!reasons.empty()) return deny_all(reasons);
  return permit("relabelling domain " + std::to_string(domid) + " to " + new_name +
                " keeps the running system consistent");
}

}  // namespace shype::acm
