// netback for driver domains (netback.hpp): bridges other domains' vifs,
// every frame between two of them decided by the hypervisor.
#include "shype/guest/netback.hpp"

#include "backend_common.hpp"
#include "internal.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/learning_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"
#include "shype/guest/xenbus.hpp"
#include "shype/io/netif.hpp"
#include "shype/io/xenbus.hpp"
#include "shype/xsm_op.hpp"
#include "text.hpp"

extern "C" void* memcpy(void* destination, const void* source, std::size_t count);

namespace shype::guest::netback {
namespace {

using abi::io::NetifRxBackRing;
using abi::io::NetifRxRequest;
using abi::io::NetifRxResponse;
using abi::io::NetifRxSharedRing;
using abi::io::NetifTxBackRing;
using abi::io::NetifTxRequest;
using abi::io::NetifTxResponse;
using abi::io::NetifTxSharedRing;
using abi::io::XenbusState;

constexpr std::size_t kDirMax = 160;
constexpr std::size_t kBridgeNameMax = 16;
constexpr const char* kVifWatchToken = "netback";
// Linux bridges forget an address after 300 s.
constexpr std::uint64_t kAgeingNs = 300'000'000'000ull;

using Text = detail::Text<256>;

// ---- state -----------------------------------------------------------------

struct PoolPage {
  abi::grant_ref_t ref = 0;
  gnttab::Mapping map{};
};

enum class VifPhase : std::uint8_t {
  free,
  init_wait,  // waiting for the frontend's rings
  connected,
  closed,     // refused, broken or closed by the frontend: until the toolstack removes it
};

struct VifStats {
  std::uint64_t frames = 0;
  std::uint64_t delivered = 0;
  std::uint64_t denied = 0;
  std::uint64_t dropped = 0;
  std::uint64_t errors = 0;
};

struct ClientVif {
  VifPhase phase = VifPhase::free;
  bool seen = false;
  bool broken = false;  // misbehaved: disconnected at the end of this pass
  abi::domid_t front = 0;
  std::uint32_t devid = 0;
  std::uint8_t mac[6] = {};
  char bridge[kBridgeNameMax] = {};
  char dir[kDirMax] = {};        // our backend directory of the vif
  char front_dir[kDirMax] = {};  // the client's frontend directory
  XenbusState last_front = XenbusState::unknown;
  abi::evtchn_port_t port = 0;   // ours, bound to the client's
  gnttab::Mapping tx_ring_map{};
  gnttab::Mapping rx_ring_map{};
  bool tx_ring_mapped = false;
  bool rx_ring_mapped = false;
  NetifTxBackRing tx{};
  NetifRxBackRing rx{};
  PoolPage tx_pages[kMaxTxPages] = {};
  std::uint32_t tx_page_count = 0;
  PoolPage rx_pages[kMaxRxPages] = {};
  std::uint32_t rx_page_count = 0;
  VifStats stats{};
  VifStats published{};  // as last written to the store
  char broken_why[96] = {};
};

constinit ClientVif g_vifs[kMaxVifs] = {};
constinit Stats g_netback_stats = {};
constinit bool g_netback_started = false;
constinit std::uint64_t g_watch_generation = 0;
constinit char g_vif_root[kDirMax] = {};  // <home>/backend/vif
constinit char g_front_list[2048] = {};
constinit char g_devid_list[2048] = {};
// The frame being bridged: a private copy (the client may rewrite its page).
alignas(8) constinit std::uint8_t g_frame[abi::io::kNetifMaxFrame] = {};
constinit LearningTable<kMaxAddresses> g_addresses{kAgeingNs};

std::uint32_t index_of(const ClientVif& v) { return static_cast<std::uint32_t>(&v - g_vifs); }

// ---- xenstore helpers --------------------------------------------------------

Text node_path(const char* dir, const char* node) {
  Text t;
  t.add(dir).add("/").add(node);
  return t;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "00:16:3e:01:02:03" -> 6 bytes.
bool parse_mac_text(const char* text, std::uint8_t* out) {
  if (detail::length_of(text) != 17) return false;
  for (int i = 0; i < 6; ++i) {
    const int high = hex_digit(text[i * 3]);
    const int low = hex_digit(text[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':')) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

// ---- vifs ------------------------------------------------------------------------

void disconnect_vif(ClientVif& v) {
  const std::uint32_t id = index_of(v);
  g_addresses.forget_port(id);
  for (std::uint32_t i = 0; i < v.tx_page_count; ++i) (void)gnttab::unmap(v.tx_pages[i].map);
  for (std::uint32_t i = 0; i < v.rx_page_count; ++i) (void)gnttab::unmap(v.rx_pages[i].map);
  v.tx_page_count = 0;
  v.rx_page_count = 0;
  if (v.tx_ring_mapped) (void)gnttab::unmap(v.tx_ring_map);
  if (v.rx_ring_mapped) (void)gnttab::unmap(v.rx_ring_map);
  v.tx_ring_mapped = false;
  v.rx_ring_mapped = false;
  v.tx = NetifTxBackRing{};
  v.rx = NetifRxBackRing{};
  if (v.port != 0) (void)evtchn::close(v.port);
  v.port = 0;
  if (v.phase == VifPhase::connected && g_netback_stats.connected > 0) --g_netback_stats.connected;
}

// Refused before it was served, or disconnected for misbehaving: the
// reason goes to `error` and the console, the state to `state`.
void refuse_vif(ClientVif& v, const char* why, XenbusState state = XenbusState::closed) {
  disconnect_vif(v);
  (void)xenbus::write_node(v.dir, "error", why);
  (void)xenbus::switch_state(v.dir, state);
  console_printf("netback: vif %u of domain %u refused: %s\n", v.devid,
                 static_cast<unsigned>(v.front), why);
  v.phase = VifPhase::closed;
  ++g_netback_stats.refused;
}

void release_vif(ClientVif& v) {
  disconnect_vif(v);
  if (v.front_dir[0] != '\0') {
    const Text watched = node_path(v.front_dir, "state");
    (void)xenbus::unwatch(watched.c_str(), kVifWatchToken);
  }
  if (v.phase != VifPhase::free) {
    console_printf("netback: vif %u of domain %u removed (%lu frames, %lu denied)\n", v.devid,
                   static_cast<unsigned>(v.front), static_cast<unsigned long>(v.stats.frames),
                   static_cast<unsigned long>(v.stats.denied));
  }
  v = ClientVif{};
}

// A new vif in our backend directory: what the toolstack wrote, then wait
// for the frontend.
void set_up_vif(ClientVif& v) {
  char mac_text[32];
  if (xenbus::read_node(v.dir, "frontend", v.front_dir, sizeof v.front_dir) != 0 ||
      xenbus::read_node(v.dir, "mac", mac_text, sizeof mac_text) != 0) {
    v.front_dir[0] = '\0';
    refuse_vif(v, "the vif's frontend or mac node is missing");
    return;
  }
  if (!parse_mac_text(mac_text, v.mac) || is_multicast_mac(v.mac)) {
    Text why;
    why.add("mac ").add(mac_text).add(" is not a unicast MAC address");
    refuse_vif(v, why.c_str());
    return;
  }
  if (xenbus::read_node(v.dir, "bridge", v.bridge, sizeof v.bridge) != 0 || v.bridge[0] == '\0') {
    detail::copy_text(v.bridge, sizeof v.bridge, "xenbr0");
  }
  (void)xenbus::write_node(v.dir, "feature-persistent", "1");
  (void)xenbus::switch_state(v.dir, XenbusState::init_wait);
  const Text watched = node_path(v.front_dir, "state");
  (void)xenbus::watch(watched.c_str(), kVifWatchToken);
  v.phase = VifPhase::init_wait;
}

// In InitWait: once the frontend published its rings, bind and map.
void try_connect_vif(ClientVif& v) {
  char number[32];
  std::uint64_t tx_ref = 0;
  std::uint64_t rx_ref = 0;
  std::uint64_t remote_port = 0;
  const struct {
    const char* node;
    std::uint64_t* value;
  } wanted[] = {{"tx-ring-ref", &tx_ref}, {"rx-ring-ref", &rx_ref}, {"event-channel", &remote_port}};
  for (const auto& w : wanted) {
    const int rc = xenbus::read_node(v.front_dir, w.node, number, sizeof number);
    if (rc != 0 || !detail::parse_u64(number, w.value) || *w.value > 0xffffffffu) {
      Text why;
      why.add("the frontend's ").add(w.node).add(" is ").add(rc != 0 ? "unreadable" : "malformed");
      refuse_vif(v, why.c_str());
      return;
    }
  }
  // The hypervisor decides whether the two domains may share at all.
  const std::int64_t port =
      evtchn::bind_interdomain(v.front, static_cast<abi::evtchn_port_t>(remote_port));
  if (port < 0) {
    Text why;
    why.add("the hypervisor refused the event channel (errno ")
        .add(static_cast<std::uint64_t>(-port))
        .add(")");
    refuse_vif(v, why.c_str());
    return;
  }
  v.port = static_cast<abi::evtchn_port_t>(port);
  if (gnttab::map(v.front, static_cast<abi::grant_ref_t>(tx_ref), false, &v.tx_ring_map) != 0) {
    refuse_vif(v, "the client's tx ring page cannot be mapped");
    return;
  }
  v.tx_ring_mapped = true;
  if (gnttab::map(v.front, static_cast<abi::grant_ref_t>(rx_ref), false, &v.rx_ring_map) != 0) {
    refuse_vif(v, "the client's rx ring page cannot be mapped");
    return;
  }
  v.rx_ring_mapped = true;
  // SAFETY: each mapping is one writable page of the client; a shared ring
  // fits in a page (netif.hpp) and is only read through BackRing, which
  // copies every request out before it is looked at.
  v.tx = NetifTxBackRing(static_cast<NetifTxSharedRing*>(v.tx_ring_map.address));
  v.rx = NetifRxBackRing(static_cast<NetifRxSharedRing*>(v.rx_ring_map.address));
  (void)xenbus::switch_state(v.dir, XenbusState::connected);
  v.phase = VifPhase::connected;
  ++g_netback_stats.connected;
  console_printf("netback: serving vif %u of domain %u on %s\n", v.devid,
                 static_cast<unsigned>(v.front), v.bridge);
}

// The client's pool page for `ref`, mapped on first use and kept; nullptr
// if it cannot be mapped or the vif's table is full.
void* pool_page(ClientVif& v, abi::grant_ref_t ref, bool readonly) {
  PoolPage* pages = readonly ? v.tx_pages : v.rx_pages;
  std::uint32_t& count = readonly ? v.tx_page_count : v.rx_page_count;
  const std::uint32_t capacity = readonly ? kMaxTxPages : kMaxRxPages;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (pages[i].ref == ref) return pages[i].map.address;
  }
  if (count == capacity) return nullptr;
  PoolPage& page = pages[count];
  if (gnttab::map(v.front, ref, readonly, &page.map) != 0) return nullptr;
  page.ref = ref;
  ++count;
  return page.map.address;
}

// Copies between a client's page and `bytes`: through the kept mapping, or,
// when the vif's table is full (a client with a bigger pool than the table),
// through a mapping made for this copy alone. False if the page cannot be
// mapped.
bool copy_page(ClientVif& v, abi::grant_ref_t ref, bool from_client, std::uint32_t offset,
               std::uint8_t* bytes, std::uint32_t size) {
  void* kept = pool_page(v, ref, from_client);
  gnttab::Mapping once{};
  void* page = kept;
  if (page == nullptr) {
    const std::uint32_t count = from_client ? v.tx_page_count : v.rx_page_count;
    if (count < (from_client ? kMaxTxPages : kMaxRxPages)) return false;  // map refused
    if (gnttab::map(v.front, ref, from_client, &once) != 0) return false;
    page = once.address;
  }
  std::uint8_t* at = static_cast<std::uint8_t*>(page) + offset;
  if (from_client) {
    memcpy(bytes, at, size);
  } else {
    memcpy(at, bytes, size);
  }
  if (kept == nullptr) (void)gnttab::unmap(once);
  return true;
}

// ---- frames ------------------------------------------------------------------------

// The hypervisor's decision for one copy of a frame (never cached: see
// netback.hpp). No answer (the client is gone, the channel closed) denies.
bool frame_may_pass(abi::domid_t from, abi::domid_t to) {
  if (from == to) return true;
  abi::AcmFrameAccess request{};
  request.interface_version = abi::kAcmInterfaceVersion;
  request.from = from;
  request.to = to;
  abi::AcmFrameAccess answer{};
  std::size_t length = 0;
  ++g_netback_stats.questions;
  const int status =
      hypercall(abi::Op::xsm_op, static_cast<std::uint32_t>(abi::AcmOp::frame_access), &request,
                sizeof request, &answer, sizeof answer, &length, nullptr, 0, nullptr);
  return status == 0 && length == sizeof answer && answer.decision == abi::kAcmAccessPermitted;
}

void deliver_frame(ClientVif& to, std::uint16_t size) {
  NetifRxRequest request{};
  if (!to.rx.take_request(&request)) {
    ++to.stats.dropped;
    ++g_netback_stats.dropped;
    if (to.rx.overflowed() && !to.broken) {
      to.broken = true;
      detail::copy_text(to.broken_why, sizeof to.broken_why,
                        "the frontend published more rx requests than its ring holds");
    }
    return;
  }
  NetifRxResponse response{request.id, 0, 0, abi::io::kNetifRspError};
  if (copy_page(to, request.gref, false, 0, g_frame, size)) {
    response.status = static_cast<std::int16_t>(size);
    ++to.stats.delivered;
    ++g_netback_stats.delivered;
  } else {
    ++to.stats.errors;
    ++to.stats.dropped;
    ++g_netback_stats.dropped;
  }
  to.rx.put_response(response);
  if (to.rx.push_responses()) (void)evtchn::notify(to.port);
}

bool same_bridge(const ClientVif& a, const ClientVif& b) { return detail::equal(a.bridge, b.bridge); }

// Learns the source, then hands a copy to each destination the hypervisor
// lets it reach.
void bridge_frame(ClientVif& from, std::uint16_t size) {
  const std::uint8_t* destination = g_frame;
  const std::uint8_t* source = g_frame + 6;
  const std::uint64_t now = now_ns();
  const std::uint32_t from_id = index_of(from);
  g_addresses.learn(source, from_id, now);
  const std::uint32_t known = g_addresses.lookup(destination, now);
  for (std::uint32_t id = 0; id < kMaxVifs; ++id) {
    if (id == from_id) continue;
    ClientVif& to = g_vifs[id];
    if (to.phase != VifPhase::connected || to.broken || !same_bridge(from, to)) continue;
    if (known != kNoPort && known != id) continue;
    if (!frame_may_pass(from.front, to.front)) {
      ++from.stats.denied;
      ++g_netback_stats.denied;
      continue;
    }
    deliver_frame(to, size);
  }
}

// The checks of one tx request, in the order of Domain-0's netback
// (toolstack/devices/net/netif_frame.hpp).
bool tx_request_valid(const NetifTxRequest& request) {
  return request.flags == 0 && request.size >= abi::io::kNetifMinFrame &&
         request.size <= abi::io::kNetifMaxFrame &&
         static_cast<std::uint32_t>(request.offset) + request.size <= abi::kPageSize;
}

// Up to kTxBudget requests of `v`. Returns how many it took.
std::uint32_t serve_tx(ClientVif& v) {
  std::uint32_t taken = 0;
  for (;;) {
    NetifTxRequest request{};
    std::uint32_t answered = 0;
    while (taken < kTxBudget && v.tx.take_request(&request)) {
      NetifTxResponse response{request.id, abi::io::kNetifRspError};
      if (tx_request_valid(request) &&
          copy_page(v, request.gref, true, request.offset, g_frame, request.size)) {
        response.status = abi::io::kNetifRspOkay;
        ++v.stats.frames;
        ++g_netback_stats.frames;
        bridge_frame(v, request.size);
      } else {
        ++v.stats.errors;
        ++g_netback_stats.errors;
      }
      v.tx.put_response(response);
      ++answered;
      ++taken;
    }
    if (answered > 0 && v.tx.push_responses()) (void)evtchn::notify(v.port);
    if (v.tx.overflowed()) {
      v.broken = true;
      detail::copy_text(v.broken_why, sizeof v.broken_why,
                        "the frontend published more tx requests than its ring holds");
      return taken;
    }
    if (taken >= kTxBudget) return taken;
    if (answered == 0 && !v.tx.final_check_for_requests()) return taken;
  }
}

// ---- discovery -------------------------------------------------------------------

// Brings the vif table in line with backend/vif/<front>/<devid>.
void rescan_vifs() {
  detail::scan_backend_directory(
      g_vif_root, g_vifs, g_front_list, sizeof g_front_list, g_devid_list, sizeof g_devid_list,
      [](const ClientVif& v) { return v.phase == VifPhase::free; },
      [](ClientVif& v) { set_up_vif(v); });
  for (ClientVif& v : g_vifs) {
    if (v.phase != VifPhase::free && !v.seen) release_vif(v);
  }
  // A vif whose state is Initialising again was written again by the
  // toolstack (a new xend, whose store is new): it starts over, and the
  // client, which lost this backend meanwhile, joins it again.
  for (ClientVif& v : g_vifs) {
    if (v.phase == VifPhase::free || xenbus::read_state(v.dir) != XenbusState::initialising) {
      continue;
    }
    const abi::domid_t front = v.front;
    const std::uint32_t devid = v.devid;
    char dir[kDirMax];
    detail::copy_text(dir, sizeof dir, v.dir);
    release_vif(v);
    v.front = front;
    v.devid = devid;
    v.seen = true;
    detail::copy_text(v.dir, sizeof v.dir, dir);
    set_up_vif(v);
  }
}

// Frontend state changes: connect vifs that are ready, let go of those
// that closed, start over for a frontend that does.
bool follow_vif_frontends() {
  bool changed = false;
  for (ClientVif& v : g_vifs) {
    if (v.phase == VifPhase::free) continue;
    const XenbusState front = xenbus::read_state(v.front_dir);
    const bool moved = front != v.last_front;
    if (!moved && v.phase != VifPhase::init_wait) continue;
    v.last_front = front;
    changed = changed || moved;
    switch (v.phase) {
      case VifPhase::init_wait:
        if (front == XenbusState::initialised || front == XenbusState::connected) {
          try_connect_vif(v);
          changed = true;
        }
        break;
      case VifPhase::connected:
        if (front == XenbusState::closing || front == XenbusState::closed ||
            front == XenbusState::unknown) {
          disconnect_vif(v);
          (void)xenbus::switch_state(v.dir, XenbusState::closed);
          v.phase = VifPhase::closed;
          console_printf("netback: vif %u of domain %u closed by the frontend\n", v.devid,
                         static_cast<unsigned>(v.front));
        }
        break;
      case VifPhase::closed:
        // A frontend starting over after a close.
        if (moved && front == XenbusState::initialising) {
          (void)xenbus::write_node(v.dir, "error", "");
          (void)xenbus::switch_state(v.dir, XenbusState::init_wait);
          v.broken = false;
          v.phase = VifPhase::init_wait;
        }
        break;
      case VifPhase::free:
        break;
    }
  }
  return changed;
}

}  // namespace

int start() {
  if (!devices_available()) return -sys::kENODEV;
  if (g_netback_started) return 0;
  Text root;
  root.add(xenbus::home()).add("/backend/vif");
  if (!root.ok()) return -sys::kE2BIG;
  detail::copy_text(g_vif_root, sizeof g_vif_root, root.c_str());
  const int watched = xenbus::watch(g_vif_root, kVifWatchToken);
  if (watched != 0) return watched;
  g_netback_started = true;
  g_watch_generation = ~std::uint64_t{0};  // the first poll scans
  return 0;
}

int poll() {
  if (!g_netback_started) return -sys::kENODEV;
  // Watch events are shared with the other backends of this domain: any of
  // them may have taken ours, so a change of the count is what matters.
  char event_path[kDirMax];
  char token[32];
  for (;;) {
    const int rc = xenbus::wait_watch(event_path, sizeof event_path, token, sizeof token, 0);
    if (rc == -sys::kETIMEDOUT) break;
    if (rc != 0) return rc;
  }
  bool worked = false;
  // Our vif directory and every frontend's state node are watched: nothing
  // to look up in the store unless an event came.
  const std::uint64_t generation = xenbus::watch_events_taken();
  if (generation != g_watch_generation) {
    g_watch_generation = generation;
    rescan_vifs();
    (void)follow_vif_frontends();
    worked = true;
  }
  for (ClientVif& v : g_vifs) {
    if (v.phase == VifPhase::connected && !v.broken && serve_tx(v) > 0) worked = true;
  }
  for (ClientVif& v : g_vifs) {
    if (v.phase == VifPhase::connected && v.broken) {
      char why[sizeof v.broken_why];
      detail::copy_text(why, sizeof why, v.broken_why);
      refuse_vif(v, why, XenbusState::closing);
      worked = true;
    }
  }
  return worked ? 1 : 0;
}

Stats stats() { return g_netback_stats; }

int publish_vif_stats() {
  if (!g_netback_started) return -sys::kENODEV;
  int written = 0;
  for (ClientVif& v : g_vifs) {
    if (v.phase != VifPhase::connected) continue;
    const VifStats& s = v.stats;
    const VifStats& p = v.published;
    if (s.frames == p.frames && s.delivered == p.delivered && s.denied == p.denied &&
        s.dropped == p.dropped && s.errors == p.errors) {
      continue;
    }
    detail::Text<128> text;
    text.add("tx=").add(s.frames).add(" rx=").add(s.delivered).add(" denied=").add(s.denied);
    text.add(" dropped=").add(s.dropped).add(" errors=").add(s.errors);
    if (!text.ok()) continue;
    const int rc = xenbus::write_node(v.dir, "statistics", text.c_str());
    if (rc < 0) return rc;
    v.published = s;
    ++written;
  }
  return written;
}

}  // namespace shype::guest::netback
