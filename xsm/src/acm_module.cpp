// The ACM module's hooks, lifecycle and queries (the policy operations are
// in acm_policy_ops.cpp).
#include "acm_module.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "modules.hpp"

namespace shype::xsm {
namespace {

// share() indexes Xen's counters by kind: [0] event channels, [1] grants.
static_assert(static_cast<int>(SharingKind::event_channel) == 0 &&
              static_cast<int>(SharingKind::grant) == 1);

constexpr std::size_t index_of(Hook hook) noexcept {
  return static_cast<std::size_t>(hook);
}

// Copies `text` into a fixed ABI field, truncated, always NUL-terminated.
template <std::size_t N>
void copy_text(char (&field)[N], const std::string& text) noexcept {
  const std::size_t n = std::min(text.size(), N - 1);
  std::memcpy(field, text.data(), n);
  std::memset(field + n, 0, N - n);
}

}  // namespace

acm::Result<std::unique_ptr<Xsm>> make_acm_module(const XsmConfig& config, AuditLog& audit) {
  const std::span<const std::uint8_t> boot =
      config.boot_policy.empty() ? builtin_default_policy()
                                 : std::span<const std::uint8_t>(config.boot_policy);
  auto policy = ActivePolicy::load(boot);
  if (!policy) {
    return acm::make_error(policy.error().code, "boot policy: " + policy.error().message);
  }
  const acm::Ssidref domain0 = config.domain0_ssidref.value_or(acm::kBootstrapSsidref);
  if (!(*policy)->is_vm_label(domain0)) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "Domain-0's ssidref " + acm::hex32(domain0) +
                               " is not a VM label of the boot policy " + (*policy)->describe());
  }
  auto module = std::make_unique<AcmModule>(std::move(*policy), domain0, config, audit);
  module->audit_boot();
  return std::unique_ptr<Xsm>(std::move(module));
}

AcmModule::AcmModule(std::unique_ptr<const ActivePolicy> policy, acm::Ssidref domain0,
                     const XsmConfig& config, AuditLog& audit)
    : audit_(audit),
      policy_(std::move(policy)),
      chinese_wall_(policy_->engine().new_chinese_wall_state()),
      domain0_ssidref_(domain0),
      cache_(seqno_),
      cache_enabled_(config.decision_cache),
      audit_permits_(config.audit_permits) {}

void AcmModule::audit_boot() {
  audit(Hook::policy_op, domain0_party(),
        Party{kAuditNoDomain, acm::kInvalidSsidref, policy_->image().name}, 0, [&] {
          return "boot policy " + policy_->describe() + " activated (" +
                 acm::binary_format_name(policy_->format()) + " format, " +
                 std::to_string(policy_->binary().size()) + " bytes); Domain-0's label is '" +
                 policy_->label_name(domain0_ssidref_) + "'";
        });
}

PolicyInfo AcmModule::policy_info() const {
  const acm::PolicyImage& image = policy_->image();
  return PolicyInfo{image.name, image.xml_version, image.primary, image.secondary,
                    policy_->fingerprint()};
}

std::string AcmModule::label_of(acm::Ssidref ssidref) const {
  return policy_->label_name(ssidref);
}

// --- Domain lifecycle -------------------------------------------------------

