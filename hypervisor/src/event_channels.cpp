// event_channel_op: interdomain channels with per-binding eventfd doorbells,
// virtual IRQs (docs/hypercall-abi.md "event_channel_op (32)").
//
// Decisions (the document has the full list):
//  - ports 1..1023 per domain (shared_info's pending bitmap); port 0 is
//    never allocated; a full table is -ENOSPC;
//  - binding creates two fresh non-blocking eventfds, one per end; each end
//    gets (own, peer), the unbound end in a bound_notice. The hypervisor
//    keeps only each port's own doorbell (for EVTCHNOP_send and Domain-0's
//    virqs) and closes it when the port closes or reverts: a descriptor the
//    guest kept from an earlier binding is never rung by a later one. No
//    descriptor a guest sends is ever kept (the decoder closes them: no
//    event_channel_op carries any);
//  - close, as Xen's evtchn_close: the local port becomes free, the peer's
//    port reverts to unbound for the closer (same domain id and serial, so
//    the closer may bind it again; a later domain reusing the id may not),
//    and the peer gets a closed_notice. A domain whose process is gone, or
//    a Domain-0 connection that closes, closes all its ports that way;
//  - Domain-0's ports belong to the connection that allocated or bound
//    them: their notices go there, they close with it, and another
//    connection may read their status but not close or send on them;
//  - XSM: alloc_unbound asks evtchn_unbound (the port's owner, the remote
//    domain), bind asks evtchn_interdomain (the binder, the remote domain),
//    send asks evtchn_send (sender, receiver); Domain-0 is no exception.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv/hypervisor.hpp"
#include "hv/shared_info_page.hpp"
#include "shype/shared_info.hpp"

