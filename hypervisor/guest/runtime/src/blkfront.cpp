// blkfront: see shype/guest/blkfront.hpp.
#include "shype/guest/blkfront.hpp"

#include "frontend_common.hpp"
#include "internal.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/xenbus.hpp"
#include "text.hpp"

namespace shype::guest::blkfront {
namespace {

using abi::io::BlkifOp;
using abi::io::BlkifRequest;
using abi::io::BlkifResponse;
using abi::io::BlkifSharedRing;
using abi::io::XenbusState;

using sys::kEBUSY;
using sys::kENODEV;
using sys::kENOTCONN;
using sys::kEROFS;

constexpr std::uint32_t kSlots = BlkifSharedRing::kSlots;
constexpr std::uint32_t kSegs = abi::io::kBlkifMaxSegments;
constexpr std::uint32_t kSectorsPerPage = abi::io::kSectorsPerPage;
constexpr std::uint64_t kMaxSectorsPerRequest = std::uint64_t{kSegs} * kSectorsPerPage;

using detail::copy_text;
using detail::parse_u64;
using Text = detail::Text<160>;
// ---- State ---------------------------------------------------------------

// One request in flight, named by its response id: slot | generation << 8.
struct Shadow {
  bool in_use;
  bool async;
  bool abandoned;  // a synchronous call gave up on it (abandon_sync)
  std::uint8_t operation;
  std::uint8_t pages;
  std::uint8_t last_sectors;  // sectors in the last page (1..8)
  std::uint32_t generation;
  std::uint64_t tag;
  std::uint64_t sector;
  std::uint32_t page[kSegs];  // pool pages
  bool bounce;                // pages taken from the free pool (sync I/O)
  std::uint8_t* copy_to;      // sync read through bounce pages: where the data goes
  std::uint64_t copy_bytes;
};

struct Disk {
  bool used;
  bool connected;
  // The backend went away while the disk was connected (xend restarted,
  // its driver domain died): the requests in flight wait in `shadow` until
  // reconnect() finds a backend again.
  bool lost;
  DiskInfo info;
  char dir[48];
  char backend_dir[128];
  BlkifSharedRing* ring_page;
  abi::io::BlkifFrontRing ring;
  std::uint32_t ring_frame;
  abi::grant_ref_t ring_ref;
  abi::evtchn_port_t port;
  std::uint32_t pool_first_frame;
  abi::grant_ref_t pool_ref[kMaxPoolPages];
  bool page_busy[kMaxPoolPages];
  Shadow shadow[kSlots];
  std::uint32_t generation;
  // Finished async requests, oldest first.
  Completion done[kSlots];
  std::uint32_t done_head;
  std::uint32_t done_count;
  // Sync I/O in progress: failures seen by its requests.
  std::uint32_t sync_in_flight;
  int sync_status;
  // Spinning before a sleep (see Waiter::spin): spins in this window,
  // those that saw an answer, and waits left before spinning again.
  std::uint32_t spins;
  std::uint32_t spin_hits;
  std::uint32_t spin_rest;
};

Disk g_disks[kMaxDisks];
Notification g_notification;

NotificationHandler g_handler = detail::frontend_default_handler;

Disk* disk_at(int disk) {
  if (disk < 0 || static_cast<std::uint32_t>(disk) >= kMaxDisks) return nullptr;
  Disk* d = &g_disks[disk];
  return d->used ? d : nullptr;
}

// One bounded wait for something to happen; the caller re-checks its ring.
void wait_a_little(std::int64_t deadline_ns) {
  const auto now = static_cast<std::int64_t>(now_ns());
  std::int64_t step = deadline_ns - now;
  if (step > 10'000'000) step = 10'000'000;
  if (step < 0) step = 0;
  detail::frontend_wait(step, &g_notification, g_handler);
}

std::int64_t deadline_after(std::int64_t timeout_ns) {
  return static_cast<std::int64_t>(now_ns()) + timeout_ns;
}

constexpr std::int64_t kBackendCheckNs = 1'000'000'000;
// Waiter::spin: pauses per spin (about 20 ns each on x86-64); a window of
// spins, the answered spins it needs, and the waits of rest when it has
// fewer.
constexpr std::uint32_t kSpinPauses = 2560;
constexpr std::uint32_t kSpinWindow = 16;
constexpr std::uint32_t kSpinMinHits = 4;
constexpr std::uint32_t kSpinRest = 256;

int reconnect(Disk& d, std::int64_t deadline_ns);
int ensure_connected(Disk& d, std::int64_t timeout_ns);

// The waits of one operation on a disk's answers, bounded by `timeout_ns`
// from the first wait. The clock is read once per wait and never when the
// answers are already there (each read is a system call in a static guest).
// A backend whose domain died, or whose xend restarted, answers nothing:
// while requests wait, its state is read once a second, and when it is no
// longer Connected the disk is lost and reconnect() waits for a backend to
// take it up again (the requests in flight are sent to it); a disk that
// does not come back is disconnected.
class Waiter {
 public:
  enum class Result : std::uint8_t { waited, timed_out, disconnected };
  explicit Waiter(std::int64_t timeout_ns) : timeout_ns_(timeout_ns) {}