int AcmModule::admit(Hook hook, const DomainRef& d, bool restore) noexcept {
  ++hook_stats_[index_of(hook)].calls;
  const Party subject = domain0_party();
  const bool create = hook == Hook::domain_create;
  if (!policy_->is_vm_label(d.ssidref)) {
    if (create) ++domain_create_denied_;
    return deny(hook, subject, party(d), -EINVAL, [&] {
      return "ssidref " + acm::hex32(d.ssidref) + " is not a VM label of policy " +
             policy_->describe();
    });
  }
  if (const DomainRecord* known = record_of(d.domid);
      known != nullptr && (known->phase == DomainPhase::running || !restore)) {
    if (create) ++domain_create_denied_;
    return deny(hook, subject, party(d), -EEXIST, [&] {
      return "domain " + std::to_string(d.domid) + " is already " +
             (known->phase == DomainPhase::running ? "running" : "saved") +
             " (the hypervisor must report its destruction first)";
    });
  }
  if (d.domid >= domains_.size()) {
    try {
      domains_.resize(std::size_t{d.domid} + 1);
    } catch (...) {
      return deny(hook, subject, party(d), -ENOMEM, [] { return std::string("out of memory"); });
    }
  }
  // Domain-0's label authorizes the workloads this system runs (manual
  // 10.2.7). Xen left this check to its tools; here every create and
  // restore passes it, so no client of the privileged socket can bypass it.
  if (d.domid != acm::kDomain0Id && record_of(acm::kDomain0Id) != nullptr &&
      !policy_->engine().authorize(domain0_ssidref_, d.ssidref)) {
    if (create) ++domain_create_denied_;
    return deny(hook, subject, party(d), -EPERM, [&] {
      return "VM is not authorized to run: " +
             policy_->engine().explain_authorize(domain0_ssidref_, d.ssidref).reason();
    });
  }
  // Chinese Wall check and commit in one step (reference 9.2).
  if (!chinese_wall_.try_start(acm::primary_half(d.ssidref))) {
    if (create) ++domain_create_denied_;
    return deny(hook, subject, party(d), -EACCES, [&] {
      return policy_->engine().explain_admission(chinese_wall_, d.ssidref).reason();
    });
  }
  domains_[d.domid] = DomainRecord{d.ssidref, DomainPhase::running};
  if (d.domid == acm::kDomain0Id) domain0_ssidref_ = d.ssidref;
  if (audit_permits_) {
    audit(hook, subject, party(d), 0, [&] {
      return "admitted with label '" + policy_->label_name(d.ssidref) +
             "': no Chinese Wall conflict with the running domains";
    });
  }
  return 0;
}

void AcmModule::release(const DomainRef& d) noexcept {
  DomainRecord* known = record_of(d.domid);
  if (known == nullptr) return;
  // The label the Chinese Wall state counts is the record's (the one the
  // domain was admitted with, or given by a later relabel), whatever the
  // caller passes.
  if (known->phase == DomainPhase::running) chinese_wall_.stop(acm::primary_half(known->ssidref));
  *known = DomainRecord{};
  cache_.forget_domain(d.domid);
}

int AcmModule::domain_create(const DomainRef& created) noexcept {
  return admit(Hook::domain_create, created, false);
}

void AcmModule::domain_create_failed(const DomainRef& created) noexcept {
  release(created);
}

void AcmModule::domain_destroyed(const DomainRef& domain) noexcept {
  release(domain);
}

int AcmModule::domain_save(const DomainRef& domain) noexcept {
  ++hook_stats_[index_of(Hook::domain_save)].calls;
  DomainRecord* known = record_of(domain.domid);
  if (known == nullptr) {
    return deny(Hook::domain_save, domain0_party(), party(domain), -ESRCH, [&] {
      return "domain " + std::to_string(domain.domid) + " is not known to the XSM layer";
    });
  }
  if (known->phase == DomainPhase::running) {
    chinese_wall_.stop(acm::primary_half(known->ssidref));
    known->phase = DomainPhase::saved;
    cache_.forget_domain(domain.domid);
  }
  return 0;
}

int AcmModule::domain_restore(const DomainRef& domain) noexcept {
  return admit(Hook::domain_restore, domain, true);
}

int AcmModule::domain_control(Hook hook, const DomainRef& target) noexcept {
  const HookRule rule = rule_of(kAcmHooks, hook);
  if (rule == HookRule::permit) {
    ++hook_stats_[index_of(hook)].calls;
    return 0;
  }
  return deny_wrong_entry(hook, "domain_control", domain0_party(), party(target));
}

int AcmModule::deny_wrong_entry(Hook hook, const char* entry, const Party& subject,
                                const Party& object) noexcept {
  const HookRule rule = rule_of(kAcmHooks, hook);
  if (index_of(hook) < kHookCount) ++hook_stats_[index_of(hook)].calls;
  return deny(hook, subject, object, -EACCES, [&] {
    if (index_of(hook) >= kHookCount) {
      return "hook number " + std::to_string(index_of(hook)) + " is not in the hook list";
    }
    if (rule == HookRule::deny) {
      return std::string("hook '") + hook_name(hook) + "' is not decided by module 'acm'";
    }
    return std::string("hook '") + hook_name(hook) + "' is not decided through " + entry;
  });
}

