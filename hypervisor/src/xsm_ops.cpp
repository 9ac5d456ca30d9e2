// xsm_op: the ACM operations of Xen 3.3/3.4 for Domain-0 (xsm_op.hpp).
// Policies arrive and leave as sealed memfds; the XSM layer decides and
// re-checks against the live state the domain table reports; relabels it
// returns are applied to the table at once, inside the same event.
#include <algorithm>
#include <cstring>

#include "acm/ssidref.hpp"
#include "hv/hypervisor.hpp"
#include "hv/sealed_memfd.hpp"

namespace shype::hv {
namespace {

// Records one audit_read returns at most.
constexpr std::size_t kMaxAuditRecordsPerRead = 1024;

abi::domid_t resolve_self(std::uint32_t id, const Domain& caller) {
  return id == abi::kDomidSelf ? caller.id : static_cast<abi::domid_t>(id);
}

// Whether `guest` holds an interdomain event channel bound to `other` (this
// incarnation of it: the serial tells a reused id apart). What lets a
// driver domain ask the hypervisor about a domain: it serves it.
bool has_interdomain_channel_with(const Domain& guest, const Domain& other) {
  for (const abi::evtchn_port_t p : guest.event_channels.allocated()) {
    const EventChannels::Port* port = guest.event_channels.find(p);
    if (port != nullptr && port->state == abi::EvtchnState::interdomain &&
        port->remote_dom == other.id && port->remote_serial == other.serial) {
      return true;
    }
  }
  return false;
}

}  // namespace

Reply Hypervisor::policy_reply(const char* op, xsm::PolicyChange change) {
  if (change.status == 0) {
    for (const auto& [domid, ssidref] : change.relabeled) {
      if (Domain* domain = domains_.find(domid)) {
        log_.info(describe(*domain) + " relabelled " + acm::hex32(domain->ssidref) + " -> " +
                  acm::hex32(ssidref) + " (" + xsm_->label_of(ssidref) + ")");
        domain->ssidref = ssidref;
      }
    }
    log_.info(std::string(op) + ": policy '" + xsm_->policy_info().name + "' active");
  } else {
    log_.warning(std::string(op) + " refused: " + change.message);
  }
  abi::AcmPolicyResult result{};
  result.interface_version = abi::kAcmInterfaceVersion;
  result.error_count =
      static_cast<std::uint32_t>(std::min<std::size_t>(change.errors.size(), abi::kAcmMaxErrors));
  std::copy_n(change.errors.begin(), result.error_count, result.errors);
  std::strncpy(result.message, change.message.c_str(), sizeof result.message - 1);
  Reply reply = Reply::of(result);
  reply.status = from_negative_errno(change.status);
  return reply;
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::AcmSetPolicy& body, Fds& fds) {
  auto view = SealedView::open(fds.at(0).get(), body.args.size);
  if (!view) return Reply::error(from_errno(view.error().error), "policy: " + view.error().reason);
  return policy_reply("setpolicy", xsm_->set_policy(view->bytes(), live_state()));
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::AcmChangePolicy& body, Fds& fds) {
  auto view = SealedView::open(fds.at(0).get(), body.args.size);
  if (!view) return Reply::error(from_errno(view.error().error), "policy: " + view.error().reason);
  return policy_reply("chgpolicy",
                      xsm_->change_policy(view->bytes(), body.deleted, body.changed, live_state()));
}

Reply Hypervisor::handle(Domain& caller, wire::AcmRelabel& body, Fds& /*fds*/) {
  std::vector<abi::AcmRelabelEntry> entries = body.entries;
  for (auto& entry : entries) entry.domid = resolve_self(entry.domid, caller);
  return policy_reply("relabeldoms", xsm_->relabel(entries, live_state()));
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::AcmGetPolicy& /*body*/, Fds& /*fds*/) {
  std::vector<std::uint8_t> binary;
  if (const int rc = xsm_->get_policy(binary); rc != 0) {
    return Reply::error(from_negative_errno(rc), "no binary policy under the " +
                                                     std::string(xsm_->module_name()) + " module");
  }
  auto memfd = make_sealed_memfd("shype-policy", binary);
  if (!memfd) return Reply::error(Errno::nomem, memfd.error());
  abi::AcmGetPolicy out{};
  out.interface_version = abi::kAcmInterfaceVersion;
  out.size = static_cast<std::uint32_t>(binary.size());
  Reply reply = Reply::of(out);
  reply.fds.push_back(std::move(*memfd));
  return reply;
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::AcmDumpStats& /*body*/, Fds& /*fds*/) {
  abi::AcmStats stats = xsm_->stats();
  stats.interface_version = abi::kAcmInterfaceVersion;
  return Reply::of(stats);
}

Reply Hypervisor::handle(Domain& caller, wire::AcmGetSsid& body, Fds& /*fds*/) {
  abi::AcmGetSsid request = body.args;
  if (request.get_by == abi::kAcmGetByDomid) request.id = resolve_self(request.id, caller);
  if (const int rc = xsm_->get_ssid(request, live_state()); rc != 0) {
    return Reply::error(from_negative_errno(rc));
  }
  return Reply::of(request);
}

Reply Hypervisor::handle(Domain& caller, wire::AcmGetDecision& body, Fds& /*fds*/) {
  abi::AcmGetDecision request = body.args;
  if (request.get_by1 == abi::kAcmGetByDomid) request.id1 = resolve_self(request.id1, caller);
  if (request.get_by2 == abi::kAcmGetByDomid) request.id2 = resolve_self(request.id2, caller);
  if (const int rc = xsm_->get_decision(request, live_state()); rc != 0) {
    return Reply::error(from_negative_errno(rc));
  }
  return Reply::of(request);
}

Reply Hypervisor::handle(Domain& caller, wire::AcmResourceAccess& body, Fds& /*fds*/) {
  const auto domid = static_cast<abi::domid_t>(body.args.domid);
  Domain* user = domains_.find(domid);
  if (user == nullptr || user->dying) {
    return Reply::error(Errno::srch, "no domain " + std::to_string(domid));
  }
  // A guest may only ask for a domain it serves: one it has an
  // interdomain channel with (its frontend).
  if (!caller.is_domain0() && !has_interdomain_channel_with(caller, *user)) {
    return Reply::error(Errno::perm, describe(caller) + " has no channel to " + describe(*user));
  }
  const int rc = xsm_->resource_access(ref(*user), body.args.ssidref);
  if (rc != 0 && rc != -EACCES) return Reply::error(from_negative_errno(rc));
  abi::AcmResourceAccess out = body.args;
  out.decision = rc == 0 ? abi::kAcmAccessPermitted : abi::kAcmAccessDenied;
  return Reply::of(out);
}

Reply Hypervisor::handle(Domain& caller, wire::AcmFrameAccess& body, Fds& /*fds*/) {
  Domain* ends[2] = {nullptr, nullptr};
  const std::uint32_t ids[2] = {body.args.from, body.args.to};
  for (int i = 0; i < 2; ++i) {
    const auto domid = static_cast<abi::domid_t>(ids[i]);
    ends[i] = domains_.find(domid);
    if (ends[i] == nullptr || ends[i]->dying) {
      return Reply::error(Errno::srch, std::string(i == 0 ? "from" : "to") + ": no domain " +
                                           std::to_string(domid));
    }
    // A guest may only ask about two domains it serves (its bridge's
    // clients): it must have an interdomain channel with each.
    if (!caller.is_domain0() && !has_interdomain_channel_with(caller, *ends[i])) {
      return Reply::error(Errno::perm,
                          describe(caller) + " has no channel to " + describe(*ends[i]));
    }
  }
  const int rc = xsm_->frame_access(ref(*ends[0]), ref(*ends[1]));
  if (rc != 0 && rc != -EACCES) return Reply::error(from_negative_errno(rc));
  abi::AcmFrameAccess out = body.args;
  out.decision = rc == 0 ? abi::kAcmAccessPermitted : abi::kAcmAccessDenied;
  return Reply::of(out);
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::AcmAuditRead& body, Fds& /*fds*/) {
  std::uint64_t next = 0;
  const std::vector<std::string> lines =
      audit_.read_since(body.args.from_seq, kMaxAuditRecordsPerRead, next);
  std::string text;
  for (const std::string& line : lines) {
    text += line;
    text += '\n';
  }
  // SAFETY: char and uint8_t have the same size and alignment; read only.
  auto memfd = make_sealed_memfd(
      "shype-audit", {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  if (!memfd) return Reply::error(Errno::nomem, memfd.error());
  abi::AcmAuditRead out{};
  out.interface_version = abi::kAcmInterfaceVersion;
  out.from_seq = next;
  out.count = static_cast<std::uint32_t>(lines.size());
  out.size = static_cast<std::uint32_t>(text.size());
  Reply reply = Reply::of(out);
  reply.fds.push_back(std::move(*memfd));
  return reply;
}

}  // namespace shype::hv
