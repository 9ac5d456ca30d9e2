// The ACM module's policy operations: setpolicy and chgpolicy (the load
// path, reference 11.2-11.4) and relabeldoms (11.5). Each prepares the
// whole new state aside, re-checks it against the live system, and commits
// only if nothing stands in the way; the old state is untouched otherwise.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <new>
#include <utility>

#include "acm_module.hpp"

namespace shype::xsm {
namespace {

// Runs a policy operation; no exception leaves the hypervisor's event loop.
template <typename Fn>
PolicyChange guarded(Fn&& fn) noexcept {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::bad_alloc&) {
    PolicyChange change;
    change.status = -ENOMEM;
    return change;
  } catch (...) {
    // Only OpenSSL failing to hash can get here; refuse like any failure.
    PolicyChange change;
    change.status = -EFAULT;
    return change;
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) {
    if (!text.empty()) text += '\n';
    text += l;
  }
  return text;
}

std::string combination_name(const acm::PolicyImage& image) {
  return std::string(acm::policy_code_name(image.primary)) + " + " +
         acm::policy_code_name(image.secondary);
}

// old index -> new index, for one half of an ssidref.
std::uint32_t map_index(std::span<const std::pair<std::uint32_t, std::uint32_t>> changed,
                        std::uint32_t index) {
  for (const auto& [from, to] : changed) {
    if (from == index) return to;
  }
  return index;
}

}  // namespace

PolicyChange AcmModule::set_policy(std::span<const std::uint8_t> binary,
                                   const LiveState& live) noexcept {
  return guarded([&] { return load_policy(binary, {}, {}, live, false); });
}

PolicyChange AcmModule::change_policy(
    std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
    std::span<const std::pair<std::uint32_t, std::uint32_t>> changed,
    const LiveState& live) noexcept {
  return guarded([&] { return load_policy(binary, deleted, changed, live, true); });
}

PolicyChange AcmModule::relabel(std::span<const abi::AcmRelabelEntry> entries,
                                const LiveState& live) noexcept {
  return guarded([&] { return relabel_domains(entries, live); });
}

PolicyChange AcmModule::refuse(Hook hook, PolicyChange change, const std::string& what) noexcept {
  ++hook_stats_[static_cast<std::size_t>(hook)].denied;
  audit(hook, domain0_party(), Party{kAuditNoDomain, acm::kInvalidSsidref, "policy"}, change.status,
        [&] { return what + ": " + change.message; });
  change.relabeled.clear();
  return change;
}

void AcmModule::commit(std::unique_ptr<const ActivePolicy> policy, acm::ChineseWallState state,
                       std::vector<DomainRecord> domains) noexcept {
  // Every step is a pointer swap or a noexcept move: no hook can see half
  // of a change. The old policy is freed when `policy` goes out of scope,
  // after chinese_wall_ stopped referring to its index.
  if (policy) policy_.swap(policy);
  chinese_wall_ = std::move(state);
  domains_.swap(domains);
  if (const DomainRecord* d0 = record_of(acm::kDomain0Id)) domain0_ssidref_ = d0->ssidref;
  ++seqno_;
  cache_.flush(seqno_);
}

