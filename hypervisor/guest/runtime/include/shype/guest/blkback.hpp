// blkback for driver domains (manual 10.3.4's VIO server): a guest that
// serves block devices to other domains from its own disks.
//
// The driver domain's disks come from Domain-0 like any guest's (blkfront,
// `disk = [...]` in its own configuration): they are its "hardware". A
// client domain names one of those resources with `backend=<driver>` in its
// disk spec; the toolstack then describes the device in the driver
// domain's xenstore directory backend/vbd/<client>/<devid>/ (params: the
// resource name, mode, resource-ssidref: the resource's label).
//
// For each such device the driver domain:
//  1. finds which of its own disks holds the resource (the `params` that
//     Domain-0's backend recorded for that disk) - none: state Closed with
//     an `error` node;
//  2. publishes sectors, sector-size, info, feature-persistent and waits in
//     InitWait for the client's ring-ref and event-channel;
//  3. binds the client's event channel: the hypervisor's STE check decides
//     whether the two domains may share at all;
//  4. asks the hypervisor whether the client may use the resource
//     (xsm_op resource_access: a type in common between the client's label
//     and the resource's; audited) - denied: the channel is closed, the
//     device stays Closed with `error` "access to <resource> denied by the
//     policy"; this is the driver domain enforcing resource labels;
//  5. maps the ring and serves it: every request is checked (blkif.hpp
//     rules), data moves between the client's granted pages (mapped once and
//     kept: persistent grants) and the driver domain's own disk.
// A client that writes garbage gets error responses; one that overflows its
// ring is disconnected; neither disturbs the other clients.
//
// Freestanding, no heap: at most kMaxClients devices at once.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::guest::blkback {

inline constexpr std::uint32_t kMaxClients = 8;

struct Stats {
  std::uint32_t connected = 0;   // devices being served now
  std::uint32_t refused = 0;     // devices refused (no such disk, policy)
  std::uint64_t requests = 0;    // served
  std::uint64_t errors = 0;      // answered with an error
};

// Connects every disk this domain has (blkfront) and watches
// backend/vbd for clients. Returns how many disks it serves from, or -errno.
[[nodiscard]] int start();

// Serves for at most timeout_ns: watch events (new, changed and removed
// client devices) and every connected ring. Returns 0, or -errno when the
// store is gone. Non-device notifications (shutdown requests) are left
// queued for the kernel.
int serve(std::int64_t timeout_ns);

// One pass of serve() without waiting, for a kernel that serves several
// device classes (guest_vio: disks and vifs): 1 if it did any work, 0 if
// there was nothing to do, -errno when the store is gone.
int poll();

[[nodiscard]] Stats stats();

}  // namespace shype::guest::blkback
