// guest_pair: two domains that exchange messages through a granted page (a
// small request/response ring) and an interdomain event channel. One
// kernel, two roles.
//
// Cmdline: space-separated key=value words. Keys that are missing from the
// cmdline may arrive later as lines of console input (Domain-0's
// console_write), which is how a test relays values it learns only after
// both domains exist.
//
//   role=server|client  required
//   peer=<domid>        the other domain. server: the client (cmdline or
//                       console); client: the server (cmdline or console)
//   port=<n> ref=<r>    client: the server's unbound port and grant ref,
//                       as the server prints them (cmdline or console)
//   mode=ring|pingpong  ring (default): request/response messages with
//                       checksums through the ring. pingpong: notifications
//                       only, counting round trips per second (benchmarks).
//                       Both ends must be given the same mode.
//   count=<n>           ring: messages to exchange (default 1000); 0 = run
//                       until shut down, printing "pair: progress <n>" every
//                       second
//   seconds=<s>         pingpong, client: how long to run (default 5)
//   ro=1                server: grant the page read-only (a ring client then
//                       cannot write; used by the rogue tests)
//   linger=1            after the exchange keep the channel and the grant or
//                       mapping until a shutdown request (policy tests)
//   wait=<s>            bound on every wait for the peer (default 30)
//
// Output (one line each):
//   server: "pair: offer port=<n> ref=<r>" once the port and grant exist
//   both:   "pair: exchanged <n> messages ok" (ring), or
//           "pair: pingpong <n> round trips in <ms> ms, <r> per second" (client) /
//           "pair: pingpong served <n> round trips" (server)
//   errors: "pair: <what> refused: <-errno>" (alloc_unbound, grant, bind,
//           map), "pair: timed out waiting for <what>", "pair: bad <what>
//           in message <n>"; the domain then shuts down with crash.
// A clean run powers off (or, with linger=1, waits for a shutdown request).
// The client tries both the bind and the map before giving up, so a refused
// pair reports both refusals.
#include "kv_args.hpp"
#include "shype/console.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/runtime.hpp"

namespace {

using namespace shype;

constexpr std::uint64_t kSecond = 1'000'000'000u;
constexpr std::uint64_t kMilli = 1'000'000u;
constexpr int kEBUSY = 16;

// ---- The ring in the shared page ----------------------------------------

constexpr std::uint64_t kRingMagic = 0x474e495252494150ull;  // "PAIRRING"
constexpr std::uint32_t kSlots = 8;
constexpr std::uint32_t kSlotData = 112;
constexpr std::uint32_t kDoneSeq = 0xffffffffu;  // the last request: the client is finished

struct Slot {
  std::uint32_t seq;
  std::uint32_t length;
  std::uint32_t checksum;
  std::uint32_t pad;
  std::uint8_t data[kSlotData];
};
static_assert(sizeof(Slot) == 128);

// Producer indices are written only by their producer, consumer indices only
// by their consumer; all four are free-running and read with acquire. The
// peer is not trusted: every index is range-checked before use.
struct Ring {
  std::uint64_t magic;
  std::uint32_t req_prod;  // client
  std::uint32_t req_cons;  // server
  std::uint32_t rsp_prod;  // server
  std::uint32_t rsp_cons;  // client
  std::uint32_t stop;      // pingpong: the client is finished
  std::uint8_t pad[36];
  Slot req[kSlots];
  Slot rsp[kSlots];
};
static_assert(sizeof(Ring) == 64 + 2 * kSlots * sizeof(Slot));
static_assert(sizeof(Ring) <= abi::kPageSize);

std::uint32_t load(const std::uint32_t* index) {
  return __atomic_load_n(index, __ATOMIC_ACQUIRE);
}
void store(std::uint32_t* index, std::uint32_t value) {
  __atomic_store_n(index, value, __ATOMIC_RELEASE);
}

// FNV-1a over the sequence number and the bytes.
std::uint32_t checksum(std::uint32_t seq, const std::uint8_t* bytes, std::uint32_t length) {
  std::uint32_t hash = 2166136261u;
  for (int i = 0; i < 4; ++i) {
    hash = (hash ^ ((seq >> (8 * i)) & 0xffu)) * 16777619u;
  }
  for (std::uint32_t i = 0; i < length; ++i)
    hash = (hash ^ bytes[i]) * 16777619u;
  return hash;
}

// Message n: its length and its bytes; the response carries each byte ^ 0xa5.
std::uint32_t request_length(std::uint32_t seq) {
  return 8 + seq % (kSlotData - 8 + 1);
}
std::uint8_t request_byte(std::uint32_t seq, std::uint32_t i) {
  return static_cast<std::uint8_t>(seq * 31u + i * 7u + 1u);
}
constexpr std::uint8_t kResponseMask = 0xa5;

// ---- Arguments, console input, notifications ----------------------------

guest::kv::Args g_args;
guest::Notification g_notification;
std::uint64_t g_wait_ns = 30 * kSecond;

void take_console_input(const char* bytes, std::size_t length) {
  g_args.add(bytes, length);
}

// Receives everything the hypervisor sent: event-channel notices are kept by
// the runtime, console input becomes arguments, a shutdown request is obeyed.
void pump_notifications() {
  while (guest::next_notification(&g_notification)) {
    if (guest::evtchn::handle_event_notification(&g_notification)) continue;
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      guest::console_printf("pair: shutting down (reason %u)\n", static_cast<unsigned>(reason));
      guest::shutdown(reason);
    }
    if (g_notification.op == abi::Op::console_io &&
        g_notification.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::read)) {
      // SAFETY: payload holds `length` (<= kMaxPayload) received bytes.
      take_console_input(reinterpret_cast<const char*>(g_notification.payload),
                         g_notification.length);
    }
    guest::discard_notification(&g_notification);
  }
}