  // One wait; `d`'s backend state is checked once a second (not when null).
  Result wait(Disk* d) {
    const auto now = static_cast<std::int64_t>(now_ns());
    if (!started_) {
      started_ = true;
      deadline_ = now + timeout_ns_;
      next_check_ = now + kBackendCheckNs;
    }
    if (now >= deadline_) return Result::timed_out;
    if (d != nullptr && now >= next_check_) {
      next_check_ = now + kBackendCheckNs;
      if (xenbus::read_state(d->backend_dir) != XenbusState::connected) {
        if (reconnect(*d, deadline_) != 0) return Result::disconnected;
        next_check_ = static_cast<std::int64_t>(now_ns()) + kBackendCheckNs;
        return Result::waited;
      }
    }
    if (d != nullptr && spin(*d)) return Result::waited;
    std::int64_t step = deadline_ - now;
    if (step > 10'000'000) step = 10'000'000;
    detail::frontend_wait(step, &g_notification, g_handler);
    return Result::waited;
  }

  // Before sleeping, watches the ring for a short while (about 50 us):
  // when the backend runs on another CPU (Domain-0's CPUs set apart with
  // dom0_cpus in boot.conf, docs/devices-block.md) its next answers often
  // come within that time, and catching them here saves the two wake-ups
  // of a sleep. When the backend shares this CPU, spinning only keeps it
  // from running: spins are judged by the kSpinWindow of them, and if
  // fewer than kSpinMinHits saw an answer, the next kSpinRest waits sleep
  // at once before spinning is tried again. True if an answer came.
  static bool spin(Disk& d) {
    if (d.spin_rest > 0) {
      --d.spin_rest;
      return false;
    }
    bool hit = false;
    for (std::uint32_t i = 0; i < kSpinPauses && !hit; ++i) {
      hit = d.ring.has_responses();
      if (!hit) __builtin_ia32_pause();
    }
    d.spin_hits += hit ? 1 : 0;
    if (++d.spins == kSpinWindow) {
      if (d.spin_hits < kSpinMinHits) d.spin_rest = kSpinRest;
      d.spins = 0;
      d.spin_hits = 0;
    }
    return hit;
  }

