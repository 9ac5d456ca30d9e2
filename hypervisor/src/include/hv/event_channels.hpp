// A domain's event-channel ports (event_channels.cpp, docs/hypercall-abi.md
// "event_channel_op (32)").
//
// The table is pure bookkeeping: which port is in which state, who its
// remote end is, and the hypervisor's copy of the port's own doorbell. The
// Hypervisor's handlers do the look-ups across domains, the XSM checks and
// the notifications; everything here is local to one domain, so it can be
// unit tested without a hypervisor.
//
// Limits (Xen's 2-level ABI for 32-bit guests): ports 1..kMaxEventChannels-1,
// the size of shared_info's pending bitmap. Port 0 is never allocated (as
// Xen reserves it), so 0 is never a valid answer and always ECS_FREE.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "hv/unique_fd.hpp"
#include "shype/abi.hpp"
#include "shype/event_channel.hpp"
#include "shype/shared_info.hpp"

namespace shype::hv {

class EventChannels {
 public:
  // Ports are 1..kPortLimit-1 (the pending bitmap has kPortLimit bits).
  static constexpr abi::evtchn_port_t kPortLimit = abi::kMaxEventChannels;
  // Virq values are small (abi::Virq); one slot per possible value.
  static constexpr std::uint32_t kVirqSlots = 32;

  struct Port {
    abi::EvtchnState state = abi::EvtchnState::closed;
    // unbound: the domain that may bind it; interdomain: the peer's domain.
    abi::domid_t remote_dom = 0;
    // The serial (Domain::serial) of that domain: a port allocated for a
    // domain id is never bound by a later domain that reuses the id.
    std::uint32_t remote_serial = 0;
    abi::evtchn_port_t remote_port = 0;  // interdomain
    abi::Virq virq = abi::Virq::timer;   // virq
    // Domain-0 only: the connection the port belongs to (its notices go
    // there; it closes with it). 0 for guests.
    std::uint64_t connection = 0;
    // The hypervisor's copy of this end's own doorbell (the eventfd this
    // end waits on): EVTCHNOP_send from the peer and virqs to Domain-0 ring
    // it. Invalid for unbound ports and for guests' virq ports, which are
    // delivered through shared_info.
    UniqueFd doorbell;
  };

  // Takes the lowest free port >= 1 and gives it `initial` (whose state
  // must not be closed). nullopt when every port is in use.
  [[nodiscard]] std::optional<abi::evtchn_port_t> allocate(Port initial);
  // The port if it is allocated (not closed), else nullptr. Ports outside
  // 1..kPortLimit-1 are never allocated.
  [[nodiscard]] Port* find(abi::evtchn_port_t port) noexcept;
  [[nodiscard]] const Port* find(abi::evtchn_port_t port) const noexcept;
  // Returns the port to closed and closes the hypervisor's doorbell copy;
  // no-op for a port that is not allocated.
  void free(abi::evtchn_port_t port) noexcept;

  // The port bound to `virq`, or 0.
  [[nodiscard]] abi::evtchn_port_t virq_port(abi::Virq virq) const noexcept;

  // Every allocated port, ascending.
  [[nodiscard]] std::vector<abi::evtchn_port_t> allocated() const;
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
  // Ports whose doorbell the hypervisor keeps (a descriptor each); unbound
  // ports and guests' virq ports hold none.
  [[nodiscard]] std::size_t doorbells_held() const noexcept;

 private:
  // Index = port; grows on demand (most domains use a handful of ports).
  std::vector<Port> ports_;
  std::array<abi::evtchn_port_t, kVirqSlots> virq_ports_{};
  std::size_t in_use_ = 0;
};

}  // namespace shype::hv
