// netback for driver domains (manual 10.3.4's VIO server): a guest that
// bridges other domains' network interfaces (shype/io/netif.hpp), with the
// same label control as Domain-0's bridge (docs/devices-net.md).
//
// A client domain names the driver domain with `backend=<driver>` in its
// vif spec; the toolstack then describes the vif in the driver domain's
// xenstore directory backend/vif/<client>/<devid>/ (frontend, frontend-id,
// mac, bridge, handle; state written last). For each such vif the driver
// domain:
//  1. reads mac and bridge (a multicast or malformed mac: refused), writes
//     feature-persistent and InitWait, and watches the frontend's state;
//  2. once the frontend is Initialised, binds its event channel (the
//     hypervisor's STE check decides whether the two domains may share at
//     all: refused -> state Closed with `error`), maps the tx and rx ring
//     pages and writes Connected;
//  3. serves the tx ring: every request is range-checked (flags 0, size
//     kNetifMinFrame..kNetifMaxFrame, offset + size within the page), its
//     page mapped once and kept (persistent grants, at most kMaxTxPages /
//     kMaxRxPages per vif), the frame copied out before it is looked at;
//     a bad request gets kNetifRspError and is counted; a frontend that
//     overflows a ring is disconnected (state Closing, `error`);
//  4. bridges the frame (a learning switch per bridge name,
//     learning_table.hpp; broadcast, multicast and unknown destinations
//     are flooded) and, for EVERY destination, asks the hypervisor
//     whether the frame may pass (xsm_op frame_access: an STE type in
//     common between the two clients' labels; a refusal is audited by the
//     hypervisor). Not cached: the hypervisor offers a guest no signal of a
//     policy change or relabel, so asking per frame is what makes those
//     take effect at once. A denied frame is counted (Stats::denied), a
//     frame a destination has no rx page for is dropped and counted;
//  5. lets go when the frontend closes or the toolstack removes the vif.
//
// Freestanding, no heap: at most kMaxVifs vifs and kMaxAddresses learned
// addresses at once; further vifs wait for a free slot.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/guest/netfront.hpp"

namespace shype::guest::netback {

inline constexpr std::uint32_t kMaxVifs = 8;
// Persistent grants kept per vif: netfront's pools. A client whose pool is
// bigger gets its other pages mapped for one copy at a time. (A guest holds
// at most abi::kMaxMapsPerDomain mappings: 8 vifs with full pools and their
// rings take 1296 and would exceed it; mappings the hypervisor refuses
// make those frames errors.)
inline constexpr std::uint32_t kMaxTxPages = netfront::kTxPoolPages;
inline constexpr std::uint32_t kMaxRxPages = netfront::kRxPoolPages;
inline constexpr std::uint32_t kMaxAddresses = 64;
// Tx requests served per vif and pass, so one client cannot starve the rest.
inline constexpr std::uint32_t kTxBudget = 64;

struct Stats {
  std::uint32_t connected = 0;   // vifs being served now
  std::uint32_t refused = 0;     // vifs refused or disconnected for misbehaving
  std::uint64_t frames = 0;      // tx frames taken from clients and bridged
  std::uint64_t delivered = 0;   // copies delivered into a client's rx page
  std::uint64_t denied = 0;      // copies the hypervisor refused (labels share no type)
  std::uint64_t dropped = 0;     // copies a destination had no rx page for
  std::uint64_t errors = 0;      // tx requests answered with an error
  std::uint64_t questions = 0;   // frame_access hypercalls made
};

// Watches backend/vif under this domain's home. 0, or -errno.
[[nodiscard]] int start();

// One pass without waiting: watch events (new, changed and removed vifs,
// frontend states) and every connected ring. Returns 1 if it did any work
// (a frame, a state change), 0 if there was nothing to do, -errno if the
// store is gone. The caller waits for events between idle passes.
int poll();

[[nodiscard]] Stats stats();

// Writes the counters of every connected vif whose counters moved since the
// last call into its backend directory, node `statistics`:
// "tx=<frames from the client> rx=<delivered to it> denied=<its frames the
// hypervisor refused> dropped=<frames for it without an rx page>
// errors=<its tx requests answered with an error>", for the toolstack's
// `xm network-list`. Returns how many were written, or -errno.
int publish_vif_stats();

}  // namespace shype::guest::netback