 private:
  std::int64_t timeout_ns_;
  std::int64_t deadline_ = 0;
  std::int64_t next_check_ = 0;
  bool started_ = false;
};

int wait_error(Waiter::Result r) {
  return r == Waiter::Result::timed_out ? -sys::kETIMEDOUT : -kENOTCONN;
}

// ---- Requests --------------------------------------------------------------

int free_shadow(Disk& d) {
  for (std::uint32_t i = 0; i < kSlots; ++i) {
    if (!d.shadow[i].in_use) return static_cast<int>(i);
  }
  return -1;
}

void release_pages(Disk& d, const Shadow& s) {
  if (!s.bounce) return;
  for (std::uint32_t i = 0; i < s.pages; ++i)
    d.page_busy[s.page[i]] = false;
}

// Takes every response; returns how many were ours.
std::uint32_t take_responses(Disk& d) {
  std::uint32_t taken = 0;
  BlkifResponse rsp{};
  while (d.ring.take_response(&rsp)) {
    const std::uint64_t slot = rsp.id & 0xffu;
    const std::uint64_t generation = rsp.id >> 8;
    Shadow* s = slot < kSlots ? &d.shadow[slot] : nullptr;
    if (s == nullptr || !s->in_use || s->generation != generation ||
        s->operation != rsp.operation) {
      ++d.info.bogus_responses;
      continue;
    }
    ++taken;
    const int status = rsp.status == abi::io::kBlkifRspOkay ? 0 : -sys::kEIO;
    if (status != 0) ++d.info.errors;
    if (s->abandoned) {
      // Its caller has returned: nothing to deliver.
    } else if (s->async) {
      const std::uint32_t at = (d.done_head + d.done_count) % kSlots;
      d.done[at] = Completion{s->tag, status};
      ++d.done_count;
    } else {
      if (status == 0 && s->copy_to != nullptr) {
        std::uint64_t left = s->copy_bytes;
        std::uint8_t* out = s->copy_to;
        for (std::uint32_t i = 0; i < s->pages && left > 0; ++i) {
          const std::uint64_t n = left < abi::kPageSize ? left : abi::kPageSize;
          memcpy(out, frame_address(d.pool_first_frame + s->page[i]), n);
          out += n;
          left -= n;
        }
      }
      if (status != 0 && d.sync_status == 0) d.sync_status = status;
      --d.sync_in_flight;
    }
    release_pages(d, *s);
    s->in_use = false;
  }
  return taken;
}

void publish(Disk& d) {
  if (d.ring.push_requests()) (void)evtchn::notify(d.port);
}

// Writes shadow `slot`'s request into the next ring slot (a new request,
// or one sent again to a new backend by rejoin()).
void put_request(Disk& d, int slot) {
  const Shadow& s = d.shadow[slot];
  const auto op = static_cast<BlkifOp>(s.operation);
  BlkifRequest request{};
  request.operation = s.operation;
  request.nr_segments = op == BlkifOp::flush_diskcache ? 0 : s.pages;
  request.handle = static_cast<std::uint16_t>(d.info.devid & 0xffffu);
  request.id = (std::uint64_t{s.generation} << 8) | static_cast<std::uint64_t>(slot);
  request.sector_number = s.sector;
  for (std::uint32_t i = 0; i < request.nr_segments; ++i) {
    request.seg[i].gref = d.pool_ref[s.page[i]];
    request.seg[i].first_sect = 0;
    request.seg[i].last_sect = static_cast<std::uint8_t>(
        i + 1 == request.nr_segments ? s.last_sectors - 1 : kSectorsPerPage - 1);
  }
  memcpy(d.ring.next_request(), &request, sizeof request);
}

// Fills a ring slot for a request over pool pages `pages`; the last page
// holds `last_sectors` (1..8) sectors.
void queue_request(Disk& d, int slot, BlkifOp op, std::uint64_t sector,
                   std::uint32_t last_sectors) {
  Shadow& s = d.shadow[slot];
  s.in_use = true;
  s.abandoned = false;
  s.operation = static_cast<std::uint8_t>(op);
  s.generation = ++d.generation & 0x00ffffffu;
  s.sector = sector;
  s.last_sectors = static_cast<std::uint8_t>(last_sectors);
  put_request(d, slot);
  ++d.info.requests;
}

// A synchronous call gives up on its requests (timed out, or the backend
// is lost): their buffers are the caller's, so an answer that comes later
// only frees the slot and the bounce pages, and rejoin() does not send
// them again.
void abandon_sync(Disk& d) {
  for (Shadow& s : d.shadow) {
    if (s.in_use && !s.async) {
      s.abandoned = true;
      s.copy_to = nullptr;
    }
  }
  d.sync_in_flight = 0;
}

// Free pool pages (for bounce buffers); true if `count` were found.
bool take_free_pages(Disk& d, std::uint32_t count, std::uint32_t* out) {
  std::uint32_t found = 0;
  for (std::uint32_t i = 0; i < d.info.pool_pages && found < count; ++i) {
    if (!d.page_busy[i]) out[found++] = i;
  }
  if (found < count) return false;
  for (std::uint32_t i = 0; i < count; ++i)
    d.page_busy[out[i]] = true;
  return true;
}

// The pool page index of `address` if it is the start of a pool page.
bool pool_index_of(const Disk& d, const void* address, std::uint32_t* index) {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  const auto base = reinterpret_cast<std::uintptr_t>(frame_address(d.pool_first_frame));
  if (a < base || (a - base) % abi::kPageSize != 0) return false;
  const std::uintptr_t page = (a - base) / abi::kPageSize;
  if (page >= d.info.pool_pages) return false;
  *index = static_cast<std::uint32_t>(page);
  return true;
}

int sync_io(int disk, BlkifOp op, std::uint64_t sector, std::uint64_t count, std::uint8_t* buffer) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  if (const int rc = ensure_connected(*d, kDefaultTimeoutNs); rc < 0) return rc;
  if (op == BlkifOp::write && d->info.readonly) return -kEROFS;
  if (count == 0) return 0;
  if (sector > d->info.sectors || count > d->info.sectors - sector) return -sys::kEINVAL;
  // Zero copy when the buffer is a run of pool pages.
  std::uint32_t first_pool = 0;
  const std::uint64_t pages_needed = (count + kSectorsPerPage - 1) / kSectorsPerPage;
  const bool zero_copy = pool_index_of(*d, buffer, &first_pool) &&
                         first_pool + pages_needed <= d->info.pool_pages;
  d->sync_status = 0;
  d->sync_in_flight = 0;
  Waiter waiter(kDefaultTimeoutNs);
  std::uint64_t done = 0;
  while (done < count || d->sync_in_flight > 0) {
    bool queued = false;
    while (done < count && d->sync_status == 0 && d->ring.free_requests() > 0) {
      const int slot = free_shadow(*d);
      if (slot < 0) break;
      Shadow& s = d->shadow[slot];
      const std::uint64_t left = count - done;
      const std::uint64_t sectors = left < kMaxSectorsPerRequest ? left : kMaxSectorsPerRequest;
      const auto pages = static_cast<std::uint32_t>((sectors + kSectorsPerPage - 1) / kSectorsPerPage);
      s.async = false;
      s.pages = static_cast<std::uint8_t>(pages);
      s.copy_to = nullptr;
      s.copy_bytes = 0;
      if (zero_copy) {
        s.bounce = false;
        const auto first = static_cast<std::uint32_t>(first_pool + done / kSectorsPerPage);
        for (std::uint32_t i = 0; i < pages; ++i)
          s.page[i] = first + i;
      } else {
        s.bounce = true;
        if (!take_free_pages(*d, pages, s.page)) break;
        std::uint8_t* at = buffer + done * abi::io::kSectorSize;
        const std::uint64_t bytes = sectors * abi::io::kSectorSize;
        if (op == BlkifOp::write) {
          std::uint64_t left_bytes = bytes;
          for (std::uint32_t i = 0; i < pages; ++i) {
            const std::uint64_t n = left_bytes < abi::kPageSize ? left_bytes : abi::kPageSize;
            memcpy(frame_address(d->pool_first_frame + s.page[i]), at, n);
            at += n;
            left_bytes -= n;
          }
        } else {
          s.copy_to = at;
          s.copy_bytes = bytes;
        }
      }
      const auto last = static_cast<std::uint32_t>(sectors - std::uint64_t{pages - 1} * kSectorsPerPage);
      queue_request(*d, slot, op, sector + done, last);
      ++d->sync_in_flight;
      done += sectors;
      queued = true;
    }
    if (queued) publish(*d);
    if (take_responses(*d) > 0) continue;
    if (d->sync_status != 0 && d->sync_in_flight == 0) break;
    if (d->ring.final_check_for_responses()) continue;
    if (const auto r = waiter.wait(d); r != Waiter::Result::waited) {
      abandon_sync(*d);
      return wait_error(r);
    }
  }
  return d->sync_status;
}

int read_backend_error(const Disk& d, char* why, std::size_t capacity) {
  if (why == nullptr || capacity == 0) return 0;
  if (xenbus::read_node(d.backend_dir, "error", why, capacity) < 0) {
    copy_text(why, capacity, "backend closed");
  }
  return 0;
}

// Whether the toolstack still has the device (writing to a removed
// directory would bring it back).
bool device_present(const char* dir) {
  std::uint64_t ignored = 0;
  return xenbus::read_node_u64(dir, "backend-id", &ignored) == 0;
}

int write_node(const char* dir, const char* node, const char* value) {
  if (!device_present(dir)) return -kENODEV;
  return xenbus::write_node(dir, node, value);
}

int switch_state(const char* dir, XenbusState state) {
  if (!device_present(dir)) return -kENODEV;
  return xenbus::switch_state(dir, state);
}

int write_node_u64(const char* dir, const char* node, std::uint64_t value) {
  if (!device_present(dir)) return -kENODEV;
  return xenbus::write_node_u64(dir, node, value);
}

// Undoes a partial connect.
void release(Disk& d, std::uint32_t granted_pages) {
  for (std::uint32_t i = 0; i < granted_pages; ++i)
    (void)gnttab::end_access(d.pool_ref[i]);
  if (d.port != 0) (void)evtchn::close(d.port);
  if (d.ring_page != nullptr) (void)gnttab::end_access(d.ring_ref);
  d.used = false;
}

// ---- Reconnecting ----------------------------------------------------------

// Grants name their grantee domain (the very instance of it): a backend in
// another domain, or in a driver domain started again, gets new ones. The
// old ones end first (a frame has one grant at a time); the dead backend's
// mappings went with it, so a grant still mapped means that it is still
// going: -EBUSY, and the next look tries again.
int regrant(Disk& d, abi::domid_t backend) {
  const int ring_ended = gnttab::end_access(d.ring_ref);
  if (ring_ended == -sys::kEBUSY) return -sys::kEBUSY;
  for (std::uint32_t i = 0; i < d.info.pool_pages; ++i) {
    if (gnttab::end_access(d.pool_ref[i]) == -sys::kEBUSY) return -sys::kEBUSY;
  }
  const std::int64_t ring_ref = gnttab::grant_access(backend, d.ring_frame, false);
  if (ring_ref < 0) return static_cast<int>(ring_ref);
  d.ring_ref = static_cast<abi::grant_ref_t>(ring_ref);
  for (std::uint32_t i = 0; i < d.info.pool_pages; ++i) {
    const std::int64_t ref = gnttab::grant_access(backend, d.pool_first_frame + i, false);
    if (ref < 0) return static_cast<int>(ref);
    d.pool_ref[i] = static_cast<abi::grant_ref_t>(ref);
  }
  d.info.backend = backend;
  return 0;
}

// The handshake again, with a backend waiting in InitWait: a new event
// channel, the ring page initialised and the requests still in flight
// written into it again, oldest first (writes to one sector keep their
// order), then Initialised and the backend's Connected.
int rejoin(Disk& d, abi::domid_t backend, std::int64_t deadline_ns) {
  (void)take_responses(d);  // what the old backend answered before it went
  for (Shadow& s : d.shadow) {
    if (s.in_use && s.abandoned) {
      release_pages(d, s);
      s.in_use = false;
    }
  }
  if (backend != abi::kDomain0 || backend != d.info.backend) {
    if (const int rc = regrant(d, backend); rc < 0) return rc;
  }
  if (d.port != 0) (void)evtchn::close(d.port);
  d.port = 0;
  const std::int64_t port = evtchn::alloc_unbound(backend);
  if (port < 0) return static_cast<int>(port);
  d.port = static_cast<abi::evtchn_port_t>(port);
  d.ring_page->init();
  d.ring = abi::io::BlkifFrontRing(d.ring_page);
  bool sent[kSlots] = {};
  for (;;) {
    int oldest = -1;
    for (std::uint32_t i = 0; i < kSlots; ++i) {
      const Shadow& s = d.shadow[i];
      if (!s.in_use || sent[i]) continue;
      // Generations grow by one per request (modulo 2^24): the oldest is
      // the furthest behind the current one.
      if (oldest < 0 || ((d.generation - s.generation) & 0x00ffffffu) >
                            ((d.generation - d.shadow[oldest].generation) & 0x00ffffffu)) {
        oldest = static_cast<int>(i);
      }
    }
    if (oldest < 0) break;
    sent[oldest] = true;
    put_request(d, oldest);
  }
  int rc = write_node_u64(d.dir, "ring-ref", d.ring_ref);
  if (rc == 0) rc = write_node_u64(d.dir, "event-channel", d.port);
  if (rc == 0) rc = write_node(d.dir, "protocol", "x86_64-abi");
  if (rc == 0) rc = write_node(d.dir, "feature-persistent", "1");
  if (rc == 0) rc = switch_state(d.dir, XenbusState::initialised);
  const auto now = static_cast<std::int64_t>(now_ns());
  if (rc == 0) {
    rc = deadline_ns > now ? xenbus::wait_for_state(d.backend_dir, XenbusState::connected,
                                                    deadline_ns - now)
                           : -sys::kETIMEDOUT;
  }
  if (rc < 0) return rc;
  (void)switch_state(d.dir, XenbusState::connected);
  d.connected = true;
  d.lost = false;
  ++d.info.reconnects;
  publish(d);
  return 0;
}

// The disk's backend went away: waits (until `deadline_ns`, at most
// kReconnectWaitNs) for a backend to take the disk up again and rejoins
// it. 0 when connected again; -ENOTCONN when the device was detached or
// refused (for good: later calls fail at once) or no backend came in time
// (a later call waits again).
int reconnect(Disk& d, std::int64_t deadline_ns) {
  d.connected = false;
  d.lost = true;
  bool ended = false;
  const int rc = detail::wait_for_backend(
      d.dir, d.backend_dir, sizeof d.backend_dir, deadline_ns, &ended, &g_notification, g_handler,
      [&d](abi::domid_t backend, std::int64_t limit) { return rejoin(d, backend, limit); });
  if (ended) d.lost = false;
  return rc;
}

// A call on a disk that is not connected: a lost one first tries to get
// its backend back (within timeout_ns).
int ensure_connected(Disk& d, std::int64_t timeout_ns) {
  if (d.connected) return 0;
  if (!d.lost || timeout_ns <= 0) return -kENOTCONN;
  return reconnect(d, deadline_after(timeout_ns));
}

}  // namespace

