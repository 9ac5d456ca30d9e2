#include "acm/policy_change.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_set>

namespace shype::acm {
namespace {

bool is_unlabeled(std::string_view label) {
  return label.empty() || label == kUnlabeled;
}

std::string policy_id(const PolicyModel& m) {
  return "'" + m.header.name + "' " + m.header.version.to_string();
}

// Label names of one kind (VM or resource) in the old and the new policy,
// and the renames the update declares for that kind.
class LabelMap {
 public:
  LabelMap(const std::vector<Label>& old_labels, const std::vector<Label>& new_labels) {
    for (const auto& l : old_labels)
      old_names_.insert(l.name);
    for (const auto& l : new_labels)
      new_names_.insert(l.name);
    for (const auto& l : new_labels) {
      if (l.from) renames_.emplace(*l.from, l.name);
    }
  }

  [[nodiscard]] bool in_old(const std::string& name) const { return old_names_.count(name) > 0; }
  [[nodiscard]] bool in_new(const std::string& name) const { return new_names_.count(name) > 0; }
  [[nodiscard]] const std::map<std::string, std::string>& renames() const { return renames_; }

  // The new name of an old label, or nullopt if the update deletes it.
  [[nodiscard]] std::optional<std::string> map(const std::string& old_name,
                                               bool follow_renames) const {
    if (follow_renames) {
      if (auto it = renames_.find(old_name); it != renames_.end()) return it->second;
    }
    if (in_new(old_name)) return old_name;
    return std::nullopt;
  }

 private:
  std::set<std::string> old_names_;
  std::set<std::string> new_names_;
  std::map<std::string, std::string> renames_;  // from -> new name
};

class Planner {
 public:
  Planner(const ActivePolicy& active, const PolicyModel& update, const SystemSnapshot& system,
          ChangeMode mode, std::span<const std::uint8_t> xml)
      : active_(active), update_(update), system_(system), mode_(mode), xml_(xml) {}

  PolicyChangeOutcome run() {
    if (mode_ == ChangeMode::reset_to_default) add_domain0_rename();
    check_version();
    LabelMap vm(active_.model.vm_labels, update_.vm_labels);
    LabelMap res(active_.model.resource_labels, update_.resource_labels);
    check_renames(vm, "VM label");
    check_renames(res, "resource label");

    auto compiled = compile_policy(update_, xml_);
    if (!compiled) {
      // One reason per line: the compiler's findings are joined with "; ".
      std::string findings;
      for (char c : compiled.error().message) {
        if (c == '\n') {
          findings += "; ";
        } else {
          findings += c;
        }
      }
      reason(ChangeReasonCode::policy_inconsistent, 0,
             "policy " + policy_id(update_) + " does not compile: " + findings);
    }
    PolicyChangePlan plan;
    map_labels(vm, res, plan);
    map_domains(vm, plan);
    map_resource_entries(res, plan);
    if (compiled) {
      plan.compiled = std::move(*compiled);
      compute_hints(vm, plan);
      assign_ssidrefs(plan);
      check_under_new_policy(res, plan);
    }

    PolicyChangeOutcome out;
    out.reasons = std::move(reasons_);
    if (out.reasons.empty()) out.plan = std::move(plan);
    return out;
  }

 private:
  void reason(ChangeReasonCode code, std::uint32_t parameter, std::string text) {
    reasons_.push_back(ChangeReason{code, parameter, std::move(text)});
  }

  const RunningDomainLabel* domain0() const {
    for (const auto& d : system_.running) {
      if (d.domid == kDomain0Id) return &d;
    }
    return nullptr;
  }

  // Tools 5.8: the DEFAULT policy with from="<Domain-0's label>" on its
  // bootstrap label, so that Domain-0 is renamed into SystemManagement.
  void add_domain0_rename() {
    const RunningDomainLabel* d0 = domain0();
    const std::string dom0_label = d0 ? d0->label : active_.model.bootstrap.name;
    for (auto& l : update_.vm_labels) {
      if (l.name == update_.bootstrap.name) l.from = dom0_label;
    }
  }