// Console input that was not delivered as a notification waits for a read.
void poll_console_input() {
  alignas(8) static char input[abi::kMaxPayload];
  std::size_t length = 0;
  if (guest::hypercall(abi::Op::console_io, static_cast<std::uint32_t>(abi::ConsoleIoOp::read),
                       nullptr, 0, input, sizeof input, &length, nullptr, 0, nullptr) == 0 &&
      length > 0) {
    take_console_input(input, length);
  }
}

// Waits (bounded by g_wait_ns) until every key in `keys` is known.
bool await_keys(const char* const* keys, std::size_t count) {
  const std::uint64_t deadline = guest::now_ns() + g_wait_ns;
  for (;;) {
    pump_notifications();
    bool all = true;
    for (std::size_t i = 0; i < count; ++i)
      all = all && g_args.has(keys[i]);
    if (all) return true;
    poll_console_input();
    const std::uint64_t now = guest::now_ns();
    if (now >= deadline) {
      guest::console_printf("pair: timed out waiting for %s\n", keys[0]);
      return false;
    }
    (void)guest::wait_for_events(static_cast<std::int64_t>(100 * kMilli));
  }
}

bool number(const char* key, std::uint32_t fallback, std::uint32_t* out) {
  if (g_args.number(key, fallback, out)) return true;
  guest::console_printf("pair: bad value for %s: %s\n", key, g_args.get(key));
  return false;
}

// Whether `port` was rung since the last call (also drains other ports).
bool drain_pending(abi::evtchn_port_t port) {
  bool rung = false;
  abi::evtchn_port_t pending = 0;
  while (guest::evtchn::next_pending(&pending)) {
    if (pending == port) rung = true;
  }
  return rung;
}

// One wait step: events, then notifications. Returns whether `port` rang.
bool wait_step(abi::evtchn_port_t port, std::uint64_t timeout_ns) {
  const std::uint32_t events = guest::wait_for_events(static_cast<std::int64_t>(timeout_ns));
  // wait_for_events received what the channel had; asking again would cost
  // a system call per wake-up.
  if ((events & guest::kEventNotification) != 0) pump_notifications();
  return drain_pending(port);
}

// ---- Server -------------------------------------------------------------

struct Exchange {
  Ring* ring;
  abi::evtchn_port_t port;
  std::uint32_t count;  // 0: forever
  bool pingpong;
};