int discover(std::uint32_t* devids, std::uint32_t capacity) {
  if (!devices_available()) return -kENODEV;
  static char names[1024];
  std::uint32_t count = 0;
  const int rc = xenbus::directory("device/vbd", names, sizeof names, &count);
  if (rc == -sys::kENOENT) return 0;
  if (rc < 0) return rc;
  const char* name = names;
  std::uint32_t stored = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t value = 0;
    // The toolstack writes a device's state last: a directory without it is
    // still being filled in, and is found again once it is complete.
    detail::Text<64> path;  // read_state adds "/state"
    path.add("device/vbd/").add(name);
    const bool complete = path.ok() && xenbus::read_state(path.c_str()) != XenbusState::unknown;
    if (complete && parse_u64(name, &value) && value <= 0xffffffffu && stored < capacity &&
        devids != nullptr) {
      devids[stored++] = static_cast<std::uint32_t>(value);
    }
    while (*name != '\0')
      ++name;
    ++name;
  }
  return static_cast<int>(stored);
}

int connect(std::uint32_t devid, std::uint32_t pool_pages, char* why, std::size_t why_capacity) {
  copy_text(why, why_capacity, "");
  if (!devices_available()) return -kENODEV;
  if (pool_pages == 0 || pool_pages > kMaxPoolPages) return -sys::kEINVAL;
  int handle = -1;
  for (std::uint32_t i = 0; i < kMaxDisks; ++i) {
    if (g_disks[i].used && g_disks[i].info.devid == devid) return -kEBUSY;
    if (!g_disks[i].used && handle < 0) handle = static_cast<int>(i);
  }
  if (handle < 0) return -sys::kENOSPC;
  Disk& d = g_disks[handle];
  d = Disk{};
  d.info.devid = devid;
  {
    Text dir;
    dir.add("device/vbd/").add(std::uint64_t{devid});
    copy_text(d.dir, sizeof d.dir, dir.c_str());
  }
  std::uint64_t backend_id = 0;
  if (const int rc = xenbus::read_node_u64(d.dir, "backend-id", &backend_id); rc < 0) return rc;
  if (backend_id > 0xffff) return -sys::kEINVAL;
  d.info.backend = static_cast<abi::domid_t>(backend_id);
  {
    Text path;
    path.add(d.dir).add("/backend");
    if (const int rc = xenbus::read(path.c_str(), d.backend_dir, sizeof d.backend_dir); rc < 0) {
      return rc;
    }
  }
  // The backend first checks the policy and opens the image.
  if (const int rc = xenbus::wait_for_state(d.backend_dir, XenbusState::init_wait,
                                            kDefaultTimeoutNs);
      rc < 0) {
    if (rc == -kENOTCONN) read_backend_error(d, why, why_capacity);
    return rc;
  }
  d.used = true;

  const std::int64_t ring_frame = alloc_frames(1);
  const std::int64_t pool_frame = alloc_frames(pool_pages);
  if (ring_frame < 0 || pool_frame < 0) {
    d.used = false;
    return -sys::kENOMEM;
  }
  d.ring_frame = static_cast<std::uint32_t>(ring_frame);
  d.pool_first_frame = static_cast<std::uint32_t>(pool_frame);
  d.info.pool_pages = pool_pages;
  d.ring_page = static_cast<BlkifSharedRing*>(frame_address(d.ring_frame));
  d.ring_page->init();
  const std::int64_t ring_ref = gnttab::grant_access(d.info.backend, d.ring_frame, false);
  if (ring_ref < 0) {
    d.ring_page = nullptr;
    d.used = false;
    return static_cast<int>(ring_ref);
  }
  d.ring_ref = static_cast<abi::grant_ref_t>(ring_ref);
  // Granting remapped the frame: initialise the ring in the shared page.
  d.ring_page->init();
  d.ring = abi::io::BlkifFrontRing(d.ring_page);
  const std::int64_t port = evtchn::alloc_unbound(d.info.backend);
  if (port < 0) {
    release(d, 0);
    return static_cast<int>(port);
  }
  d.port = static_cast<abi::evtchn_port_t>(port);
  for (std::uint32_t i = 0; i < pool_pages; ++i) {
    const std::int64_t ref = gnttab::grant_access(d.info.backend, d.pool_first_frame + i, false);
    if (ref < 0) {
      release(d, i);
      return static_cast<int>(ref);
    }
    d.pool_ref[i] = static_cast<abi::grant_ref_t>(ref);
  }
  int rc = write_node_u64(d.dir, "ring-ref", d.ring_ref);
  if (rc == 0) rc = write_node_u64(d.dir, "event-channel", d.port);
  if (rc == 0) rc = write_node(d.dir, "protocol", "x86_64-abi");
  if (rc == 0) rc = write_node(d.dir, "feature-persistent", "1");
  if (rc == 0) rc = switch_state(d.dir, XenbusState::initialised);
  if (rc == 0) rc = xenbus::wait_for_state(d.backend_dir, XenbusState::connected, kDefaultTimeoutNs);
  if (rc < 0) {
    if (rc == -kENOTCONN) read_backend_error(d, why, why_capacity);
    (void)switch_state(d.dir, XenbusState::closed);
    release(d, pool_pages);
    return rc;
  }
  std::uint64_t sectors = 0;
  std::uint64_t sector_size = 0;
  std::uint64_t info = 0;
  rc = xenbus::read_node_u64(d.backend_dir, "sectors", &sectors);
  if (rc == 0) rc = xenbus::read_node_u64(d.backend_dir, "sector-size", &sector_size);
  if (rc == 0) rc = xenbus::read_node_u64(d.backend_dir, "info", &info);
  if (rc == 0 && sector_size != abi::io::kSectorSize) rc = -sys::kEINVAL;
  if (rc < 0) {
    (void)switch_state(d.dir, XenbusState::closed);
    release(d, pool_pages);
    return rc;
  }
  d.info.sectors = sectors;
  d.info.sector_size = static_cast<std::uint32_t>(sector_size);
  d.info.readonly = (info & abi::io::kVdiskReadonly) != 0;
  (void)switch_state(d.dir, XenbusState::connected);
  d.connected = true;
  return handle;
}