  void check_version() {
    const PolicyHeader& old_h = active_.model.header;
    const PolicyHeader& new_h = update_.header;
    if (old_h.name == kDefaultPolicyName || new_h.name == kDefaultPolicyName) return;
    const auto code = ChangeReasonCode::version_prevents_update;
    if (!new_h.from_policy) {
      reason(code, 0,
             "policy " + policy_id(update_) +
                 " has no FromPolicy, so it cannot update the active policy " +
                 policy_id(active_.model));
      return;
    }
    const FromPolicy& from = *new_h.from_policy;
    if (from.name != old_h.name || from.version != old_h.version) {
      reason(code, 0,
             "policy " + policy_id(update_) + " updates '" + from.name + "' " +
                 from.version.to_string() + ", but the active policy is " +
                 policy_id(active_.model));
    }
    if (!(old_h.version < new_h.version)) {
      reason(code, 0,
             "the new version " + new_h.version.to_string() +
                 " is not greater than the active version " + old_h.version.to_string());
    }
  }

  void check_renames(const LabelMap& map, const char* kind) {
    for (const auto& [from, to] : map.renames()) {
      std::string text = kind;
      text.append(" '").append(to).append("' is renamed from '").append(from);
      if (!map.in_old(from)) {
        text += "', which is not a ";
        text += kind;
        text += " of the active policy " + policy_id(active_.model);
      } else if (from != to && map.in_new(from)) {
        text += "', but the update also keeps a ";
        text += kind;
        text += " named '" + from + "'";
      } else {
        continue;
      }
      reason(ChangeReasonCode::bad_label, 0, std::move(text));
    }
  }

  void map_labels(const LabelMap& vm, const LabelMap& res, PolicyChangePlan& plan) const {
    const bool renames = mode_ == ChangeMode::update;
    for (const auto& l : active_.model.vm_labels) {
      // In a reset only Domain-0's label follows its rename.
      plan.vm_labels.push_back({l.name, vm.map(l.name, renames || is_domain0_label(l.name))});
    }
    for (const auto& l : active_.model.resource_labels) {
      plan.resource_labels.push_back({l.name, res.map(l.name, renames)});
    }
  }

  bool is_domain0_label(const std::string& label) const {
    const RunningDomainLabel* d0 = domain0();
    return d0 && d0->label == label;
  }

  void map_domains(const LabelMap& vm, PolicyChangePlan& plan) {
    const bool new_has_unlabeled = update_.find_vm_label(kUnlabeled) != nullptr;
    for (const auto& d : system_.running) {
      DomainRelabel r;
      r.domid = d.domid;
      r.name = d.name;
      r.old_label = is_unlabeled(d.label) ? std::string(kUnlabeled) : d.label;
      const std::string who =
          "running domain '" + d.name + "' (domid " + std::to_string(d.domid) + ")";
      if (r.old_label == kUnlabeled) {
        if (new_has_unlabeled) {
          r.new_label = std::string(kUnlabeled);
        } else {
          reason(ChangeReasonCode::ssidref_in_use, 0,
                 who + " is unlabeled, but policy " + policy_id(update_) +
                     " has no VM label __UNLABELED__, so unlabeled domains cannot run");
        }
        plan.domains.push_back(std::move(r));
        continue;
      }
      const auto old_ssidref = active_.numbering.vm_label_ssidref(r.old_label);
      if (!vm.in_old(r.old_label) || !old_ssidref) {
        reason(ChangeReasonCode::bad_label, 0,
               who + " has label '" + r.old_label +
                   "', which is not a VM label of the active policy " + policy_id(active_.model));
        plan.domains.push_back(std::move(r));
        continue;
      }
      r.old_ssidref = *old_ssidref;
      const bool follow = mode_ == ChangeMode::update || d.domid == kDomain0Id;
      if (auto name = vm.map(r.old_label, follow)) {
        r.new_label = *name;
      } else {
        reason(ChangeReasonCode::ssidref_in_use, primary_half(r.old_ssidref),
               who + " has label '" + r.old_label + "' (ssidref " + hex32(r.old_ssidref) +
                   "), which policy " + policy_id(update_) + " deletes");
      }
      plan.domains.push_back(std::move(r));
    }
  }

  void map_resource_entries(const LabelMap& res, PolicyChangePlan& plan) const {
    const bool renames = mode_ == ChangeMode::update;
    for (const auto& e : system_.resource_labels) {
      ResourceRelabel r;
      r.resource = e.resource;
      r.old_label = is_unlabeled(e.label) ? std::string(kUnlabeled) : e.label;
      if (r.old_label == kUnlabeled) {
        r.new_label = r.old_label;
      } else if (!res.in_old(r.old_label)) {
        r.invalidated = true;
        r.reason = "'" + r.old_label + "' is not a resource label of the active policy " +
                   policy_id(active_.model);
      } else if (auto name = res.map(r.old_label, renames)) {
        r.new_label = *name;
      } else {
        r.invalidated = true;
        r.reason = "policy " + policy_id(update_) + " has no resource label '" + r.old_label + "'";
      }
      plan.resources.push_back(std::move(r));
    }
  }

