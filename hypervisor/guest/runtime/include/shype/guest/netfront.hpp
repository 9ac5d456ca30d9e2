// netfront: the guest's network interface frontend (shype/io/netif.hpp),
// on the xenbus client (xenbus.hpp), event channels and grant tables.
//
// A vif is found in xenstore under device/vif/<devid>/ (the toolstack wrote
// backend, backend-id, mac). connect() walks the handshake:
//   1. two ring pages (tx, rx), granted to backend-id, initialised;
//   2. a tx pool of kTxPoolPages pages granted read-only and an rx pool of
//      kRxPoolPages pages granted writable, once (persistent grants: the
//      backend maps each page once and keeps it);
//   3. an unbound event channel for the backend;
//   4. every rx pool page posted as an rx request;
//   5. tx-ring-ref, rx-ring-ref, event-channel, feature-persistent, then
//      state Initialised; waits for the backend's Connected.
// Afterwards send() copies a frame into a free tx page and posts it;
// receive() takes the next rx response, copies the frame out and posts the
// page again, so the backend always has rx pages to deliver into.
//
// The backend is not trusted: responses whose id names no request in
// flight, and rx lengths beyond a frame, are ignored and counted.
//
// Losing the backend: while a call waits, the backend's state is read now
// and then. A backend that is no longer Connected (its driver domain died,
// xend restarted and its store is new) makes the vif lost: the call waits
// (up to 10 s within its own timeout) for the toolstack to offer the vif
// again, possibly from a new backend domain (`backend`, `backend-id` are
// read again), and rejoins it: new grants if the backend domain is a guest
// or changed, a new event channel, both rings initialised again, every rx
// page posted again. Frames in flight are lost (the network may lose
// frames). A vif that does not come back fails the call with -ENOTCONN
// (info()->lost stays true and the next call waits again); a backend in
// Closing (a detach) or Closed with an `error` ends the vif for good.
//
// Freestanding, no heap: at most kMaxVifs vifs, state in static storage.
// Single-threaded like the rest of the runtime. Errors are -errno:
// -ENODEV no devices / no such vif, -ENOTCONN not connected or the backend
// closed, -EINVAL bad arguments, -EAGAIN (send) every tx page in flight,
// -ETIMEDOUT, -E2BIG (receive) the frame does not fit (it is dropped).
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/io/netif.hpp"

namespace shype::guest::netfront {

inline constexpr std::uint32_t kMaxVifs = 2;
inline constexpr std::uint32_t kTxPoolPages = 32;
inline constexpr std::uint32_t kRxPoolPages = 128;
inline constexpr std::int64_t kDefaultTimeoutNs = 30'000'000'000;

struct VifInfo {
  std::uint32_t devid = 0;
  abi::domid_t backend = 0;
  std::uint8_t mac[6] = {};
  abi::evtchn_port_t port = 0;
  abi::grant_ref_t tx_ring_ref = 0;
  abi::grant_ref_t rx_ring_ref = 0;
  std::uint64_t tx_frames = 0;        // sent and answered okay
  std::uint64_t tx_errors = 0;        // answered with an error
  std::uint64_t rx_frames = 0;        // received
  std::uint64_t rx_errors = 0;        // rx responses with an error status
  std::uint64_t bogus_responses = 0;  // ignored: unknown ids, bad lengths
  std::uint64_t reconnects = 0;       // times a lost backend was joined again
  bool lost = false;                  // the backend went away; rejoined when one returns
};

// The device ids under device/vif. Returns how many (at most `capacity` are
// stored) or -errno.
[[nodiscard]] int discover(std::uint32_t* devids, std::uint32_t capacity);

// Connects vif `devid`; returns a handle (>= 0) or -errno.
[[nodiscard]] int connect(std::uint32_t devid, std::int64_t timeout_ns = kDefaultTimeoutNs);
// Closes the vif: state Closing, waits (bounded) for the backend to close,
// ends the grants and the channel. 0 or -errno.
int disconnect(int vif);

[[nodiscard]] const VifInfo* info(int vif);

// Sends one Ethernet frame (kNetifMinFrame..kNetifMaxFrame bytes, starting
// with the destination MAC). Waits up to `timeout_ns` for a free tx page
// when all are in flight (0: do not wait, -EAGAIN). 0 or -errno.
int send(int vif, const void* frame, std::size_t length, std::int64_t timeout_ns = 1'000'000'000);

// Waits up to `timeout_ns` (0: do not wait; negative: forever) for the next
// frame and copies it into `out`. Returns its length, or -errno.
[[nodiscard]] std::int64_t receive(int vif, void* out, std::size_t capacity,
                                   std::int64_t timeout_ns);

// Takes the tx responses that arrived (frees tx pages). Returns how many.
std::uint32_t reap_tx(int vif);

// ---- Misbehaving on purpose (tests) -----------------------------------------
// Writes `count` raw tx requests as given (garbage sizes, offsets, grant
// refs), publishes them and collects the answers for up to timeout_ns;
// returns how many responses arrived, *errors_seen how many were errors.
// Requests beyond the free ring slots are not written.
int inject_raw_tx(int vif, const abi::io::NetifTxRequest* raw, std::uint32_t count,
                  std::int64_t timeout_ns, std::uint32_t* errors_seen);

// Non-device notifications (console input, shutdown requests) that netfront
// receives while it waits go here; by default a shutdown request is obeyed
// and the rest is discarded.
using NotificationHandler = void (*)(Notification* notification);
void set_notification_handler(NotificationHandler handler);

}  // namespace shype::guest::netfront