namespace shype::hv {

// --- the port table ------------------------------------------------------------

std::optional<abi::evtchn_port_t> EventChannels::allocate(Port initial) {
  abi::evtchn_port_t port = 1;
  while (port < ports_.size() && ports_[port].state != abi::EvtchnState::closed)
    ++port;
  if (port >= kPortLimit) return std::nullopt;
  if (port >= ports_.size()) ports_.resize(std::size_t{port} + 1);
  if (initial.state == abi::EvtchnState::virq) {
    virq_ports_[static_cast<std::uint32_t>(initial.virq) % kVirqSlots] = port;
  }
  ports_[port] = std::move(initial);
  ++in_use_;
  return port;
}

EventChannels::Port* EventChannels::find(abi::evtchn_port_t port) noexcept {
  if (port == 0 || port >= ports_.size() || ports_[port].state == abi::EvtchnState::closed) {
    return nullptr;
  }
  return &ports_[port];
}

const EventChannels::Port* EventChannels::find(abi::evtchn_port_t port) const noexcept {
  return const_cast<EventChannels*>(this)->find(port);
}

void EventChannels::free(abi::evtchn_port_t port) noexcept {
  Port* entry = find(port);
  if (entry == nullptr) return;
  if (entry->state == abi::EvtchnState::virq) {
    virq_ports_[static_cast<std::uint32_t>(entry->virq) % kVirqSlots] = 0;
  }
  *entry = Port{};  // closes the doorbell copy
  --in_use_;
}

abi::evtchn_port_t EventChannels::virq_port(abi::Virq virq) const noexcept {
  const auto slot = static_cast<std::uint32_t>(virq);
  return slot < kVirqSlots ? virq_ports_[slot] : 0;
}

std::size_t EventChannels::doorbells_held() const noexcept {
  std::size_t held = 0;
  for (const Port& port : ports_) {
    if (port.doorbell) ++held;
  }
  return held;
}

std::vector<abi::evtchn_port_t> EventChannels::allocated() const {
  std::vector<abi::evtchn_port_t> out;
  out.reserve(in_use_);
  for (std::size_t port = 1; port < ports_.size(); ++port) {
    if (ports_[port].state != abi::EvtchnState::closed) {
      out.push_back(static_cast<abi::evtchn_port_t>(port));
    }
  }
  return out;
}

namespace {

std::string port_text(const Domain& domain, abi::evtchn_port_t port) {
  return "port " + std::to_string(port) + " of domain " + std::to_string(domain.id);
}

// A domain that may take part in a new binding: Domain-0, or a guest whose
// process runs and that is not shutting down, crashed or dying.
bool can_share(const Domain& domain) {
  return domain.is_domain0() || domain.active();
}

// A fresh doorbell. Non-blocking: the hypervisor's writes must never block
// the event loop, and every holder polls before it reads.
UniqueFd make_doorbell() {
  return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

// Another descriptor for the same eventfd (the copy a message carries; the
// channel closes it once sent).
UniqueFd duplicate(const UniqueFd& fd) {
  return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
}

// Rings an eventfd once. A counter at its maximum (EAGAIN) already says
// "rung"; nothing else can fail for an eventfd we created.
void ring(const UniqueFd& fd) {
  if (!fd) return;
  const std::uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(fd.get(), &one, sizeof one);
  } while (n < 0 && errno == EINTR);
}

// Xen's evtchn_set_pending for a guest: the pending bit (already set: the
// guest has not looked yet, nothing more to do); unless the port is
// masked, upcall_pending and the upcall eventfd.
void set_pending(Domain& guest, abi::evtchn_port_t port) {
  if (!guest.guest.shared_info.valid()) return;
  // SAFETY: the shared_info mapping is page-aligned and kPageSize ==
  // sizeof(SharedInfo) bytes (guest_builder maps it so); SharedInfo is a
  // standard-layout struct of integers. The guest writes it concurrently,
  // so every access below is atomic.
  auto* info = reinterpret_cast<abi::SharedInfo*>(guest.guest.shared_info.data());
  const std::size_t word = port / 64;
  const std::uint64_t bit = std::uint64_t{1} << (port % 64);
  const std::uint64_t was = std::atomic_ref<std::uint64_t>(info->evtchn_pending[word])
                                .fetch_or(bit, std::memory_order_acq_rel);
  if ((was & bit) != 0) return;
  if ((std::atomic_ref<std::uint64_t>(info->evtchn_mask[word]).load(std::memory_order_acquire) &
       bit) != 0) {
    return;
  }
  publish_time(guest.guest.shared_info);
  std::atomic_ref<std::uint32_t>(info->upcall_pending).store(1, std::memory_order_release);
  ring(guest.guest.upcall_fd);
}

}  // namespace

// --- handlers ----------------------------------------------------------------------

Reply Hypervisor::handle(Domain& caller, wire::EvtchnAllocUnbound& body, Fds& /*fds*/) {
  const abi::domid_t owner_id = body.args.dom == abi::kDomidSelf ? caller.id : body.args.dom;
  // As Xen: only the privileged domain allocates ports in another domain
  // (the toolstack's console and store channels of a new guest).
  if (owner_id != caller.id && !caller.is_domain0()) {
    return Reply::error(Errno::perm, "alloc_unbound: dom must be the caller");
  }
  Domain* owner = domains_.find(owner_id);
  if (owner == nullptr || !can_share(*owner)) {
    return Reply::error(
        Errno::srch, "alloc_unbound: dom " + std::to_string(owner_id) + " is not a running domain");
  }
  const abi::domid_t remote_id =
      body.args.remote_dom == abi::kDomidSelf ? owner->id : body.args.remote_dom;
  Domain* remote = domains_.find(remote_id);
  if (remote == nullptr || !can_share(*remote)) {
    return Reply::error(Errno::srch, "alloc_unbound: remote_dom " + std::to_string(remote_id) +
                                         " is not a running domain");
  }
  if (owner->is_domain0() && current_connection_ == nullptr) {
    return Reply::error(Errno::inval, "alloc_unbound: Domain-0 ports need a connection");
  }
  if (const int rc = xsm_->share(xsm::Hook::evtchn_unbound, ref(*owner), ref(*remote)); rc != 0) {
    return Reply::error(from_negative_errno(rc),
                        "alloc_unbound: the security policy forbids an event channel between " +
                            describe(*owner) + " and " + describe(*remote));
  }
  EventChannels::Port entry;
  entry.state = abi::EvtchnState::unbound;
  entry.remote_dom = remote->id;
  entry.remote_serial = remote->serial;
  entry.connection = owner->is_domain0() ? current_connection_->id : 0;
  const auto port = owner->event_channels.allocate(std::move(entry));
  if (!port) {
    return Reply::error(Errno::nospc, "alloc_unbound: " + describe(*owner) + " has no free port");
  }
  abi::EvtchnAllocUnbound out = body.args;
  out.port = *port;
  return Reply::of(out);
}

Reply Hypervisor::handle(Domain& caller, wire::EvtchnBindInterdomain& body, Fds& /*fds*/) {
  const abi::domid_t remote_id =
      body.args.remote_dom == abi::kDomidSelf ? caller.id : body.args.remote_dom;
  Domain* remote = domains_.find(remote_id);
  if (remote == nullptr || !can_share(*remote)) {
    return Reply::error(Errno::srch, "bind_interdomain: remote_dom " + std::to_string(remote_id) +
                                         " is not a running domain");
  }
  const abi::evtchn_port_t remote_port = body.args.remote_port;
  const EventChannels::Port* target = remote->event_channels.find(remote_port);
  if (target == nullptr || target->state != abi::EvtchnState::unbound ||
      target->remote_dom != caller.id || target->remote_serial != caller.serial) {
    return Reply::error(Errno::inval, "bind_interdomain: " + port_text(*remote, remote_port) +
                                          " is not an unbound port for the caller");
  }
  if (caller.is_domain0() && current_connection_ == nullptr) {
    return Reply::error(Errno::inval, "bind_interdomain: Domain-0 ports need a connection");
  }
  if (const int rc = xsm_->share(xsm::Hook::evtchn_interdomain, ref(caller), ref(*remote));
      rc != 0) {
    return Reply::error(from_negative_errno(rc),
                        "bind_interdomain: the security policy forbids an event channel between " +
                            describe(caller) + " and " + describe(*remote));
  }

  // Everything that can fail for lack of resources happens before either
  // table changes. Each end's own doorbell stays with the hypervisor; the
  // binder pays for both.
  if (check_sharing_budget(caller, 2) != Errno::ok) {
    return Reply::error(Errno::nospc,
                        "bind_interdomain: the hypervisor's descriptors for "
                        "event channels are used up");
  }
  UniqueFd local_bell = make_doorbell();
  UniqueFd remote_bell = make_doorbell();
  if (!local_bell || !remote_bell) {
    const int err = errno;
    log_.error("bind_interdomain: eventfd: " + std::string(std::strerror(err)));
    return Reply::error(from_errno(err), "bind_interdomain: no descriptor for a doorbell");
  }
  Reply reply;
  reply.fds.push_back(duplicate(local_bell));
  reply.fds.push_back(duplicate(remote_bell));
  std::vector<UniqueFd> notice_fds;
  notice_fds.push_back(duplicate(remote_bell));
  notice_fds.push_back(duplicate(local_bell));
  if (std::any_of(reply.fds.begin(), reply.fds.end(), [](const UniqueFd& fd) { return !fd; }) ||
      std::any_of(notice_fds.begin(), notice_fds.end(), [](const UniqueFd& fd) { return !fd; })) {
    return Reply::error(from_errno(errno), "bind_interdomain: no descriptor for a doorbell");
  }
  EventChannels::Port local;
  local.state = abi::EvtchnState::interdomain;
  local.remote_dom = remote->id;
  local.remote_serial = remote->serial;
  local.remote_port = remote_port;
  local.connection = caller.is_domain0() ? current_connection_->id : 0;
  local.doorbell = std::move(local_bell);
  const auto local_port = caller.event_channels.allocate(std::move(local));
  if (!local_port) {
    return Reply::error(Errno::nospc,
                        "bind_interdomain: " + describe(caller) + " has no free port");
  }
  // Found again: allocate() may have grown the caller's table, and the
  // caller may be the remote domain (a loopback channel).
  EventChannels::Port& bound = *remote->event_channels.find(remote_port);
  bound.state = abi::EvtchnState::interdomain;
  bound.remote_dom = caller.id;
  bound.remote_serial = caller.serial;
  bound.remote_port = *local_port;
  bound.doorbell = std::move(remote_bell);

  abi::EvtchnBoundNotice notice{};
  notice.local_port = remote_port;
  notice.remote_dom = caller.id;
  notice.remote_port = *local_port;
  if (const Errno sent = notify_with_fds(*remote, bound.connection, abi::Op::event_channel_op,
                                         wire::sub(abi::EvtchnOp::bound_notice),
                                         wire::bytes_of(notice), std::move(notice_fds));
      failed(sent)) {
    // The binding stands (its status says so, EVTCHNOP_send works); the
    // unbound end just has no doorbells to wait on.
    log_.warning("bind_interdomain: bound_notice to " + describe(*remote) + " lost (" +
                 errno_name(sent) + ")");
  }
  abi::EvtchnBindInterdomain out = body.args;
  out.local_port = *local_port;
  const auto bytes = wire::bytes_of(out);
  reply.payload.assign(bytes.begin(), bytes.end());
  return reply;
}

Reply Hypervisor::handle(Domain& caller, wire::EvtchnBindVirq& body, Fds& /*fds*/) {
  const auto virq = static_cast<abi::Virq>(body.args.virq);
  if (const abi::evtchn_port_t bound = caller.event_channels.virq_port(virq); bound != 0) {
    return Reply::error(Errno::exist, "bind_virq: virq " + std::to_string(body.args.virq) +
                                          " is bound to port " + std::to_string(bound));
  }
  if (caller.is_domain0() && current_connection_ == nullptr) {
    return Reply::error(Errno::inval, "bind_virq: Domain-0 ports need a connection");
  }
  EventChannels::Port entry;
  entry.state = abi::EvtchnState::virq;
  entry.virq = virq;
  Reply reply;
  if (caller.is_domain0()) {
    // Domain-0 has no shared_info: its virqs ring a doorbell of their own.
    entry.connection = current_connection_->id;
    entry.doorbell = make_doorbell();
    UniqueFd copy = entry.doorbell ? duplicate(entry.doorbell) : UniqueFd();
    if (!copy) return Reply::error(from_errno(errno), "bind_virq: no descriptor for a doorbell");
    reply.fds.push_back(std::move(copy));
  }
  const auto port = caller.event_channels.allocate(std::move(entry));
  if (!port)
    return Reply::error(Errno::nospc, "bind_virq: " + describe(caller) + " has no free port");
  abi::EvtchnBindVirq out = body.args;
  out.port = *port;
  const auto bytes = wire::bytes_of(out);
  reply.payload.assign(bytes.begin(), bytes.end());
  return reply;
}

namespace {

// The caller's own allocated port, or why not: closed (-EINVAL, as Xen) or
// another Domain-0 connection's (-EPERM).
struct OwnPort {
  EventChannels::Port* port = nullptr;
  Errno status = Errno::ok;
  std::string why;
};

OwnPort own_port(Domain& caller, std::uint64_t connection, abi::evtchn_port_t port,
                 const char* op) {
  OwnPort result;
  result.port = caller.event_channels.find(port);
  if (result.port == nullptr) {
    result.status = Errno::inval;
    result.why = std::string(op) + ": port " + std::to_string(port) + " is not allocated";
  } else if (caller.is_domain0() && result.port->connection != connection) {
    result.port = nullptr;
    result.status = Errno::perm;
    result.why = std::string(op) + ": port " + std::to_string(port) +
                 " belongs to another Domain-0 connection";
  }
  return result;
}

}  // namespace

Reply Hypervisor::handle(Domain& caller, wire::EvtchnClose& body, Fds& /*fds*/) {
  const std::uint64_t connection = current_connection_ != nullptr ? current_connection_->id : 0;
  OwnPort own = own_port(caller, connection, body.args.port, "close");
  if (own.port == nullptr) return Reply::error(own.status, std::move(own.why));
  close_port(caller, body.args.port);
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::EvtchnSend& body, Fds& /*fds*/) {
  const std::uint64_t connection = current_connection_ != nullptr ? current_connection_->id : 0;
  OwnPort own = own_port(caller, connection, body.args.port, "send");
  if (own.port == nullptr) return Reply::error(own.status, std::move(own.why));
  const EventChannels::Port& port = *own.port;
  switch (port.state) {
    case abi::EvtchnState::unbound:
      return Reply::ok();  // as Xen: nobody to tell yet, silently dropped
    case abi::EvtchnState::virq:
      // A self-notification: the virq's delivery path, raised by the owner.
      if (caller.is_domain0()) {
        ring(port.doorbell);
      } else {
        set_pending(caller, body.args.port);
      }
      return Reply::ok();
    case abi::EvtchnState::interdomain:
      break;
    case abi::EvtchnState::closed:
      return Reply::error(Errno::inval, "send: port is not allocated");
  }
  Domain* remote = domains_.find(port.remote_dom);
  EventChannels::Port* peer =
      remote != nullptr ? remote->event_channels.find(port.remote_port) : nullptr;
  if (peer == nullptr) return Reply::error(Errno::inval, "send: the peer is gone");
  if (const int rc = xsm_->share(xsm::Hook::evtchn_send, ref(caller), ref(*remote)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "send: denied by the security policy");
  }
  ring(peer->doorbell);
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::EvtchnStatus& body, Fds& /*fds*/) {
  const abi::domid_t id = body.args.dom == abi::kDomidSelf ? caller.id : body.args.dom;
  if (id != caller.id && !caller.is_domain0()) {
    return Reply::error(Errno::perm, "status: dom must be the caller");
  }
  const Domain* domain = domains_.find(id);
  if (domain == nullptr)
    return Reply::error(Errno::srch, "status: no domain " + std::to_string(id));
  abi::EvtchnStatus out = body.args;
  out.status = static_cast<std::uint32_t>(abi::EvtchnState::closed);
  out.remote_dom = 0;
  out.pad2 = 0;
  out.remote_port = 0;
  out.virq = 0;
  if (const EventChannels::Port* port = domain->event_channels.find(body.args.port)) {
    out.status = static_cast<std::uint32_t>(port->state);
    switch (port->state) {
      case abi::EvtchnState::unbound:
        out.remote_dom = port->remote_dom;
        break;
      case abi::EvtchnState::interdomain:
        out.remote_dom = port->remote_dom;
        out.remote_port = port->remote_port;
        break;
      case abi::EvtchnState::virq:
        out.virq = static_cast<std::uint32_t>(port->virq);
        break;
      case abi::EvtchnState::closed:
        break;
    }
  }
  return Reply::of(out);
}

// --- delivery and release ------------------------------------------------------------

void Hypervisor::send_virq(Domain& domain, abi::Virq virq) {
  const abi::evtchn_port_t port = domain.event_channels.virq_port(virq);
  if (port == 0) return;
  if (domain.is_domain0()) {
    if (const EventChannels::Port* entry = domain.event_channels.find(port)) ring(entry->doorbell);
  } else if (domain.process_alive) {
    set_pending(domain, port);
  }
}

void Hypervisor::close_port(Domain& domain, abi::evtchn_port_t port) {
  EventChannels::Port* entry = domain.event_channels.find(port);
  if (entry == nullptr) return;
  if (entry->state == abi::EvtchnState::interdomain) {
    Domain* remote = domains_.find(entry->remote_dom);
    EventChannels::Port* peer = remote != nullptr && remote->serial == entry->remote_serial
                                    ? remote->event_channels.find(entry->remote_port)
                                    : nullptr;
    // The back reference must match: the peer port may already have been
    // reverted (its owner closed first).
    if (peer != nullptr && peer->state == abi::EvtchnState::interdomain &&
        peer->remote_dom == domain.id && peer->remote_port == port &&
        peer->remote_serial == domain.serial) {
      peer->state = abi::EvtchnState::unbound;
      peer->remote_port = 0;
      peer->doorbell.reset();  // a later binding gets fresh doorbells
      abi::EvtchnClosedNotice notice{};
      notice.local_port = entry->remote_port;
      (void)notify_with_fds(*remote, peer->connection, abi::Op::event_channel_op,
                            wire::sub(abi::EvtchnOp::closed_notice), wire::bytes_of(notice), {});
    }
  }
  domain.event_channels.free(port);
}

void Hypervisor::release_event_channels(Domain& domain) {
  for (const abi::evtchn_port_t port : domain.event_channels.allocated()) {
    close_port(domain, port);
  }
}

void Hypervisor::release_connection_ports(std::uint64_t connection_id) {
  Domain& dom0 = domain0();
  for (const abi::evtchn_port_t port : dom0.event_channels.allocated()) {
    const EventChannels::Port* entry = dom0.event_channels.find(port);
    if (entry != nullptr && entry->connection == connection_id) close_port(dom0, port);
  }
}

void Hypervisor::append_event_channel_sharings(xsm::LiveState& live) const {
  // One sharing per pair of domains: the re-check asks whether two labels
  // may share, however many channels they have.
  std::set<std::pair<abi::domid_t, abi::domid_t>> pairs;
  for (const auto& [id, domain] : domains_.all()) {
    for (const abi::evtchn_port_t port : domain->event_channels.allocated()) {
      const EventChannels::Port* entry = domain->event_channels.find(port);
      if (entry == nullptr || entry->state != abi::EvtchnState::interdomain) continue;
      pairs.emplace(std::min(id, entry->remote_dom), std::max(id, entry->remote_dom));
    }
  }
  for (const auto& [a, b] : pairs) {
    live.sharings.push_back(acm::DomainSharing{a, b, acm::SharingKind::event_channel});
  }
}

}  // namespace shype::hv
