// Guest event channels (ARCHITECTURE 2, docs/hypercall-abi.md "Event
// channels"): the EVTCHNOP_* hypercalls and the doorbells that notify
// without the hypervisor.
//
// Setting a channel up goes through the hypervisor (where XSM decides);
// afterwards each end holds two eventfds in the fd table (fd_table.hpp):
// its own doorbell, which wait_for_events polls, and the peer's, which
// notify() writes. The unbound end receives its doorbells in a
// bound_notice notification: pass every notification to
// handle_event_notification(), which keeps them.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/event_channel.hpp"
#include "shype/guest/runtime.hpp"

namespace shype::guest::evtchn {

// EVTCHNOP_alloc_unbound: a port of this domain that `remote` may bind.
// Returns the port (>= 1), or -errno (-EACCES: the policy forbids sharing
// with `remote`; -ESRCH: no such domain).
[[nodiscard]] std::int64_t alloc_unbound(abi::domid_t remote);

// EVTCHNOP_bind_interdomain: binds to `remote_port` of `remote`, which
// must be an unbound port allocated for this domain. Returns the local
// port, or -errno (-EACCES refused by the policy, -EINVAL not an unbound
// port for us, -ESRCH no such domain). On success both doorbells are in
// the fd table.
[[nodiscard]] std::int64_t bind_interdomain(abi::domid_t remote, abi::evtchn_port_t remote_port);

// EVTCHNOP_bind_virq: returns the port, or -errno.
[[nodiscard]] std::int64_t bind_virq(abi::Virq virq);

// EVTCHNOP_close: closes `port` (and its doorbells). 0 or -errno.
int close(abi::evtchn_port_t port);

// Notifies the other end of an interdomain port: writes the peer doorbell
// (no hypercall). Virq ports and ports whose peer doorbell is not known yet
// use EVTCHNOP_send. 0 or -errno (-ENOTCONN: the port is unbound or closed).
int notify(abi::evtchn_port_t port);

// EVTCHNOP_status for a port of domain `dom` (kDomidSelf: this one).
int status(abi::domid_t dom, abi::evtchn_port_t port, abi::EvtchnStatus* out);

// Keeps what an event-channel notification carries (bound_notice:
// doorbells into the fd table; closed_notice: the port's doorbells are
// closed). Returns true if `notification` was one (its fds are then owned
// by the runtime), false otherwise (untouched).
bool handle_event_notification(Notification* notification);

// Whether `port` is bound (its doorbells are known).
[[nodiscard]] bool is_bound(abi::evtchn_port_t port);

// How many times `port` was bound so far (bound notices kept): it grows
// when the peer binds the port again after its end closed.
[[nodiscard]] std::uint32_t bind_count(abi::evtchn_port_t port);

// The next pending port: a rung own doorbell (wait_for_events marked it) or
// a bit set in shared_info's pending bitmap (cleared here). false if none.
[[nodiscard]] bool next_pending(abi::evtchn_port_t* port);

}  // namespace shype::guest::evtchn