int disconnect(int disk) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  const std::int64_t deadline = deadline_after(kDefaultTimeoutNs / 10);
  while (d->connected && d->ring.in_flight() > 0 &&
         static_cast<std::int64_t>(now_ns()) < deadline) {
    if (take_responses(*d) == 0 && !d->ring.final_check_for_responses()) wait_a_little(deadline);
  }
  d->connected = false;
  (void)switch_state(d->dir, XenbusState::closing);
  (void)xenbus::wait_for_state(d->backend_dir, XenbusState::closed, kDefaultTimeoutNs / 10);
  (void)switch_state(d->dir, XenbusState::closed);
  release(*d, d->info.pool_pages);
  return 0;
}

const DiskInfo* info(int disk) {
  const Disk* d = disk_at(disk);
  return d == nullptr ? nullptr : &d->info;
}

int read(int disk, std::uint64_t sector, std::uint64_t count, void* buffer) {
  return sync_io(disk, BlkifOp::read, sector, count, static_cast<std::uint8_t*>(buffer));
}

int write(int disk, std::uint64_t sector, std::uint64_t count, const void* buffer) {
  // The buffer is only read from for a write.
  return sync_io(disk, BlkifOp::write, sector, count,
                 static_cast<std::uint8_t*>(const_cast<void*>(buffer)));
}