// --- Sharing ----------------------------------------------------------------

int AcmModule::share(Hook hook, const DomainRef& subject, const DomainRef& object) noexcept {
  const HookRule rule = rule_of(kAcmHooks, hook);
  if (!is_sharing_rule(rule)) [[unlikely]] {
    return deny_wrong_entry(hook, "share", party(subject), party(object));
  }
  const std::size_t k = rule == HookRule::ste_grant ? 1 : 0;
  const auto kind = static_cast<SharingKind>(k);
  HookStats& counters = hook_stats_[index_of(hook)];
  ++counters.calls;
  if (cache_enabled_ && cache_.lookup(subject.domid, object.domid, kind)) {
    ++cachehit_[k];
    ++counters.cache_hits;
    if (audit_permits_) [[unlikely]]
      audit_share_permit(hook, subject, object, true);
    return 0;
  }
  ++eval_[k];
  if (policy_->engine().share(subject.ssidref, object.ssidref)) [[likely]] {
    if (cache_enabled_) remember(subject, object, kind);
    if (audit_permits_) [[unlikely]]
      audit_share_permit(hook, subject, object, false);
    return 0;
  }
  ++denied_[k];
  return deny_share(hook, subject, object);
}

// Out of line, so that the hot path above keeps a small frame and no
// string handling.
void AcmModule::remember(const DomainRef& subject, const DomainRef& object,
                         SharingKind kind) noexcept {
  try {
    (void)cache_.insert(subject.domid, object.domid, kind, seqno_);
  } catch (...) {
    // Growing the table failed: the permit stands, it is just not cached.
  }
}

void AcmModule::audit_share_permit(Hook hook, const DomainRef& subject, const DomainRef& object,
                                   bool cached) noexcept {
  audit(hook, party(subject), party(object), 0, [&] {
    if (cached) {
      return "permitted by the decision cache (security state " + std::to_string(seqno_) + ")";
    }
    return policy_->engine().explain_share(subject.ssidref, object.ssidref).reason();
  });
}

int AcmModule::deny_share(Hook hook, const DomainRef& subject, const DomainRef& object) noexcept {
  return deny(hook, party(subject), party(object), -EACCES, [&] {
    return policy_->engine().explain_share(subject.ssidref, object.ssidref).reason();
  });
}

int AcmModule::resource_access(const DomainRef& domain, acm::Ssidref resource) noexcept {
  ++hook_stats_[index_of(Hook::resource_access)].calls;
  const Party object{kAuditNoDomain, resource, {}};
  if (policy_->engine().resource_access(domain.ssidref, resource)) {
    if (audit_permits_) {
      audit(Hook::resource_access, party(domain), object, 0, [&] {
        return policy_->engine().explain_resource_access(domain.ssidref, resource).reason();
      });
    }
    return 0;
  }
  return deny(Hook::resource_access, party(domain), object, -EACCES, [&] {
    return policy_->engine().explain_resource_access(domain.ssidref, resource).reason();
  });
}

int AcmModule::frame_access(const DomainRef& from, const DomainRef& to) noexcept {
  ++hook_stats_[index_of(Hook::frame_access)].calls;
  if (policy_->engine().share(from.ssidref, to.ssidref)) {
    if (audit_permits_) {
      audit(Hook::frame_access, party(from), party(to), 0, [&] {
        return policy_->engine().explain_share(from.ssidref, to.ssidref).reason();
      });
    }
    return 0;
  }
  return deny(Hook::frame_access, party(from), party(to), -EACCES, [&] {
    return policy_->engine().explain_share(from.ssidref, to.ssidref).reason();
  });
}

// --- Queries ----------------------------------------------------------------

int AcmModule::get_policy(std::vector<std::uint8_t>& out) const noexcept {
  try {
    out.assign(policy_->binary().begin(), policy_->binary().end());
  } catch (...) {
    return -ENOMEM;
  }
  return 0;
}

int AcmModule::resolve(std::uint32_t get_by, std::uint32_t id, const LiveState& live,
                       acm::Ssidref& out) const noexcept {
  if (get_by == abi::kAcmGetBySsidref) {
    out = id;
    return 0;
  }
  if (get_by != abi::kAcmGetByDomid) return -ESRCH;
  for (const DomainRef& d : live.domains) {
    if (d.domid == id) {
      out = d.ssidref;
      return 0;
    }
  }
  return -ESRCH;
}