PolicyChange AcmModule::load_policy(
    std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
    std::span<const std::pair<std::uint32_t, std::uint32_t>> changed, const LiveState& live,
    bool update) {
  ++hook_stats_[static_cast<std::size_t>(Hook::policy_op)].calls;
  const std::string op = update ? "chgpolicy" : "setpolicy";
  PolicyChange out;

  // 1. The strict reader; its message is the answer.
  auto loaded = ActivePolicy::load(binary);
  if (!loaded) {
    out.status = -EFAULT;
    out.message = loaded.error().message;
    return refuse(Hook::policy_op, std::move(out), op + " refused a malformed policy");
  }
  const ActivePolicy& next = **loaded;
  const std::string candidate = "policy " + next.describe();

  // 2. The component combination.
  const acm::PolicyImage& ni = next.image();
  const acm::PolicyImage& ai = policy_->image();
  const bool standard = ni.primary == acm::PolicyCode::chinese_wall &&
                        ni.secondary == acm::PolicyCode::simple_type_enforcement;
  if (!standard && (ni.primary != ai.primary || ni.secondary != ai.secondary)) {
    out.status = -EFAULT;
    out.message = candidate + " combines " + combination_name(ni) +
                  "; at run time only CHINESE WALL + SIMPLE TYPE ENFORCEMENT or the active "
                  "combination (" +
                  combination_name(ai) + ") can be loaded";
    return refuse(Hook::policy_op, std::move(out), op + " refused " + candidate);
  }

  // 3. require_update, decided from the state alone (see xsm.hpp).
  if (!update && !policy_->default_shaped()) {
    const std::vector<CandidateDomain> known = candidates();
    const bool others = std::any_of(known.begin(), known.end(),
                                    [](const CandidateDomain& d) { return d.domid != 0; });
    if (others) {
      out.status = -EFAULT;
      out.message = "the active policy " + policy_->describe() +
                    " is not the DEFAULT policy and domains other than Domain-0 run: "
                    "update it with chgpolicy (a change map and a delete list)";
      return refuse(Hook::policy_op, std::move(out), op + " refused " + candidate);
    }
  }

  // A change map naming an old index twice has no meaning (Xen took the
  // first pair).
  {
    std::vector<std::uint32_t> from;
    for (const auto& pair : changed)
      from.push_back(pair.first);
    std::sort(from.begin(), from.end());
    if (auto dup = std::adjacent_find(from.begin(), from.end()); dup != from.end()) {
      out.status = -EINVAL;
      out.message = "the change map lists old label index " + std::to_string(*dup) + " twice";
      return refuse(Hook::policy_op, std::move(out), op + " refused " + candidate);
    }
  }

  CheckReport report;
  std::vector<CandidateDomain> domains = candidates();
  // 4. The delete list, against the labels domains hold now (11.2 step 5).
  for (std::uint32_t index : deleted) {
    for (const CandidateDomain& d : domains) {
      if (acm::primary_half(d.old_ssidref) != index && acm::secondary_half(d.old_ssidref) != index)
        continue;
      report.add(abi::kAcmSsidrefInUse, index,
                 "ACM_SSIDREF_IN_USE (0x104): " + describe_domain(d.domid, live) +
                     " holds label index " + std::to_string(index) + " ('" +
                     policy_->label_name(d.old_ssidref) + "'), which " + candidate + " deletes");
    }
  }
  //    The change map, each half on its own (11.4 wrote the low half into
  //    both; a VM label's halves are equal, so the tools' maps mean this).
  for (CandidateDomain& d : domains) {
    d.new_ssidref = acm::make_ssidref(map_index(changed, acm::primary_half(d.old_ssidref)),
                                      map_index(changed, acm::secondary_half(d.old_ssidref)));
  }

  // 5. The re-check under the new policy.
  auto state = check_live_state(next, domains, live, CheckOptions{}, report);
  if (!report.ok()) {
    out.status = -EFAULT;
    out.errors = report.tuples();
    out.message = report.message();
    return refuse(Hook::policy_op, std::move(out), op + " refused " + candidate);
  }
  assert(state.has_value());

  // 6. Prepare everything that allocates, then swap.
  std::vector<DomainRecord> records = domains_;
  std::vector<std::string> relabel_reasons;
  for (const CandidateDomain& d : domains) {
    records[d.domid].ssidref = d.new_ssidref;
    if (d.new_ssidref == d.old_ssidref) continue;
    out.relabeled.emplace_back(d.domid, d.new_ssidref);
    relabel_reasons.push_back(
        "relabeled by " + op + " from '" + policy_->label_name(d.old_ssidref) + "' (" +
        acm::hex32(d.old_ssidref) + ") to '" + next.label_name(d.new_ssidref) + "' (" +
        acm::hex32(d.new_ssidref) + ")");
  }
  std::string summary = op + " activated " + candidate + ", replacing " + policy_->describe() +
                        "; " + std::to_string(out.relabeled.size()) + " domain(s) relabeled";
  const std::string new_name = next.image().name;
  std::vector<std::pair<std::uint32_t, std::string>> names;
  for (const auto& [domid, ssidref] : out.relabeled) {
    const DomainRef* live_domain = nullptr;
    for (const DomainRef& d : live.domains) {
      if (d.domid == domid) live_domain = &d;
    }
    names.emplace_back(domid, live_domain ? std::string(live_domain->name) : std::string());
  }

  commit(std::move(*loaded), std::move(*state), std::move(records));

  audit(Hook::policy_op, domain0_party(), Party{kAuditNoDomain, acm::kInvalidSsidref, new_name}, 0,
        [&] { return std::move(summary); });
  for (std::size_t i = 0; i < out.relabeled.size(); ++i) {
    const auto& [domid, ssidref] = out.relabeled[i];
    audit(Hook::domain_relabel, domain0_party(), Party{domid, ssidref, names[i].second}, 0,
          [&] { return relabel_reasons[i]; });
  }
  return out;
}

