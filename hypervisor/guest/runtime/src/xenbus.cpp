// The xenstore client (xenbus.hpp): synchronous requests on the store
// page's rings, watch events queued while waiting.
#include "shype/guest/xenbus.hpp"

#include "internal.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/io/xs_wire.hpp"
#include "text.hpp"
#include "xenbus_internal.hpp"

namespace shype::guest {
namespace {

using abi::io::kXsPayloadMax;
using abi::io::kXsRingSize;
using abi::io::XsMessageHeader;
using abi::io::XsType;

using sys::kE2BIG;
using sys::kENODEV;
using sys::kENOTCONN;
constexpr std::int64_t kReplyWaitNs = 10'000'000'000;
constexpr std::size_t kHeader = sizeof(XsMessageHeader);

constexpr std::size_t kWatchQueue = 8;
constexpr std::size_t kWatchPath = 256;
constexpr std::size_t kWatchToken = 64;

struct WatchEvent {
  char path[kWatchPath];
  char token[kWatchToken];
};

struct Client {
  abi::io::XenstoreDomainInterface* page;
  abi::evtchn_port_t port;
  std::uint32_t req_id;
  std::size_t rx_have;
  std::size_t events_head;
  std::size_t events_count;
  std::uint32_t binds_seen;  // evtchn::bind_count(port) when the watches were last set
  bool rewatching;
};

// The watches set (and not removed), to set them again in a new store.
constexpr std::size_t kWatchesKept = 16;
struct KeptWatch {
  bool used;
  char path[kWatchPath];
  char token[kWatchToken];
};
KeptWatch g_kept[kWatchesKept];
constinit Client g_client{};
alignas(8) char g_tx[kHeader + kXsPayloadMax];
alignas(8) char g_rx[kHeader + kXsPayloadMax];
WatchEvent g_events[kWatchQueue];
constinit std::uint64_t g_watch_events_taken = 0;
char g_home[32];
char g_path[abi::io::kXsPathMax + 1];

using detail::length_of;

void copy_text(char* to, std::size_t capacity, const char* from, std::size_t length) {
  const std::size_t n = length < capacity - 1 ? length : capacity - 1;
  memcpy(to, from, n);
  to[n] = '\0';
}

bool same(const char* a, std::size_t a_length, const char* b) {
  return a_length == length_of(b) && memcmp(a, b, a_length) == 0;
}

int errno_from_name(const char* name, std::size_t length) {
  struct Entry {
    const char* name;
    int value;
  };
  static constexpr Entry kNames[] = {
      {"EPERM", 1},  {"ENOENT", 2},   {"EIO", 5},    {"E2BIG", 7},     {"EAGAIN", 11},
      {"ENOMEM", 12}, {"EACCES", 13}, {"EBUSY", 16}, {"EEXIST", 17},   {"EISDIR", 21},
      {"EINVAL", 22}, {"ENOSPC", 28}, {"EROFS", 30}, {"ENOSYS", 38},   {"ENOTEMPTY", 39}};
  if (length > 0 && name[length - 1] == '\0') --length;
  for (const Entry& e : kNames) {
    if (same(name, length, e.name)) return -e.value;
  }
  return -sys::kEIO;
}

bool connected() {
  return g_client.page != nullptr &&
         __atomic_load_n(&g_client.page->connection, __ATOMIC_ACQUIRE) == 0;
}

void queue_event(const char* payload, std::size_t length) {
  // path NUL token NUL
  std::size_t path_length = 0;
  while (path_length < length && payload[path_length] != '\0') ++path_length;
  if (path_length >= length) return;
  const char* token = payload + path_length + 1;
  std::size_t token_length = 0;
  while (path_length + 1 + token_length < length && token[token_length] != '\0') ++token_length;
  if (g_client.events_count == kWatchQueue) {  // full: the oldest goes
    g_client.events_head = (g_client.events_head + 1) % kWatchQueue;
    --g_client.events_count;
  }
  WatchEvent& e = g_events[(g_client.events_head + g_client.events_count) % kWatchQueue];
  copy_text(e.path, sizeof e.path, payload, path_length);
  copy_text(e.token, sizeof e.token, token, token_length);
  ++g_client.events_count;
}

// Takes what the store wrote into the reply ring; true once g_rx holds a
// complete message (then the caller consumes it with rx_have = 0).
bool pump_one() {
  abi::io::XenstoreDomainInterface* page = g_client.page;
  for (;;) {
    std::size_t want = kHeader;
    if (g_client.rx_have >= kHeader) {
      XsMessageHeader h{};
      memcpy(&h, g_rx, kHeader);
      if (h.len > kXsPayloadMax) {  // the store is trusted; resynchronise anyway
        g_client.rx_have = 0;
        continue;
      }
      want = kHeader + h.len;
    }
    if (g_client.rx_have == want) return true;
    const std::uint32_t cons = __atomic_load_n(&page->rsp_cons, __ATOMIC_RELAXED);
    const std::uint32_t prod = __atomic_load_n(&page->rsp_prod, __ATOMIC_ACQUIRE);
    std::uint32_t avail = prod - cons;
    if (avail == 0) return false;
    if (avail > kXsRingSize) avail = kXsRingSize;
    std::size_t n = want - g_client.rx_have;
    if (n > avail) n = avail;
    for (std::size_t i = 0; i < n; ++i)
      g_rx[g_client.rx_have + i] = page->rsp[(cons + i) % kXsRingSize];
    g_client.rx_have += n;
    __atomic_store_n(&page->rsp_cons, cons + static_cast<std::uint32_t>(n), __ATOMIC_RELEASE);
    (void)evtchn::notify(g_client.port);  // room for the store again
  }
}

// Pumps replies: watch events are queued; returns true when the reply to
// `req_id` is in g_rx (left there for the caller).
bool pump_for(std::uint32_t req_id) {
  while (pump_one()) {
    XsMessageHeader h{};
    memcpy(&h, g_rx, kHeader);
    g_client.rx_have = 0;
    if (h.type == static_cast<std::uint32_t>(XsType::watch_event)) {
      queue_event(g_rx + kHeader, h.len);
      continue;
    }
    if (h.req_id == req_id) {
      g_client.rx_have = kHeader + h.len;  // keep it for the caller
      return true;
    }
    // A reply nobody waits for (an earlier request timed out): dropped.
  }
  return false;
}

// One request: `args` (with their NULs) as the payload; on success the
// reply's payload is at g_rx + kHeader and its length is returned.
std::int64_t request(XsType type, const char* payload, std::size_t length) {
  if (g_client.page == nullptr) return -kENODEV;
  if (!connected()) return -kENOTCONN;
  if (length > kXsPayloadMax) return -kE2BIG;
  const std::uint32_t req_id = ++g_client.req_id;
  XsMessageHeader h{static_cast<std::uint32_t>(type), req_id, 0, static_cast<std::uint32_t>(length)};
  memcpy(g_tx, &h, kHeader);
  memcpy(g_tx + kHeader, payload, length);
  const std::size_t total = kHeader + length;
  const std::uint64_t deadline = now_ns() + kReplyWaitNs;
  abi::io::XenstoreDomainInterface* page = g_client.page;
  std::size_t sent = 0;
  while (sent < total) {
    const std::uint32_t cons = __atomic_load_n(&page->req_cons, __ATOMIC_ACQUIRE);
    const std::uint32_t prod = __atomic_load_n(&page->req_prod, __ATOMIC_RELAXED);
    std::uint32_t used = prod - cons;
    if (used > kXsRingSize) used = kXsRingSize;
    const std::size_t space = kXsRingSize - used;
    if (space == 0) {
      (void)evtchn::notify(g_client.port);
      (void)pump_for(0);  // keep taking events so the store can go on
      const std::uint64_t now = now_ns();
      if (now >= deadline) return -sys::kETIMEDOUT;
      detail::wait_a_little(static_cast<std::int64_t>(deadline - now));
      if (!connected()) return -kENOTCONN;
      continue;
    }
    const std::size_t n = total - sent < space ? total - sent : space;
    for (std::size_t i = 0; i < n; ++i)
      page->req[(prod + i) % kXsRingSize] = g_tx[sent + i];
    __atomic_store_n(&page->req_prod, prod + static_cast<std::uint32_t>(n), __ATOMIC_RELEASE);
    sent += n;
    (void)evtchn::notify(g_client.port);
  }
  for (;;) {
    if (pump_for(req_id)) break;
    const std::uint64_t now = now_ns();
    if (now >= deadline) return -sys::kETIMEDOUT;
    detail::wait_a_little(static_cast<std::int64_t>(deadline - now));
    if (!connected()) return -kENOTCONN;
  }
  XsMessageHeader reply{};
  memcpy(&reply, g_rx, kHeader);
  g_client.rx_have = 0;
  if (reply.type == static_cast<std::uint32_t>(XsType::error)) {
    return errno_from_name(g_rx + kHeader, reply.len);
  }
  return reply.len;
}

// Builds "a NUL" or "a NUL b" (b raw or terminated) in g_path-like storage.
alignas(8) char g_args[kXsPayloadMax];

void rewatch_if_rebound();

std::int64_t args2(XsType type, const char* a, const char* b, bool terminate_b) {
  rewatch_if_rebound();
  const std::size_t la = length_of(a);
  const std::size_t lb = b == nullptr ? 0 : length_of(b);
  const std::size_t total = la + 1 + (b == nullptr ? 0 : lb + (terminate_b ? 1 : 0));
  if (total > sizeof g_args) return -kE2BIG;
  memcpy(g_args, a, la);
  g_args[la] = '\0';
  if (b != nullptr) {
    memcpy(g_args + la + 1, b, lb);
    if (terminate_b) g_args[la + 1 + lb] = '\0';
  }
  return request(type, g_args, total);
}

int status_of(std::int64_t rc) { return rc < 0 ? static_cast<int>(rc) : 0; }

// A new xend adopted this domain: it bound the store port again, and its
// store, new, has none of this domain's watches. They are set again here,
// before the next request or wait; each fires once when set, so whoever
// waits on one looks again at what it watches.
void rewatch_if_rebound() {
  if (g_client.page == nullptr || g_client.rewatching) return;
  const std::uint32_t binds = evtchn::bind_count(g_client.port);
  if (binds == g_client.binds_seen) return;
  g_client.binds_seen = binds;
  g_client.rewatching = true;
  for (const KeptWatch& w : g_kept) {
    if (w.used) (void)args2(XsType::watch, w.path, w.token, true);
  }
  g_client.rewatching = false;
}

KeptWatch* kept_watch(const char* path, const char* token) {
  for (KeptWatch& w : g_kept) {
    if (w.used && same(w.path, length_of(w.path), path) && same(w.token, length_of(w.token), token)) {
      return &w;
    }
  }
  return nullptr;
}

// Remembers a watch (those whose path or token do not fit are not set
// again in a new store).
void keep_watch(const char* path, const char* token) {
  if (kept_watch(path, token) != nullptr) return;
  if (length_of(path) >= kWatchPath || length_of(token) >= kWatchToken) return;
  for (KeptWatch& w : g_kept) {
    if (w.used) continue;
    w.used = true;
    copy_text(w.path, sizeof w.path, path, length_of(path));
    copy_text(w.token, sizeof w.token, token, length_of(token));
    return;
  }
}

// "<dir>/state" in g_path.
const char* state_path(const char* dir) {
  const std::size_t n = length_of(dir);
  if (n + 7 > sizeof g_path) return nullptr;
  memcpy(g_path, dir, n);
  memcpy(g_path + n, "/state", 7);
  return g_path;
}

using detail::format_u64;
using detail::parse_u64;

}  // namespace

namespace xenbus_detail {
void attach(abi::io::XenstoreDomainInterface* page, abi::evtchn_port_t port) {
  g_client = Client{};
  g_client.page = page;
  g_client.port = port;
  g_client.binds_seen = evtchn::bind_count(port);
  for (KeptWatch& w : g_kept) w.used = false;
}
}  // namespace xenbus_detail

namespace xenbus {

int read(const char* path, char* out, std::size_t capacity) {
  const std::int64_t rc = args2(XsType::read, path, nullptr, false);
  if (rc < 0) return static_cast<int>(rc);
  const auto n = static_cast<std::size_t>(rc);
  if (capacity == 0 || n + 1 > capacity) return -kE2BIG;
  memcpy(out, g_rx + kHeader, n);
  out[n] = '\0';
  return 0;
}

int read_u64(const char* path, std::uint64_t* out) {
  char text[24];
  if (const int rc = read(path, text, sizeof text); rc < 0) return rc == -kE2BIG ? -sys::kEINVAL : rc;
  return parse_u64(text, out) ? 0 : -sys::kEINVAL;
}

int write(const char* path, const char* value) {
  return status_of(args2(XsType::write, path, value, false));
}

int write_u64(const char* path, std::uint64_t value) {
  char text[24];
  format_u64(text, value);
  return write(path, text);
}

namespace {

// "<dir>/<node>", bounded like every store path.
using NodePath = detail::Text<abi::io::kXsPathMax + 1>;
NodePath node_path(const char* dir, const char* node) {
  NodePath path;
  path.add(dir).add("/").add(node);
  return path;
}

}  // namespace

int read_node(const char* dir, const char* node, char* out, std::size_t capacity) {
  const NodePath path = node_path(dir, node);
  return path.ok() ? read(path.c_str(), out, capacity) : -kE2BIG;
}

int read_node_u64(const char* dir, const char* node, std::uint64_t* out) {
  const NodePath path = node_path(dir, node);
  return path.ok() ? read_u64(path.c_str(), out) : -kE2BIG;
}

int write_node(const char* dir, const char* node, const char* value) {
  const NodePath path = node_path(dir, node);
  return path.ok() ? write(path.c_str(), value) : -kE2BIG;
}

int write_node_u64(const char* dir, const char* node, std::uint64_t value) {
  const NodePath path = node_path(dir, node);
  return path.ok() ? write_u64(path.c_str(), value) : -kE2BIG;
}

int mkdir(const char* path) { return status_of(args2(XsType::mkdir, path, nullptr, false)); }

int rm(const char* path) { return status_of(args2(XsType::rm, path, nullptr, false)); }

int directory(const char* path, char* out, std::size_t capacity, std::uint32_t* count) {
  const std::int64_t rc = args2(XsType::directory, path, nullptr, false);
  if (rc < 0) return static_cast<int>(rc);
  const auto n = static_cast<std::size_t>(rc);
  if (n > capacity) return -kE2BIG;
  memcpy(out, g_rx + kHeader, n);
  std::uint32_t names = 0;
  for (std::size_t i = 0; i < n; ++i) names += out[i] == '\0' ? 1 : 0;
  if (n < capacity) out[n] = '\0';
  *count = names;
  return 0;
}

int watch(const char* path, const char* token) {
  const int rc = status_of(args2(XsType::watch, path, token, true));
  if (rc == 0 || rc == -sys::kEEXIST) keep_watch(path, token);
  return rc;
}

int unwatch(const char* path, const char* token) {
  if (KeptWatch* w = kept_watch(path, token)) w->used = false;
  return status_of(args2(XsType::unwatch, path, token, true));
}

std::uint64_t watch_events_taken() { return g_watch_events_taken; }

int wait_watch(char* path, std::size_t path_capacity, char* token, std::size_t token_capacity,
               std::int64_t timeout_ns) {
  if (g_client.page == nullptr) return -kENODEV;
  const std::uint64_t deadline =
      timeout_ns >= 0 ? now_ns() + static_cast<std::uint64_t>(timeout_ns) : ~std::uint64_t{0};
  for (;;) {
    rewatch_if_rebound();
    (void)pump_for(0);
    if (g_client.events_count > 0) {
      const WatchEvent& e = g_events[g_client.events_head];
      copy_text(path, path_capacity, e.path, length_of(e.path));
      copy_text(token, token_capacity, e.token, length_of(e.token));
      g_client.events_head = (g_client.events_head + 1) % kWatchQueue;
      --g_client.events_count;
      ++g_watch_events_taken;
      return 0;
    }
    if (!connected()) return -kENOTCONN;
    const std::uint64_t now = now_ns();
    if (now >= deadline) return -sys::kETIMEDOUT;
    detail::wait_a_little(timeout_ns >= 0 ? static_cast<std::int64_t>(deadline - now) : -1);
  }
}

int switch_state(const char* dir, abi::io::XenbusState state) {
  const char* path = state_path(dir);
  if (path == nullptr) return -kE2BIG;
  char value[24];
  format_u64(value, static_cast<std::uint64_t>(state));
  // g_path is reused by args2's callers only through `path`, copied first.
  return status_of(args2(XsType::write, path, value, false));
}

abi::io::XenbusState read_state(const char* dir) {
  const char* path = state_path(dir);
  std::uint64_t value = 0;
  if (path == nullptr || read_u64(path, &value) != 0 || value > 8) {
    return abi::io::XenbusState::unknown;
  }
  return static_cast<abi::io::XenbusState>(value);
}

int wait_for_state(const char* dir, abi::io::XenbusState wanted, std::int64_t timeout_ns) {
  char watched[abi::io::kXsPathMax + 1];
  const char* path = state_path(dir);
  if (path == nullptr) return -kE2BIG;
  copy_text(watched, sizeof watched, path, length_of(path));
  const char* token = "xenbus-state";
  const int watching = watch(watched, token);
  if (watching < 0 && watching != -sys::kEEXIST) return watching;
  const std::uint64_t deadline =
      timeout_ns >= 0 ? now_ns() + static_cast<std::uint64_t>(timeout_ns) : ~std::uint64_t{0};
  int result = -sys::kETIMEDOUT;
  for (;;) {
    const abi::io::XenbusState state = read_state(dir);
    if (state == wanted) {
      result = 0;
      break;
    }
    if (state == abi::io::XenbusState::closing || state == abi::io::XenbusState::closed) {
      result = -kENOTCONN;
      break;
    }
    const std::uint64_t now = now_ns();
    if (now >= deadline) break;
    char event_path[kWatchPath];
    char event_token[kWatchToken];
    const int rc = wait_watch(event_path, sizeof event_path, event_token, sizeof event_token,
                              timeout_ns >= 0 ? static_cast<std::int64_t>(deadline - now) : -1);
    if (rc == -kENOTCONN || rc == -kENODEV) {
      result = rc;
      break;
    }
  }
  if (watching == 0) (void)unwatch(watched, token);
  return result;
}

const char* home() {
  if (g_home[0] == '\0') {
    memcpy(g_home, "/local/domain/", 14);
    format_u64(g_home + 14, domid());
  }
  return g_home;
}

}  // namespace xenbus
}  // namespace shype::guest