void progress(std::uint64_t* next_print, std::uint32_t messages) {
  const std::uint64_t now = guest::now_ns();
  if (now < *next_print) return;
  guest::console_printf("pair: progress %u\n", messages);
  *next_print = now + kSecond;
}

// Answers requests until the done request. Returns the number of messages,
// or -1 after printing what went wrong.
long serve_ring(const Exchange& x) {
  Ring* ring = x.ring;
  std::uint32_t expected = 0;
  std::uint64_t next_print = guest::now_ns() + kSecond;
  std::uint64_t idle_since = guest::now_ns();
  for (;;) {
    bool done = false;
    bool answered = false;
    std::uint32_t cons = ring->req_cons;
    const std::uint32_t prod = load(&ring->req_prod);
    if (prod - cons > kSlots) {
      guest::console_printf("pair: bad ring index %u/%u in message %u\n", prod, cons, expected);
      return -1;
    }
    while (cons != prod) {
      const std::uint32_t rsp_prod = ring->rsp_prod;
      if (rsp_prod - load(&ring->rsp_cons) >= kSlots) break;  // the client reads slowly
      const Slot& request = ring->req[cons % kSlots];
      const std::uint32_t seq = request.seq;
      const std::uint32_t length = request.length;
      Slot& response = ring->rsp[rsp_prod % kSlots];
      if (seq == kDoneSeq) {
        response.seq = kDoneSeq;
        response.length = 0;
        response.checksum = checksum(kDoneSeq, nullptr, 0);
        done = true;
      } else {
        if (seq != expected || length > kSlotData) {
          guest::console_printf("pair: bad sequence %u (length %u) in message %u\n", seq, length,
                                expected);
          return -1;
        }
        if (request.checksum != checksum(seq, request.data, length)) {
          guest::console_printf("pair: bad checksum in message %u\n", seq);
          return -1;
        }
        for (std::uint32_t i = 0; i < length; ++i)
          response.data[i] = static_cast<std::uint8_t>(request.data[i] ^ kResponseMask);
        response.seq = seq;
        response.length = length;
        response.checksum = checksum(seq, response.data, length);
        ++expected;
      }
      store(&ring->rsp_prod, rsp_prod + 1);
      store(&ring->req_cons, ++cons);
      answered = true;
      if (done) break;
    }
    if (answered) {
      idle_since = guest::now_ns();
      if (const int rc = guest::evtchn::notify(x.port); rc != 0) {
        guest::console_printf("pair: notify failed: %d\n", rc);
        return -1;
      }
    }
    if (done) return expected;
    if (x.count == 0) progress(&next_print, expected);
    if (!guest::evtchn::is_bound(x.port)) {
      guest::console_printf("pair: the peer closed the channel after %u messages\n", expected);
      return -1;
    }
    if (guest::now_ns() - idle_since > g_wait_ns) {
      guest::console_printf("pair: timed out waiting for requests after %u messages\n", expected);
      return -1;
    }
    if (load(&ring->req_prod) == ring->req_cons) (void)wait_step(x.port, 100 * kMilli);
  }
}

// Rings back every notification until the client sets `stop`. The clock
// is not read per round trip (each read is a system call): idleness is
// counted in wait steps of 100 ms.
long serve_pingpong(const Exchange& x) {
  constexpr std::uint64_t kStep = 100 * kMilli;
  long served = 0;
  std::uint64_t idle_steps = 0;
  for (;;) {
    if (load(&x.ring->stop) != 0) return served;
    if (!guest::evtchn::is_bound(x.port)) {
      guest::console_printf("pair: the peer closed the channel after %ld round trips\n", served);
      return -1;
    }
    if (wait_step(x.port, kStep)) {
      if (load(&x.ring->stop) != 0) return served;
      if (const int rc = guest::evtchn::notify(x.port); rc != 0) {
        guest::console_printf("pair: notify failed: %d\n", rc);
        return -1;
      }
      ++served;
      idle_steps = 0;
    } else if (++idle_steps * kStep > g_wait_ns) {
      guest::console_printf("pair: timed out waiting for pings after %ld round trips\n", served);
      return -1;
    }
  }
}

