// blkfront: the guest's block device frontend (shype/io/blkif.hpp), on the
// xenbus client (xenbus.hpp), event channels and grant tables.
//
// A disk is found in xenstore under device/vbd/<devid>/ (the toolstack
// wrote it). connect() walks the handshake:
//   1. one ring page (alloc_frames), granted to backend-id, initialised;
//   2. an unbound event channel for the backend;
//   3. a persistent pool of data pages, each granted to the backend once
//      (feature-persistent: the backend maps each page once and keeps it);
//   4. ring-ref, event-channel, protocol, feature-persistent, then state
//      Initialised; waits for the backend's Connected (or Closed: its
//      `error` node says why, e.g. the policy refused the disk);
//   5. reads sectors and info (read-only disks) from the backend.
// Afterwards reads and writes of any sector range are split into requests
// of up to kBlkifMaxSegments pages and keep the ring full. When the caller's
// buffer is a run of pool pages (pool_page), the data moves without a copy.
//
// The backend is not trusted: responses whose id names no request in
// flight are ignored and counted (bogus_responses).
//
// Losing the backend: while requests wait, the backend's state is read
// once a second. A backend that is no longer Connected (its domain died,
// xend restarted and its store is new) makes the disk lost: the call waits
// (up to 10 s within its own timeout) for the toolstack to offer the disk
// again, possibly from a new backend domain (the frontend directory's
// `backend` and `backend-id` are read again), rejoins it with a new event
// channel (and new grants if the backend domain changed), and sends the
// requests still in flight again, oldest first. A disk that does not come
// back fails the call with -ENOTCONN; the next call waits again. A backend
// in Closing (a detach) or Closed with an `error` (refused) ends the disk
// for good.
//
// Freestanding, no heap: at most kMaxDisks disks, state in static storage.
// Single-threaded like the rest of the runtime. Errors are -errno:
// -ENODEV no devices / no such disk, -ENOTCONN the backend closed, refused
// or went away and did not come back (see "Losing the backend"), -EROFS a
// write to a read-only disk, -EIO the backend answered
// with an error, -ETIMEDOUT, -EINVAL bad arguments, -EAGAIN (submit) no
// free ring slot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/io/blkif.hpp"

namespace shype::guest::blkfront {

inline constexpr std::uint32_t kMaxDisks = 4;
// Pool pages per disk: enough for every ring slot's every segment.
inline constexpr std::uint32_t kMaxPoolPages =
    abi::io::BlkifSharedRing::kSlots * abi::io::kBlkifMaxSegments;
inline constexpr std::uint32_t kDefaultPoolPages = 128;
// How long connect() and each synchronous call wait at most.
inline constexpr std::int64_t kDefaultTimeoutNs = 30'000'000'000;

struct DiskInfo {
  std::uint32_t devid = 0;
  abi::domid_t backend = 0;
  std::uint64_t sectors = 0;
  std::uint32_t sector_size = 0;
  bool readonly = false;
  std::uint32_t pool_pages = 0;
  std::uint64_t requests = 0;         // sent
  std::uint64_t errors = 0;           // answered with an error
  std::uint64_t bogus_responses = 0;  // ids naming no request in flight (ignored)
  std::uint64_t reconnects = 0;       // times a lost backend was joined again
};

// The device ids under device/vbd (ascending order as the store lists
// them). Returns how many (at most `capacity` are stored) or -errno.
[[nodiscard]] int discover(std::uint32_t* devids, std::uint32_t capacity);

// Connects disk `devid` with a pool of `pool_pages` (1..kMaxPoolPages) data
// pages. Returns a disk handle (>= 0) or -errno. When the backend refuses,
// the backend's `error` text is copied into `why` (if given).
[[nodiscard]] int connect(std::uint32_t devid, std::uint32_t pool_pages = kDefaultPoolPages,
                          char* why = nullptr, std::size_t why_capacity = 0);
// Closes the disk: waits for requests in flight (bounded), state Closed,
// ends the grants. 0 or -errno.
int disconnect(int disk);

[[nodiscard]] const DiskInfo* info(int disk);

// ---- Synchronous I/O -----------------------------------------------------
// `count` sectors from `sector`, any size; `buffer` holds count * 512 bytes.
int read(int disk, std::uint64_t sector, std::uint64_t count, void* buffer);
int write(int disk, std::uint64_t sector, std::uint64_t count, const void* buffer);
// flush_diskcache: the backend syncs the image.
int flush(int disk);

// The pool's data pages (page-aligned): a buffer made of consecutive pool
// pages moves without copying. nullptr if index is out of range.
[[nodiscard]] void* pool_page(int disk, std::uint32_t index);
// The grant reference of pool page `index` (for inject_raw); 0 if none.
[[nodiscard]] abi::grant_ref_t pool_gref(int disk, std::uint32_t index);

// ---- Asynchronous I/O (benchmarks) ----------------------------------------
// The caller owns the pool pages it names; synchronous calls with buffers
// outside the pool borrow free pool pages as bounce buffers, so the two are
// not mixed while asynchronous requests are in flight.
// One request over `pages` (1..kBlkifMaxSegments) consecutive pool pages
// from `first_page`, whole pages (8 sectors each) from `sector`. `tag`
// comes back in the completion. 0, -EAGAIN (ring full), -EINVAL, -EROFS.
// Requests are queued, not yet published: the next complete() publishes
// every queued request with at most one notification, so a backend woken by
// it finds the whole batch instead of the first request.
int submit(int disk, abi::io::BlkifOp op, std::uint64_t sector, std::uint32_t first_page,
           std::uint32_t pages, std::uint64_t tag);
struct Completion {
  std::uint64_t tag = 0;
  int status = 0;  // 0 or -EIO
};
// Publishes the queued requests, then returns the completions ready now (up
// to `capacity`); waits up to timeout_ns for the first one when none is (0:
// do not wait). Returns how many or -errno.
int complete(int disk, Completion* out, std::uint32_t capacity, std::int64_t timeout_ns);
// Requests submitted and not yet completed.
[[nodiscard]] std::uint32_t in_flight(int disk);

// ---- Misbehaving on purpose (tests) -----------------------------------------
// Writes `raw` requests straight into the ring as given (garbage, bogus
// grant refs) and publishes `claimed` as the producer index advance (more
// than the ring holds to overflow it). Collects the answers that come within
// timeout_ns; returns how many responses arrived or -errno. For the
// robustness tests of the backend only.
int inject_raw(int disk, const abi::io::BlkifRequest* raw, std::uint32_t count,
               std::uint32_t claimed, std::int64_t timeout_ns, std::uint32_t* errors_seen);

// Non-device notifications (console input, shutdown requests) that blkfront
// receives while it waits go here; by default a shutdown request is obeyed
// and the rest is discarded.
using NotificationHandler = void (*)(Notification* notification);
void set_notification_handler(NotificationHandler handler);

}  // namespace shype::guest::blkfront
