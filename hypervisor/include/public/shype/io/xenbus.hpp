// How a guest finds its devices (after Xen's io/xenbus.h and the reserved
// grant references of grant_table.h).
//
// Bootstrap. Domain-0's toolstack creates the domain paused, allocates two
// unbound event channels in it for Domain-0 (console and xenstore), binds
// them, writes their ports into the guest's shared_info (domctl
// set_start_info) and unpauses it. The guest runtime, at start, sees
// shared_info.start_flags & kStartDevices and:
//   1. grants its console page to Domain-0 first and its store page second,
//      so they are grant references kGrantRefConsole and kGrantRefXenstore,
//      as Xen reserves them;
//   2. initialises both pages, then notifies both ports.
// Domain-0 maps the two grants on the first notification. A guest started
// without devices (start_flags 0) uses only the hypervisor's console.
//
// Devices. Every split device is described in xenstore by two directories:
//   frontend /local/domain/<front>/device/<class>/<devid>/
//       backend, backend-id, state, plus what the frontend publishes
//       (ring-ref, event-channel, ...);
//   backend  /local/domain/<back>/backend/<class>/<front>/<devid>/
//       frontend, frontend-id, state, plus the device's parameters.
// Both sides walk the XenbusState machine below and watch each other's
// `state` node. <class> is "vbd" (block, blkif.hpp) or "vif" (network,
// netif.hpp); <devid> is decimal.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi::io {

inline constexpr grant_ref_t kGrantRefConsole = 0;
inline constexpr grant_ref_t kGrantRefXenstore = 1;

// shared_info.start_flags
inline constexpr std::uint32_t kStartDevices = 1u << 0;  // console + store ports are set

enum class XenbusState : std::uint32_t {
  unknown = 0,
  initialising = 1,
  init_wait = 2,  // backend: waiting for the frontend's details
  initialised = 3,  // frontend: details published
  connected = 4,
  closing = 5,
  closed = 6,
  reconfiguring = 7,
  reconfigured = 8,
};

}  // namespace shype::abi::io