int flush(int disk) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  if (const int rc = ensure_connected(*d, kDefaultTimeoutNs); rc < 0) return rc;
  Waiter waiter(kDefaultTimeoutNs);
  while (d->ring.free_requests() == 0 || free_shadow(*d) < 0) {
    if (take_responses(*d) > 0 || d->ring.final_check_for_responses()) continue;
    if (const auto r = waiter.wait(d); r != Waiter::Result::waited) return wait_error(r);
  }
  const int slot = free_shadow(*d);
  Shadow& s = d->shadow[slot];
  s.async = false;
  s.bounce = false;
  s.pages = 0;
  s.copy_to = nullptr;
  s.copy_bytes = 0;
  d->sync_status = 0;
  d->sync_in_flight = 1;
  queue_request(*d, slot, BlkifOp::flush_diskcache, 0, 1);
  publish(*d);
  while (d->sync_in_flight > 0) {
    if (take_responses(*d) > 0 || d->ring.final_check_for_responses()) continue;
    if (const auto r = waiter.wait(d); r != Waiter::Result::waited) {
      abandon_sync(*d);
      return wait_error(r);
    }
  }
  return d->sync_status;
}

void* pool_page(int disk, std::uint32_t index) {
  const Disk* d = disk_at(disk);
  if (d == nullptr || index >= d->info.pool_pages) return nullptr;
  return frame_address(d->pool_first_frame + index);
}