  // Tools 5.7 step 2, over the two sorted VM-name lists.
  void compute_hints(const LabelMap& vm, PolicyChangePlan& plan) const {
    const LabelNumbering& old_n = active_.numbering;
    const LabelNumbering& new_n = plan.compiled.numbering;
    for (std::uint32_t i = 1; i < old_n.vm_labels.size(); ++i) {
      const std::string& name = old_n.vm_labels[i];
      if (auto j = new_n.vm_label_index(name)) {
        if (*j != i) plan.change_array.emplace_back(i, *j);
        continue;
      }
      const auto renamed = vm.renames().find(name);
      const auto j =
          renamed == vm.renames().end() ? std::nullopt : new_n.vm_label_index(renamed->second);
      if (j) {
        plan.change_array.emplace_back(i, *j);
      } else {
        plan.delete_array.push_back(i);
      }
    }
  }

  void assign_ssidrefs(PolicyChangePlan& plan) const {
    const LabelNumbering& n = plan.compiled.numbering;
    for (auto& d : plan.domains) {
      if (d.new_label.empty()) continue;
      if (auto s = n.vm_label_ssidref(d.new_label)) d.new_ssidref = *s;
    }
  }

  const DomainRelabel* planned(const PolicyChangePlan& plan, std::uint32_t domid) const {
    for (const auto& d : plan.domains) {
      if (d.domid == domid) return d.new_label.empty() ? nullptr : &d;
    }
    return nullptr;
  }

  bool is_running(std::uint32_t domid) const {
    return std::any_of(system_.running.begin(), system_.running.end(),
                       [&](const RunningDomainLabel& d) { return d.domid == domid; });
  }

  static std::string who(const DomainRelabel& d) {
    return "domain '" + d.name + "' (domid " + std::to_string(d.domid) + ", label '" + d.new_label +
           "')";
  }

  void check_under_new_policy(const LabelMap& res, const PolicyChangePlan& plan) {
    auto engine = PolicyEngine::build(plan.compiled.image);
    if (!engine) {
      reason(ChangeReasonCode::policy_inconsistent, 0, engine.error().message);
      return;
    }
    const PolicyEngine& e = *engine;

    // Chinese Wall among the running domains (hypervisor 11.2 step 7).
    ChineseWallState state = e.new_chinese_wall_state();
    for (const auto& d : plan.domains) {
      if (d.new_label.empty() || state.try_start(primary_half(d.new_ssidref))) continue;
      const AdmissionExplanation why = state.explain_admission(primary_half(d.new_ssidref));
      reason(ChangeReasonCode::chwall_conflict, why.blocked_type.value_or(0),
             "running " + who(d) + ": " + e.explain_admission(state, d.new_ssidref).reason());
    }

    // Live sharing (hypervisor 8.5).
    for (const auto& s : system_.sharings) {
      for (std::uint32_t id : {s.domid, s.remote_domid}) {
        if (!is_running(id)) {
          reason(ChangeReasonCode::domain_lookup, id,
                 "domain " + std::to_string(id) + " of a live " +
                     (s.kind == SharingKind::event_channel ? "event channel" : "grant mapping") +
                     " is not running");
        }
      }
      const DomainRelabel* a = planned(plan, s.domid);
      const DomainRelabel* b = planned(plan, s.remote_domid);
      if (!a || !b || e.share(a->new_ssidref, b->new_ssidref)) continue;
      const bool evtchn = s.kind == SharingKind::event_channel;
      reason(evtchn ? ChangeReasonCode::evtchn_sharing_violation
                    : ChangeReasonCode::gnttab_sharing_violation,
             ((s.domid & 0xffffu) << 16) | (s.remote_domid & 0xffffu),
             who(*a) + " and " + who(*b) + " have a live " +
                 (evtchn ? "event channel" : "grant mapping") +
                 " but no common STE type under policy " + policy_id(update_));
    }

    // Resources in use (tools 5.7 step 4): the domain's new label must share
    // an STE type with the resource's new label.
    const LabelNumbering& n = plan.compiled.numbering;
    const bool renames = mode_ == ChangeMode::update;
    for (const auto& r : system_.resources_in_use) {
      const DomainRelabel* d = planned(plan, r.domid);
      if (!d) continue;  // not running, or its label is already reported
      const std::string label = is_unlabeled(r.label) ? std::string(kUnlabeled) : r.label;
      std::optional<Ssidref> resource;
      std::string why_not;
      if (label == kUnlabeled) {
        resource = kUnlabeledSsidref;
      } else if (!res.in_old(label)) {
        reason(ChangeReasonCode::bad_label, 0,
               "resource '" + r.resource + "' has label '" + label +
                   "', which is not a resource label of the active policy " +
                   policy_id(active_.model));
        continue;
      } else if (auto name = res.map(label, renames)) {
        resource = n.resource_label_ssidref(*name);
      } else {
        why_not = "its label '" + label + "' is deleted";
      }
      if (resource && e.resource_access(d->new_ssidref, *resource)) continue;
      if (why_not.empty()) {
        why_not = e.explain_resource_access(d->new_ssidref, *resource).reason();
      }
      reason(ChangeReasonCode::resource_access, 0,
             "running " + who(*d) + " could no longer access resource '" + r.resource +
                 "': " + why_not);
    }

    // Beyond Xen: Domain-0's new label must still authorize every running domain.
    const DomainRelabel* dom0 = planned(plan, kDomain0Id);
    if (!dom0) return;
    for (const auto& d : plan.domains) {
      if (d.domid == kDomain0Id || d.new_label.empty() ||
          e.authorize(dom0->new_ssidref, d.new_ssidref)) {
        continue;
      }
      reason(ChangeReasonCode::vm_not_authorized, 0,
             "VM is not authorized to run: running " + who(d) + ": " +
                 e.explain_authorize(dom0->new_ssidref, d.new_ssidref).reason());
    }
  }