PolicyChange AcmModule::relabel_domains(std::span<const abi::AcmRelabelEntry> entries,
                                        const LiveState& live) {
  ++hook_stats_[static_cast<std::size_t>(Hook::domain_relabel)].calls;
  PolicyChange out;
  auto audit_refusal = [&](PolicyChange change) {
    // One record per domain the caller wanted relabelled.
    for (const auto& e : entries) {
      audit(Hook::domain_relabel, domain0_party(), Party{e.domid, e.ssidref, {}}, change.status,
            [&] { return "relabeldoms refused: " + change.message; });
    }
    if (entries.empty()) return refuse(Hook::domain_relabel, std::move(change), "relabeldoms");
    ++hook_stats_[static_cast<std::size_t>(Hook::domain_relabel)].denied;
    change.relabeled.clear();
    return change;
  };

  // The arguments: each domain once, each ssidref a VM label (quirk 8).
  std::vector<std::string> bad;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (entries[j].domid == e.domid) {
        bad.push_back("domain " + std::to_string(e.domid) + " is listed twice");
        break;
      }
    }
    if (!policy_->is_vm_label(e.ssidref)) {
      bad.push_back("ssidref " + acm::hex32(e.ssidref) + " for " + describe_domain(e.domid, live) +
                    " is not a VM label of policy " + policy_->describe());
    }
  }
  if (!bad.empty()) {
    out.status = -EINVAL;
    out.message = join_lines(bad);
    return audit_refusal(std::move(out));
  }

  CheckReport report;
  std::vector<CandidateDomain> domains = candidates();
  for (const auto& e : entries) {
    auto it = std::find_if(domains.begin(), domains.end(),
                           [&](const CandidateDomain& d) { return d.domid == e.domid; });
    if (it == domains.end()) {
      report.add(abi::kAcmDomainLookup, e.domid,
                 "ACM_DOMAIN_LOOKUP (0x102): " + describe_domain(e.domid, live) +
                     " is not a domain the XSM layer admitted");
      continue;
    }
    it->new_ssidref = e.ssidref;
  }
  auto state = check_live_state(*policy_, domains, live, CheckOptions{true}, report);
  if (!report.ok()) {
    out.status = -EFAULT;
    out.errors = report.tuples();
    out.message = report.message();
    return audit_refusal(std::move(out));
  }
  assert(state.has_value());

  std::vector<DomainRecord> records = domains_;
  std::vector<std::string> reasons;
  std::vector<std::string> names;
  for (const CandidateDomain& d : domains) {
    if (d.new_ssidref == d.old_ssidref) continue;
    records[d.domid].ssidref = d.new_ssidref;
    out.relabeled.emplace_back(d.domid, d.new_ssidref);
    reasons.push_back("relabeled from '" + policy_->label_name(d.old_ssidref) + "' (" +
                      acm::hex32(d.old_ssidref) + ") to '" + policy_->label_name(d.new_ssidref) +
                      "' (" + acm::hex32(d.new_ssidref) + ")");
    std::string name;
    for (const DomainRef& l : live.domains) {
      if (l.domid == d.domid) name = l.name;
    }
    names.push_back(std::move(name));
  }
  if (out.relabeled.empty()) return out;  // nothing changes: keep the cache

  commit(nullptr, std::move(*state), std::move(records));
  for (std::size_t i = 0; i < out.relabeled.size(); ++i) {
    const auto& [domid, ssidref] = out.relabeled[i];
    audit(Hook::domain_relabel, domain0_party(), Party{domid, ssidref, names[i]}, 0,
          [&] { return reasons[i]; });
  }
  return out;
}

}  // namespace shype::xsm