abi::grant_ref_t pool_gref(int disk, std::uint32_t index) {
  const Disk* d = disk_at(disk);
  if (d == nullptr || index >= d->info.pool_pages) return 0;
  return d->pool_ref[index];
}

int submit(int disk, BlkifOp op, std::uint64_t sector, std::uint32_t first_page,
           std::uint32_t pages, std::uint64_t tag) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  if (const int rc = ensure_connected(*d, kDefaultTimeoutNs); rc < 0) return rc;
  if (op == BlkifOp::write && d->info.readonly) return -kEROFS;
  if (op != BlkifOp::read && op != BlkifOp::write) return -sys::kEINVAL;
  if (pages == 0 || pages > kSegs || first_page >= d->info.pool_pages ||
      pages > d->info.pool_pages - first_page) {
    return -sys::kEINVAL;
  }
  const std::uint64_t sectors = std::uint64_t{pages} * kSectorsPerPage;
  if (sector > d->info.sectors || sectors > d->info.sectors - sector) return -sys::kEINVAL;
  (void)take_responses(*d);
  const int slot = free_shadow(*d);
  if (d->ring.free_requests() == 0 || slot < 0 || d->done_count + d->ring.in_flight() >= kSlots) {
    return -sys::kEAGAIN;
  }
  Shadow& s = d->shadow[slot];
  s.async = true;
  s.bounce = false;
  s.tag = tag;
  s.copy_to = nullptr;
  s.pages = static_cast<std::uint8_t>(pages);
  for (std::uint32_t i = 0; i < pages; ++i)
    s.page[i] = first_page + i;
  queue_request(*d, slot, op, sector, kSectorsPerPage);
  return 0;
}

