// event_channel_op (Op::event_channel_op): Xen's EVTCHNOP_* sub-commands.
//
// Interdomain channels are set up through the hypervisor (where the XSM
// hooks decide) and then notify without it: binding gives each end two
// eventfd "doorbells", its own (to wait on) and the peer's (to ring). A
// doorbell belongs to one binding only; closing a port closes the
// hypervisor's copies and a later binding gets new ones, so a stale
// descriptor never reaches a later binding. Virtual IRQs and sends the
// hypervisor routes set a bit in shared_info and signal kUpcallFd.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi {

enum class EvtchnOp : std::uint32_t {
  bind_interdomain = 0,  // EvtchnBindInterdomain; response fds: own doorbell, peer doorbell
  bind_virq = 1,         // EvtchnBindVirq
  close = 3,             // EvtchnClose
  send = 4,              // EvtchnSend: routed through the hypervisor
  status = 5,            // EvtchnStatus
  alloc_unbound = 6,     // EvtchnAllocUnbound
  // Notification to the unbound end when its peer binds (payload
  // EvtchnBoundNotice; fds: own doorbell, peer doorbell), and when the peer
  // closes (EvtchnClosedNotice, no fds).
  bound_notice = 100,
  closed_notice = 101,
};

struct EvtchnAllocUnbound {
  domid_t dom;          // IN: the domain the port is for (kDomidSelf)
  domid_t remote_dom;   // IN: who may bind to it
  evtchn_port_t port;   // OUT
};
static_assert(sizeof(EvtchnAllocUnbound) == 8);

struct EvtchnBindInterdomain {
  domid_t remote_dom;          // IN
  std::uint16_t pad;
  evtchn_port_t remote_port;   // IN: an unbound port of remote_dom for the caller
  evtchn_port_t local_port;    // OUT
};
static_assert(sizeof(EvtchnBindInterdomain) == 12);

// Virtual IRQs.
enum class Virq : std::uint32_t {
  timer = 0,
  console = 2,    // console input is waiting (CONSOLEIO_read)
  dom_exc = 3,    // Domain-0: a domain died or shut down
  suspend = 16,   // shype: please suspend (save/migrate)
};

struct EvtchnBindVirq {
  std::uint32_t virq;   // IN: Virq
  std::uint32_t vcpu;   // IN: 0
  evtchn_port_t port;   // OUT
};
static_assert(sizeof(EvtchnBindVirq) == 12);

struct EvtchnClose {
  evtchn_port_t port;
};
struct EvtchnSend {
  evtchn_port_t port;
};
static_assert(sizeof(EvtchnClose) == 4 && sizeof(EvtchnSend) == 4);

enum class EvtchnState : std::uint32_t {
  closed = 0,
  unbound = 1,
  interdomain = 2,
  virq = 4,
};

struct EvtchnStatus {
  domid_t dom;                // IN
  std::uint16_t pad;
  evtchn_port_t port;         // IN
  std::uint32_t status;       // OUT: EvtchnState
  domid_t remote_dom;         // OUT: unbound / interdomain
  std::uint16_t pad2;
  evtchn_port_t remote_port;  // OUT: interdomain
  std::uint32_t virq;         // OUT: virq
};
static_assert(sizeof(EvtchnStatus) == 24);

struct EvtchnBoundNotice {
  evtchn_port_t local_port;
  domid_t remote_dom;
  std::uint16_t pad;
  evtchn_port_t remote_port;
};
struct EvtchnClosedNotice {
  evtchn_port_t local_port;
};
static_assert(sizeof(EvtchnBoundNotice) == 12 && sizeof(EvtchnClosedNotice) == 4);

}  // namespace shype::abi
