// Guest event channels (event_channel.hpp): EVTCHNOP_* hypercalls, the
// doorbells in the fd table, and the pending bitmap of shared_info.
#include "shype/guest/event_channel.hpp"

#include "internal.hpp"
#include "shype/guest/fd_table.hpp"
#include "shype/guest/syscall.hpp"

namespace shype::guest::evtchn {
namespace {

// Not among syscall.hpp's errno values; the header promises it.
constexpr int kENOTCONN = 107;

constexpr std::uint32_t sub(abi::EvtchnOp op) {
  return static_cast<std::uint32_t>(op);
}

// A valid port number (port 0 is never allocated).
bool in_range(abi::evtchn_port_t port) {
  return port != 0 && port < abi::kMaxEventChannels;
}

// How many times each port was bound (bound notices kept): a peer that
// binds a port again (xend restarted and adopted this domain) shows here.
std::uint32_t g_bind_count[abi::kMaxEventChannels];

// Forgets (and closes) both doorbells of `port`, if known.
void drop_doorbells(abi::evtchn_port_t port) {
  const FdRole roles[] = {FdRole::doorbell_own, FdRole::doorbell_peer};
  for (const FdRole role : roles) {
    const int fd = fd_table::find(role, port);
    if (fd >= 0) (void)fd_table::remove(fd);
  }
}

// Records the doorbells of a binding (own first, as every message carries
// them). Doorbells left from an earlier binding of the same port number are
// dropped first: they belong to a binding that no longer exists. On
// failure (the fd table is full) both descriptors are closed.
int keep_doorbells(abi::evtchn_port_t port, int own, int peer) {
  drop_doorbells(port);
  int rc = fd_table::add(own, FdRole::doorbell_own, port);
  if (rc == 0) {
    rc = fd_table::add(peer, FdRole::doorbell_peer, port);
    if (rc != 0) {
      (void)fd_table::remove(own);
      sys::close(peer);
    }
  } else {
    sys::close(own);
    sys::close(peer);
  }
  return rc;
}

void close_fds(const int* fds, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i)
    sys::close(fds[i]);
}

}  // namespace

std::int64_t alloc_unbound(abi::domid_t remote) {
  abi::EvtchnAllocUnbound request{};
  request.dom = abi::kDomidSelf;
  request.remote_dom = remote;
  abi::EvtchnAllocUnbound answer{};
  std::size_t length = 0;
  const int rc = hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::alloc_unbound), &request,
                           sizeof request, &answer, sizeof answer, &length, nullptr, 0, nullptr);
  if (rc < 0) return rc;
  if (length != sizeof answer || !in_range(answer.port)) return -sys::kEPROTO;
  return answer.port;
}

std::int64_t bind_interdomain(abi::domid_t remote, abi::evtchn_port_t remote_port) {
  abi::EvtchnBindInterdomain request{};
  request.remote_dom = remote;
  request.remote_port = remote_port;
  abi::EvtchnBindInterdomain answer{};
  std::size_t length = 0;
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  const int rc =
      hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::bind_interdomain), &request,
                sizeof request, &answer, sizeof answer, &length, fds, abi::kMaxFds, &fd_count);
  if (rc < 0) {
    close_fds(fds, fd_count);
    return rc;
  }
  if (length != sizeof answer || fd_count != 2 || !in_range(answer.local_port)) {
    close_fds(fds, fd_count);
    return -sys::kEPROTO;
  }
  if (const int kept = keep_doorbells(answer.local_port, fds[0], fds[1]); kept < 0) {
    // Without doorbells the port is of no use: give it back.
    (void)hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::close), &answer.local_port,
                    sizeof answer.local_port);
    return kept;
  }
  return answer.local_port;
}

std::int64_t bind_virq(abi::Virq virq) {
  abi::EvtchnBindVirq request{};
  request.virq = static_cast<std::uint32_t>(virq);
  abi::EvtchnBindVirq answer{};
  std::size_t length = 0;
  const int rc = hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::bind_virq), &request,
                           sizeof request, &answer, sizeof answer, &length, nullptr, 0, nullptr);
  if (rc < 0) return rc;
  if (length != sizeof answer || !in_range(answer.port)) return -sys::kEPROTO;
  return answer.port;
}

int close(abi::evtchn_port_t port) {
  abi::EvtchnClose request{port};
  const int rc =
      hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::close), &request, sizeof request);
  // Whatever the answer, descriptors kept for this port number are stale now.
  drop_doorbells(port);
  return rc;
}