[[noreturn]] void linger() {
  guest::console_puts("pair: lingering\n");
  for (;;) {
    (void)guest::wait_for_events(-1);
    pump_notifications();
    abi::evtchn_port_t port = 0;
    while (guest::evtchn::next_pending(&port)) {
    }
  }
}

int run_server(bool pingpong, std::uint32_t count) {
  static const char* const kPeer[] = {"peer"};
  if (!await_keys(kPeer, 1)) return 1;
  std::uint32_t peer = 0;
  std::uint32_t readonly = 0;
  if (!number("peer", 0, &peer) || !number("ro", 0, &readonly)) return 1;
  const abi::domid_t remote = static_cast<abi::domid_t>(peer);

  // The ring lives in frame 0; it is set up before it is granted (the grant
  // keeps the frame's contents).
  constexpr std::uint32_t kRingFrame = 0;
  // SAFETY: frame 0 always exists, is mapped read-write and page aligned;
  // Ring fits in a page.
  auto* ring = static_cast<Ring*>(guest::frame_address(kRingFrame));
  __builtin_memset(ring, 0, sizeof(Ring));
  ring->magic = kRingMagic;

  const std::int64_t port = guest::evtchn::alloc_unbound(remote);
  if (port < 0)
    guest::console_printf("pair: alloc_unbound refused: %ld\n", static_cast<long>(port));
  const std::int64_t ref = guest::gnttab::grant_access(remote, kRingFrame, readonly != 0);
  if (ref < 0) guest::console_printf("pair: grant refused: %ld\n", static_cast<long>(ref));
  if (port < 0 || ref < 0) return 1;
  // The grant mapped a new page over the frame: take the address again.
  ring = static_cast<Ring*>(guest::frame_address(kRingFrame));
  const auto local = static_cast<abi::evtchn_port_t>(port);
  guest::console_printf("pair: offer port=%u ref=%u\n", local, static_cast<unsigned>(ref));

  const std::uint64_t deadline = guest::now_ns() + g_wait_ns;
  while (!guest::evtchn::is_bound(local)) {
    if (guest::now_ns() >= deadline) {
      guest::console_puts("pair: timed out waiting for the peer to bind\n");
      return 1;
    }
    (void)wait_step(local, 100 * kMilli);
  }

  const Exchange exchange{ring, local, count, pingpong};
  const long result = pingpong ? serve_pingpong(exchange) : serve_ring(exchange);
  if (result < 0) return 1;
  if (pingpong) {
    guest::console_printf("pair: pingpong served %ld round trips\n", result);
  } else {
    guest::console_printf("pair: exchanged %ld messages ok\n", result);
  }
  if (g_args.has("linger")) linger();

  // The client unmaps before it finishes; until then the grant is busy.
  const std::uint64_t end_deadline = guest::now_ns() + g_wait_ns;
  for (;;) {
    const int rc = guest::gnttab::end_access(static_cast<abi::grant_ref_t>(ref));
    if (rc == 0) break;
    if (rc != -kEBUSY || guest::now_ns() >= end_deadline) {
      guest::console_printf("pair: end_access failed: %d\n", rc);
      return 1;
    }
    (void)wait_step(local, 10 * kMilli);
  }
  (void)guest::evtchn::close(local);
  return 0;
}

// ---- Client -------------------------------------------------------------

// Fills request slot `seq`.
void write_request(Ring* ring, std::uint32_t slot, std::uint32_t seq) {
  Slot& request = ring->req[slot % kSlots];
  const std::uint32_t length = seq == kDoneSeq ? 0 : request_length(seq);
  for (std::uint32_t i = 0; i < length; ++i)
    request.data[i] = request_byte(seq, i);
  request.seq = seq;
  request.length = length;
  request.checksum = checksum(seq, request.data, length);
}