  const ActivePolicy& active_;
  PolicyModel update_;  // a copy: a reset adds Domain-0's rename
  const SystemSnapshot& system_;
  ChangeMode mode_;
  std::span<const std::uint8_t> xml_;
  std::vector<ChangeReason> reasons_;
};

}  // namespace

const char* change_reason_name(ChangeReasonCode code) noexcept {
  switch (code) {
    case ChangeReasonCode::evtchn_sharing_violation:
      return "ACM_EVTCHN_SHARING_VIOLATION";
    case ChangeReasonCode::gnttab_sharing_violation:
      return "ACM_GNTTAB_SHARING_VIOLATION";
    case ChangeReasonCode::domain_lookup:
      return "ACM_DOMAIN_LOOKUP";
    case ChangeReasonCode::chwall_conflict:
      return "ACM_CHWALL_CONFLICT";
    case ChangeReasonCode::ssidref_in_use:
      return "ACM_SSIDREF_IN_USE";
    case ChangeReasonCode::policy_inconsistent:
      return "XSERR_POLICY_INCONSISTENT";
    case ChangeReasonCode::version_prevents_update:
      return "XSERR_VERSION_PREVENTS_UPDATE";
    case ChangeReasonCode::bad_label:
      return "XSERR_BAD_LABEL";
    case ChangeReasonCode::resource_access:
      return "XSERR_RESOURCE_ACCESS";
    case ChangeReasonCode::vm_not_authorized:
      return "XSERR_VM_NOT_AUTHORIZED";
  }
  return "UNKNOWN";
}

std::string ChangeReason::to_string() const {
  char code_text[16];
  std::snprintf(code_text, sizeof code_text, "0x%x", static_cast<unsigned>(code));
  std::string out = std::string(change_reason_name(code)) + " (" + code_text + "): ";
  if (code == ChangeReasonCode::version_prevents_update) {
    out += "The version of the policy prevents an update: ";
  }
  return out + text;
}

PolicyChangeOutcome evaluate_policy_change(const ActivePolicy& active, const PolicyModel& update,
                                           const SystemSnapshot& system, ChangeMode mode,
                                           std::span<const std::uint8_t> update_xml) {
  return Planner(active, update, system, mode, update_xml).run();
}

Result<PolicyChangePlan> plan_policy_change(const ActivePolicy& active, const PolicyModel& update,
                                            const SystemSnapshot& system, ChangeMode mode,
                                            std::span<const std::uint8_t> update_xml) {
  std::unordered_set<std::uint32_t> domids;
  for (const auto& d : system.running) {
    if (!domids.insert(d.domid).second) {
      return make_error(Errc::invalid_argument,
                        "two running domains have domid " + std::to_string(d.domid));
    }
  }
  PolicyChangeOutcome outcome = evaluate_policy_change(active, update, system, mode, update_xml);
  if (outcome.plan) return std::move(*outcome.plan);
  std::string message;
  for (const auto& r : outcome.reasons) {
    if (!message.empty()) message += '\n';
    message += r.to_string();
  }
  return make_error(Errc::update_rejected, std::move(message));
}

}  // namespace shype::acm