int notify(abi::evtchn_port_t port) {
  if (!in_range(port)) return -sys::kEINVAL;
  const int peer = fd_table::find(FdRole::doorbell_peer, port);
  if (peer >= 0) {
    const std::uint64_t one = 1;
    const long n = sys::write(peer, &one, sizeof one);
    // EAGAIN: the counter is at its maximum, so the peer has been rung.
    if (n == sizeof one || n == -sys::kEAGAIN) return 0;
    return n < 0 ? static_cast<int>(n) : -sys::kEIO;
  }
  // No peer doorbell: a virq port, or an interdomain port whose
  // bound_notice has not been handled yet, go through the hypervisor.
  abi::EvtchnStatus state{};
  if (const int rc = status(abi::kDomidSelf, port, &state); rc < 0) return rc;
  if (state.status != static_cast<std::uint32_t>(abi::EvtchnState::interdomain) &&
      state.status != static_cast<std::uint32_t>(abi::EvtchnState::virq)) {
    return -kENOTCONN;
  }
  abi::EvtchnSend request{port};
  return hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::send), &request, sizeof request);
}

int status(abi::domid_t dom, abi::evtchn_port_t port, abi::EvtchnStatus* out) {
  abi::EvtchnStatus request{};
  request.dom = dom;
  request.port = port;
  std::size_t length = 0;
  const int rc = hypercall(abi::Op::event_channel_op, sub(abi::EvtchnOp::status), &request,
                           sizeof request, out, sizeof *out, &length, nullptr, 0, nullptr);
  if (rc < 0) return rc;
  return length == sizeof *out ? 0 : -sys::kEPROTO;
}

bool handle_event_notification(Notification* notification) {
  if (notification->op != abi::Op::event_channel_op) return false;
  if (notification->subop == sub(abi::EvtchnOp::bound_notice) &&
      notification->length == sizeof(abi::EvtchnBoundNotice) && notification->fd_count == 2) {
    abi::EvtchnBoundNotice notice{};
    memcpy(&notice, notification->payload, sizeof notice);
    // Keep the doorbells only if the port is still bound as the notice
    // says: a notice queued before this domain closed the port must not
    // attach old doorbells to a later port with the same number.
    abi::EvtchnStatus state{};
    if (in_range(notice.local_port) && status(abi::kDomidSelf, notice.local_port, &state) == 0 &&
        state.status == static_cast<std::uint32_t>(abi::EvtchnState::interdomain) &&
        state.remote_dom == notice.remote_dom && state.remote_port == notice.remote_port) {
      (void)keep_doorbells(notice.local_port, notification->fds[0], notification->fds[1]);
      ++g_bind_count[notice.local_port];
      notification->fd_count = 0;
      return true;
    }
  } else if (notification->subop == sub(abi::EvtchnOp::closed_notice) &&
             notification->length == sizeof(abi::EvtchnClosedNotice)) {
    abi::EvtchnClosedNotice notice{};
    memcpy(&notice, notification->payload, sizeof notice);
    if (in_range(notice.local_port)) drop_doorbells(notice.local_port);
  }
  // A notice handled above without descriptors to keep, a stale one, or a
  // malformed one: its descriptors are of no use.
  discard_notification(notification);
  return true;
}

bool is_bound(abi::evtchn_port_t port) {
  return in_range(port) && fd_table::find(FdRole::doorbell_own, port) >= 0;
}

std::uint32_t bind_count(abi::evtchn_port_t port) {
  return in_range(port) ? g_bind_count[port] : 0;
}

bool next_pending(abi::evtchn_port_t* port) {
  std::uint32_t key = 0;
  if (fd_table::take_pending_doorbell(&key)) {
    *port = key;
    return true;
  }
  abi::SharedInfo* info = shared_info();
  // Cleared before the scan: the hypervisor sets a pending bit before
  // upcall_pending, so an event that arrives during the scan raises it again.
  __atomic_store_n(&info->upcall_pending, 0u, __ATOMIC_RELEASE);
  for (std::uint32_t word = 0; word < abi::kMaxEventChannels / 64; ++word) {
    const std::uint64_t ready = __atomic_load_n(&info->evtchn_pending[word], __ATOMIC_ACQUIRE) &
                                ~__atomic_load_n(&info->evtchn_mask[word], __ATOMIC_ACQUIRE);
    if (ready == 0) continue;
    const auto bit = static_cast<std::uint32_t>(__builtin_ctzll(ready));
    __atomic_fetch_and(&info->evtchn_pending[word], ~(std::uint64_t{1} << bit), __ATOMIC_ACQ_REL);
    *port = word * 64 + bit;
    return true;
  }
  return false;
}

}  // namespace shype::guest::evtchn