int AcmModule::get_ssid(abi::AcmGetSsid& request, const LiveState& live) const noexcept {
  if (request.interface_version != abi::kAcmInterfaceVersion) return -EACCES;
  acm::Ssidref ssidref = 0;
  if (int rc = resolve(request.get_by, request.id, live, ssidref); rc != 0) return rc;
  if (!policy_->is_vm_label(ssidref) && !policy_->is_resource_label(ssidref)) return -EINVAL;
  try {
    const acm::PolicyImage& image = policy_->image();
    request.ssidref = ssidref;
    request.primary_code = static_cast<std::uint32_t>(image.primary);
    request.secondary_code = static_cast<std::uint32_t>(image.secondary);
    request.version_major = image.xml_version.major;
    request.version_minor = image.xml_version.minor;
    copy_text(request.policy_name, image.name);
    copy_text(request.label, policy_->label_name(ssidref));
    std::memcpy(request.fingerprint, policy_->fingerprint().data(), sizeof request.fingerprint);
  } catch (...) {
    return -ENOMEM;
  }
  return 0;
}

int AcmModule::get_decision(abi::AcmGetDecision& request, const LiveState& live) noexcept {
  HookStats& counters = hook_stats_[index_of(Hook::getdecision)];
  ++counters.calls;
  if (request.interface_version != abi::kAcmInterfaceVersion) return -EACCES;
  acm::Ssidref first = 0;
  acm::Ssidref second = 0;
  if (int rc = resolve(request.get_by1, request.id1, live, first); rc != 0) return rc;
  const auto hook = static_cast<abi::AcmHook>(request.hook);
  // conflictset asks about id1 alone.
  if (hook == abi::AcmHook::sharing || hook == abi::AcmHook::authorization) {
    if (int rc = resolve(request.get_by2, request.id2, live, second); rc != 0) return rc;
  }
  const acm::PolicyEngine& engine = policy_->engine();
  bool permitted = false;
  switch (hook) {
    case abi::AcmHook::sharing:
      permitted = engine.share(first, second);
      break;
    case abi::AcmHook::authorization:
      permitted = engine.authorize(first, second);
      break;
    case abi::AcmHook::conflictset:
      // One pass over the label's types against the live aggregate (Xen
      // indexed the aggregate as conflict sets x types, quirk 6).
      permitted = policy_->is_vm_label(first) && engine.admissible(chinese_wall_, first);
      break;
    case abi::AcmHook::none:
      break;
  }
  if (!permitted) ++counters.denied;
  request.decision = permitted ? abi::kAcmAccessPermitted : abi::kAcmAccessDenied;
  return 0;
}

abi::AcmStats AcmModule::stats() const noexcept {
  abi::AcmStats s{};
  s.interface_version = abi::kAcmInterfaceVersion;
  s.ec_eval_count = eval_[0];
  s.gt_eval_count = eval_[1];
  s.ec_denied_count = denied_[0];
  s.gt_denied_count = denied_[1];
  s.ec_cachehit_count = cachehit_[0];
  s.gt_cachehit_count = cachehit_[1];
  s.domain_create_denied = domain_create_denied_;
  s.audit_records = audit_records_;
  return s;
}

HookStats AcmModule::hook_stats(Hook hook) const noexcept {
  return index_of(hook) < kHookCount ? hook_stats_[index_of(hook)] : HookStats{};
}

ChineseWallCounts AcmModule::chinese_wall_counts() const {
  const auto running = chinese_wall_.running_types();
  const auto aggregate = chinese_wall_.conflict_aggregate();
  return ChineseWallCounts{{running.begin(), running.end()}, {aggregate.begin(), aggregate.end()}};
}

std::vector<CandidateDomain> AcmModule::candidates() const {
  std::vector<CandidateDomain> out;
  for (std::size_t id = 0; id < domains_.size(); ++id) {
    const DomainRecord& d = domains_[id];
    if (d.phase == DomainPhase::none) continue;
    out.push_back({static_cast<abi::domid_t>(id), d.ssidref, d.ssidref, d.phase});
  }
  return out;
}

}  // namespace shype::xsm