int complete(int disk, Completion* out, std::uint32_t capacity, std::int64_t timeout_ns) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  if (d->done_count == 0) {
    if (const int rc = ensure_connected(*d, timeout_ns); rc < 0) return rc;
  }
  publish(*d);
  Waiter waiter(timeout_ns);
  for (;;) {
    (void)take_responses(*d);
    if (d->done_count > 0 || timeout_ns <= 0) break;
    if (d->ring.final_check_for_responses()) continue;
    // With nothing in flight there is no backend to check on.
    const auto r = waiter.wait(d->ring.in_flight() > 0 ? d : nullptr);
    if (r == Waiter::Result::timed_out) break;
    if (r == Waiter::Result::disconnected) return -kENOTCONN;
  }
  std::uint32_t n = 0;
  while (n < capacity && d->done_count > 0) {
    out[n++] = d->done[d->done_head];
    d->done_head = (d->done_head + 1) % kSlots;
    --d->done_count;
  }
  return static_cast<int>(n);
}

std::uint32_t in_flight(int disk) {
  const Disk* d = disk_at(disk);
  return d == nullptr ? 0 : d->ring.in_flight();
}

int inject_raw(int disk, const BlkifRequest* raw, std::uint32_t count, std::uint32_t claimed,
               std::int64_t timeout_ns, std::uint32_t* errors_seen) {
  Disk* d = disk_at(disk);
  if (d == nullptr) return -kENODEV;
  if (d->ring.in_flight() != 0 || count > d->ring.free_requests()) return -kEBUSY;
  for (std::uint32_t i = 0; i < count; ++i) {
    memcpy(d->ring.next_request(), &raw[i], sizeof raw[i]);
  }
  (void)d->ring.push_requests();
  if (claimed > count) {
    // Publish a producer index past what the ring can hold.
    const std::uint32_t prod = __atomic_load_n(&d->ring_page->header.req_prod, __ATOMIC_RELAXED);
    __atomic_store_n(&d->ring_page->header.req_prod, prod + (claimed - count), __ATOMIC_RELEASE);
  }
  (void)evtchn::notify(d->port);
  const std::int64_t deadline = deadline_after(timeout_ns);
  std::uint32_t answered = 0;
  std::uint32_t errors = 0;
  while (answered < count && static_cast<std::int64_t>(now_ns()) < deadline) {
    BlkifResponse rsp{};
    if (d->ring.take_response(&rsp)) {
      ++answered;
      if (rsp.status != abi::io::kBlkifRspOkay) ++errors;
      continue;
    }
    if (d->ring.final_check_for_responses()) continue;
    wait_a_little(deadline);
  }
  if (errors_seen != nullptr) *errors_seen = errors;
  return static_cast<int>(answered);
}

void set_notification_handler(NotificationHandler handler) {
  g_handler = handler != nullptr ? handler : detail::frontend_default_handler;
}

}  // namespace shype::guest::blkfront
