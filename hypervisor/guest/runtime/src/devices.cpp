// A guest's devices (xenbus.hpp): the frame allocator, the bootstrap of the
// console ring and xenstore (shype/io/xenbus.hpp), and the console ring.
#include "internal.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/xenbus.hpp"
#include "shype/io/console.hpp"
#include "shype/io/xs_wire.hpp"
#include "xenbus_internal.hpp"

namespace shype::guest {
namespace {

using abi::io::ConsoleInterface;
using abi::io::kConsoleInSize;
using abi::io::kConsoleOutSize;

constexpr std::int64_t kBindWaitNs = 10'000'000'000;     // Domain-0 binds before unpausing
constexpr std::int64_t kConsoleWaitNs = 2'000'000'000;   // a full ring, per write
using sys::kENODEV;

struct DeviceState {
  bool connected;
  bool frames_ready;
  abi::evtchn_port_t console_port;
  abi::evtchn_port_t store_port;
  ConsoleInterface* console;
  abi::io::XenstoreDomainInterface* store;
  std::uint64_t next_top;  // frames below it are free for alloc_frames
  std::uint32_t out_prod;
  std::uint32_t in_cons;
};
constinit DeviceState g_devices{};

void init_frames() {
  if (g_devices.frames_ready) return;
  const std::uint64_t frames = frame_count();
  g_devices.next_top = frames >= 2 ? frames - 2 : 0;  // console and store pages
  g_devices.frames_ready = true;
}

}  // namespace

namespace detail {

void wait_a_little(std::int64_t timeout_ns) {
  (void)absorb_event_notifications();
  // A notification the kernel has not taken would end every wait at once.
  if (notification_pending()) {
    sleep_ns(timeout_ns >= 0 && timeout_ns < 500'000 ? static_cast<std::uint64_t>(timeout_ns)
                                                     : 500'000);
    return;
  }
  (void)wait_for_events(timeout_ns);
  (void)absorb_event_notifications();
}

const char* start_devices() {
  init_frames();
  abi::SharedInfo* info = shared_info();
  const std::uint32_t flags = __atomic_load_n(&info->start_flags, __ATOMIC_ACQUIRE);
  if ((flags & abi::io::kStartDevices) == 0) return nullptr;
  const auto console_port =
      static_cast<abi::evtchn_port_t>(__atomic_load_n(&info->console_evtchn, __ATOMIC_ACQUIRE));
  const auto store_port =
      static_cast<abi::evtchn_port_t>(__atomic_load_n(&info->store_evtchn, __ATOMIC_ACQUIRE));
  const std::uint64_t deadline = now_ns() + kBindWaitNs;
  (void)absorb_event_notifications();
  while (!evtchn::is_bound(console_port) || !evtchn::is_bound(store_port)) {
    const std::uint64_t now = now_ns();
    if (now >= deadline) return "devices: the console and store ports were not bound within 10 s";
    wait_a_little(static_cast<std::int64_t>(deadline - now));
  }
  if (frame_count() < 4) return "devices: too little memory for the console and store pages";
  const std::uint64_t console_frame = frame_count() - 1;
  const std::uint64_t store_frame = frame_count() - 2;
  // Xen reserves these references: the console first, then the store.
  const std::int64_t console_ref =
      gnttab::grant_access(abi::kDomain0, static_cast<std::uint32_t>(console_frame), false);
  if (console_ref != abi::io::kGrantRefConsole) {
    return "devices: granting the console page did not give grant reference 0";
  }
  const std::int64_t store_ref =
      gnttab::grant_access(abi::kDomain0, static_cast<std::uint32_t>(store_frame), false);
  if (store_ref != abi::io::kGrantRefXenstore) {
    return "devices: granting the store page did not give grant reference 1";
  }
  // SAFETY: both frames are this guest's (below frame_count()) and are now
  // the granted pages shared with Domain-0; each structure fits in a page.
  g_devices.console = static_cast<ConsoleInterface*>(frame_address(console_frame));
  g_devices.store = static_cast<abi::io::XenstoreDomainInterface*>(frame_address(store_frame));
  memset(g_devices.console, 0, sizeof(ConsoleInterface));
  memset(g_devices.store, 0, sizeof(abi::io::XenstoreDomainInterface));
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  g_devices.console_port = console_port;
  g_devices.store_port = store_port;
  g_devices.out_prod = 0;
  g_devices.in_cons = 0;
  g_devices.connected = true;
  xenbus_detail::attach(g_devices.store, store_port);
  (void)evtchn::notify(console_port);
  (void)evtchn::notify(store_port);
  return nullptr;
}

bool console_ring_connected() { return g_devices.connected; }

int console_ring_write(const char* bytes, std::size_t length) {
  ConsoleInterface* ring = g_devices.console;
  std::uint64_t deadline = 0;
  while (length > 0) {
    const std::uint32_t cons = __atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE);
    std::uint32_t used = g_devices.out_prod - cons;
    if (used > kConsoleOutSize) used = kConsoleOutSize;
    const std::uint32_t space = kConsoleOutSize - used;
    if (space == 0) {
      // Full: let the console daemon drain it, politely and not forever.
      (void)evtchn::notify(g_devices.console_port);
      const std::uint64_t now = now_ns();
      if (deadline == 0) deadline = now + kConsoleWaitNs;
      if (now >= deadline) return -sys::kETIMEDOUT;
      wait_a_little(static_cast<std::int64_t>(deadline - now));
      continue;
    }
    const std::size_t n = length < space ? length : space;
    for (std::size_t i = 0; i < n; ++i)
      ring->out[(g_devices.out_prod + i) % kConsoleOutSize] = bytes[i];
    g_devices.out_prod += static_cast<std::uint32_t>(n);
    __atomic_store_n(&ring->out_prod, g_devices.out_prod, __ATOMIC_RELEASE);
    bytes += n;
    length -= n;
  }
  (void)evtchn::notify(g_devices.console_port);
  return 0;
}

}  // namespace detail

bool devices_available() { return g_devices.connected; }

std::int64_t alloc_frames(std::uint32_t count) {
  init_frames();
  if (count == 0 || count > g_devices.next_top) return -sys::kENOMEM;
  g_devices.next_top -= count;
  return static_cast<std::int64_t>(g_devices.next_top);
}

std::int64_t console_ring_read(char* out, std::size_t capacity) {
  if (!g_devices.connected) return -kENODEV;
  ConsoleInterface* ring = g_devices.console;
  const std::uint32_t prod = __atomic_load_n(&ring->in_prod, __ATOMIC_ACQUIRE);
  std::uint32_t avail = prod - g_devices.in_cons;
  if (avail > kConsoleInSize) avail = kConsoleInSize;
  const std::size_t n = avail < capacity ? avail : capacity;
  for (std::size_t i = 0; i < n; ++i)
    out[i] = ring->in[(g_devices.in_cons + i) % kConsoleInSize];
  if (n > 0) {
    g_devices.in_cons += static_cast<std::uint32_t>(n);
    __atomic_store_n(&ring->in_cons, g_devices.in_cons, __ATOMIC_RELEASE);
    (void)evtchn::notify(g_devices.console_port);
  }
  return static_cast<std::int64_t>(n);
}

}  // namespace shype::guest