// Checks response `rsp` against the request it answers.
bool check_response(const Slot& response, std::uint32_t seq) {
  if (response.seq != seq) {
    guest::console_printf("pair: bad sequence %u in message %u\n", response.seq, seq);
    return false;
  }
  const std::uint32_t length = seq == kDoneSeq ? 0 : request_length(seq);
  if (response.length != length) {
    guest::console_printf("pair: bad length %u in message %u\n", response.length, seq);
    return false;
  }
  if (response.checksum != checksum(seq, response.data, length)) {
    guest::console_printf("pair: bad checksum in message %u\n", seq);
    return false;
  }
  for (std::uint32_t i = 0; i < length; ++i) {
    if (response.data[i] != static_cast<std::uint8_t>(request_byte(seq, i) ^ kResponseMask)) {
      guest::console_printf("pair: bad data in message %u\n", seq);
      return false;
    }
  }
  return true;
}

long run_client_ring(const Exchange& x) {
  Ring* ring = x.ring;
  std::uint32_t sent = 0;      // requests produced (not counting the done request)
  std::uint32_t answered = 0;  // responses checked
  bool done_sent = false;
  std::uint64_t next_print = guest::now_ns() + kSecond;
  std::uint64_t idle_since = guest::now_ns();
  for (;;) {
    // Produce while fewer than kSlots are in flight.
    bool produced = false;
    std::uint32_t prod = ring->req_prod;
    while (prod - ring->rsp_cons < kSlots && !done_sent) {
      if (x.count != 0 && sent == x.count) {
        write_request(ring, prod, kDoneSeq);
        done_sent = true;
      } else {
        write_request(ring, prod, sent++);
      }
      store(&ring->req_prod, ++prod);
      produced = true;
    }
    if (produced) {
      if (const int rc = guest::evtchn::notify(x.port); rc != 0) {
        guest::console_printf("pair: notify failed: %d\n", rc);
        return -1;
      }
    }
    // Consume responses.
    std::uint32_t cons = ring->rsp_cons;
    const std::uint32_t rsp_prod = load(&ring->rsp_prod);
    if (rsp_prod - cons > kSlots) {
      guest::console_printf("pair: bad ring index %u/%u in message %u\n", rsp_prod, cons, answered);
      return -1;
    }
    while (cons != rsp_prod) {
      const Slot& response = ring->rsp[cons % kSlots];
      const bool last = done_sent && answered == sent;
      if (!check_response(response, last ? kDoneSeq : answered)) return -1;
      store(&ring->rsp_cons, ++cons);
      idle_since = guest::now_ns();
      if (last) return answered;
      ++answered;
    }
    if (x.count == 0) progress(&next_print, answered);
    if (!guest::evtchn::is_bound(x.port)) {
      guest::console_printf("pair: the peer closed the channel after %u messages\n", answered);
      return -1;
    }
    if (guest::now_ns() - idle_since > g_wait_ns) {
      guest::console_printf("pair: timed out waiting for responses after %u messages\n", answered);
      return -1;
    }
    if (load(&ring->rsp_prod) == ring->rsp_cons) (void)wait_step(x.port, 100 * kMilli);
  }
}

long run_client_pingpong(const Exchange& x, std::uint32_t seconds) {
  constexpr std::uint64_t kStep = 100 * kMilli;
  // The clock is read every kClockEvery round trips, not per round trip.
  constexpr long kClockEvery = 64;
  const std::uint64_t start = guest::now_ns();
  const std::uint64_t end = start + seconds * kSecond;
  std::uint64_t second_start = start;
  long total = 0;
  long second_start_total = 0;
  for (;;) {
    if (total % kClockEvery == 0) {
      const std::uint64_t now = guest::now_ns();
      if (now >= end) break;
      if (now - second_start >= kSecond) {
        guest::console_printf("pair: pingpong %ld round trips/s\n", total - second_start_total);
        second_start = now;
        second_start_total = total;
      }
    }
    if (const int rc = guest::evtchn::notify(x.port); rc != 0) {
      guest::console_printf("pair: notify failed: %d\n", rc);
      return -1;
    }
    std::uint64_t waited_steps = 0;
    while (!wait_step(x.port, kStep)) {
      if (!guest::evtchn::is_bound(x.port) || ++waited_steps * kStep > g_wait_ns) {
        guest::console_printf("pair: timed out waiting for a pong after %ld round trips\n", total);
        return -1;
      }
    }
    ++total;
  }
  store(&x.ring->stop, 1);
  (void)guest::evtchn::notify(x.port);
  const std::uint64_t elapsed_ms = (guest::now_ns() - start) / kMilli;
  guest::console_printf(
      "pair: pingpong %ld round trips in %lu ms, %lu per second\n", total,
      static_cast<unsigned long>(elapsed_ms),
      static_cast<unsigned long>(
          elapsed_ms == 0 ? 0 : static_cast<std::uint64_t>(total) * 1000u / elapsed_ms));
  return total;
}

int run_client(bool pingpong, std::uint32_t count) {
  static const char* const kKeys[] = {"peer", "port", "ref"};
  if (!await_keys(kKeys, 3)) return 1;
  std::uint32_t peer = 0;
  std::uint32_t port = 0;
  std::uint32_t ref = 0;
  std::uint32_t seconds = 0;
  if (!number("peer", 0, &peer) || !number("port", 0, &port) || !number("ref", 0, &ref) ||
      !number("seconds", 5, &seconds)) {
    return 1;
  }
  const abi::domid_t remote = static_cast<abi::domid_t>(peer);

  const std::int64_t local = guest::evtchn::bind_interdomain(remote, port);
  if (local < 0) guest::console_printf("pair: bind refused: %ld\n", static_cast<long>(local));
  guest::gnttab::Mapping mapping{};
  const int mapped = guest::gnttab::map(remote, ref, false, &mapping);
  if (mapped < 0) guest::console_printf("pair: map refused: %d\n", mapped);
  if (local < 0 || mapped < 0) return 1;
  guest::console_printf("pair: bound port %ld, mapped handle %u\n", static_cast<long>(local),
                        mapping.handle);

  // SAFETY: a mapping is one page, page aligned; Ring fits in it.
  auto* ring = static_cast<Ring*>(mapping.address);
  if (__atomic_load_n(&ring->magic, __ATOMIC_ACQUIRE) != kRingMagic) {
    guest::console_puts("pair: bad magic in the granted page\n");
    return 1;
  }
  const Exchange exchange{ring, static_cast<abi::evtchn_port_t>(local), count, pingpong};
  const long result = pingpong ? run_client_pingpong(exchange, seconds) : run_client_ring(exchange);
  if (result < 0) return 1;
  if (!pingpong) guest::console_printf("pair: exchanged %ld messages ok\n", result);
  if (g_args.has("linger")) linger();
  if (const int rc = guest::gnttab::unmap(mapping); rc != 0) {
    guest::console_printf("pair: unmap failed: %d\n", rc);
    return 1;
  }
  (void)guest::evtchn::close(static_cast<abi::evtchn_port_t>(local));
  return 0;
}

}  // namespace

int guest_main(int argc, char** argv) {
  g_args.add(argc > 1 && argv[1] != nullptr ? argv[1] : "");
  std::uint32_t count = 0;
  std::uint32_t wait_s = 0;
  if (!number("count", 1000, &count) || !number("wait", 30, &wait_s)) return 1;
  g_wait_ns = (wait_s == 0 ? 1 : wait_s) * kSecond;
  const char* role = g_args.get("role");
  const char* mode = g_args.get("mode");
  const bool pingpong = mode != nullptr && guest::kv::equals(mode, "pingpong");
  if (mode != nullptr && !pingpong && !guest::kv::equals(mode, "ring")) {
    guest::console_printf("pair: unknown mode %s\n", mode);
    return 1;
  }
  if (role != nullptr && guest::kv::equals(role, "server")) return run_server(pingpong, count);
  if (role != nullptr && guest::kv::equals(role, "client")) return run_client(pingpong, count);
  guest::console_puts(
      "pair: usage: role=server|client peer=<domid> [port=<n> ref=<r>] [mode=ring|pingpong] "
      "[count=<n>] [seconds=<s>] [ro=1] [linger=1] [wait=<s>]\n");
  return 1;
}
