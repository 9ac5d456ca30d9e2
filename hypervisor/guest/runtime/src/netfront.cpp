// netfront (shype/guest/netfront.hpp).
#include "shype/guest/netfront.hpp"

#include "frontend_common.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/syscall.hpp"
#include "shype/guest/xenbus.hpp"
#include "text.hpp"

namespace shype::guest::netfront {

namespace {

using abi::io::NetifRxRequest;
using abi::io::NetifRxResponse;
using abi::io::NetifTxRequest;
using abi::io::NetifTxResponse;
using abi::io::XenbusState;

using sys::kE2BIG;
using sys::kEBUSY;
using sys::kENODEV;
using sys::kENOTCONN;

using detail::length_of;
using detail::parse_u32;
using Text = detail::Text<160>;
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_mac(const char* text, std::uint8_t* out) {
  if (length_of(text) != 17) return false;
  for (int i = 0; i < 6; ++i) {
    const int high = hex_value(text[i * 3]);
    const int low = hex_value(text[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':')) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

// ---- State -------------------------------------------------------------------

struct Vif {
  bool used;
  bool connected;
  VifInfo info;
  char frontend_dir[64];
  char backend_dir[128];
  std::uint32_t first_frame;  // tx ring, rx ring, tx pool, rx pool
  abi::io::NetifTxSharedRing* tx_shared;
  abi::io::NetifRxSharedRing* rx_shared;
  abi::io::NetifTxFrontRing tx;
  abi::io::NetifRxFrontRing rx;
  abi::grant_ref_t tx_ref[kTxPoolPages];
  abi::grant_ref_t rx_ref[kRxPoolPages];
  bool tx_busy[kTxPoolPages];
  bool rx_posted[kRxPoolPages];
  std::uint32_t grants_made;  // how many of the grants below exist (for undo)
};

Vif g_vifs[kMaxVifs];
Notification g_notification;

NotificationHandler g_handler = detail::frontend_default_handler;

Vif* vif_at(int vif) {
  if (vif < 0 || static_cast<std::uint32_t>(vif) >= kMaxVifs) return nullptr;
  Vif* v = &g_vifs[vif];
  return v->used ? v : nullptr;
}

void pump_notifications() { detail::pump_frontend_notifications(&g_notification, g_handler); }

// One bounded wait for something to happen; the caller re-checks its rings.
constexpr std::int64_t kBackendCheckNs = 1'000'000'000;

void wait_until(std::int64_t deadline_ns, bool forever) {
  std::int64_t step = 10'000'000;
  if (!forever) {
    const auto now = static_cast<std::int64_t>(now_ns());
    if (deadline_ns - now < step) step = deadline_ns - now;
    if (step < 0) step = 0;
  }
  detail::frontend_wait(step, &g_notification, g_handler);
}

std::uint8_t* frame_bytes(std::uint32_t frame) {
  return static_cast<std::uint8_t*>(frame_address(frame));
}
std::uint32_t tx_frame(const Vif& v, std::uint32_t i) { return v.first_frame + 2 + i; }
std::uint32_t rx_frame(const Vif& v, std::uint32_t i) {
  return v.first_frame + 2 + kTxPoolPages + i;
}
constexpr std::uint32_t kFrames = 2 + kTxPoolPages + kRxPoolPages;

void notify(Vif& v) { (void)evtchn::notify(v.info.port); }

// Posts rx page `i`; returns whether the backend must be told.
bool post_rx(Vif& v, std::uint32_t i) {
  NetifRxRequest* request = v.rx.next_request();
  request->id = static_cast<std::uint16_t>(i);
  request->pad = 0;
  request->gref = v.rx_ref[i];
  v.rx_posted[i] = true;
  return v.rx.push_requests();
}

// Ends every grant made so far (bounded: a page the backend still maps
// stays granted).
void end_grants(Vif& v) {
  const std::uint64_t deadline = now_ns() + 2'000'000'000ull;
  abi::grant_ref_t refs[kFrames];
  std::uint32_t count = 0;
  if (v.grants_made >= 1) refs[count++] = v.info.tx_ring_ref;
  if (v.grants_made >= 2) refs[count++] = v.info.rx_ring_ref;
  for (std::uint32_t i = 0; i < kTxPoolPages && 2 + i < v.grants_made; ++i)
    refs[count++] = v.tx_ref[i];
  for (std::uint32_t i = 0; i < kRxPoolPages && 2 + kTxPoolPages + i < v.grants_made; ++i)
    refs[count++] = v.rx_ref[i];
  for (std::uint32_t i = 0; i < count; ++i) {
    for (;;) {
      const int rc = gnttab::end_access(refs[i]);
      if (rc != -kEBUSY || now_ns() >= deadline) break;
      wait_until(static_cast<std::int64_t>(now_ns() + 10'000'000), false);
    }
  }
  v.grants_made = 0;
}

// Ends the grants and the channel and forgets the vif.
void undo(Vif& v) {
  end_grants(v);
  if (v.info.port != 0) (void)evtchn::close(v.info.port);
  v.used = false;
  v.connected = false;
}

int grant(Vif& v, std::uint32_t frame, bool readonly, abi::grant_ref_t* out) {
  const std::int64_t ref = gnttab::grant_access(v.info.backend, frame, readonly);
  if (ref < 0) return static_cast<int>(ref);
  *out = static_cast<abi::grant_ref_t>(ref);
  ++v.grants_made;
  return 0;
}

// Grants both rings (writable), the tx pool (read-only) and the rx pool
// (writable) to the backend, then takes the ring addresses again (a grant
// maps a page over the frame). 0 or -errno (the grants made are counted).
int grant_all(Vif& v) {
  int rc = grant(v, v.first_frame, false, &v.info.tx_ring_ref);
  if (rc == 0) rc = grant(v, v.first_frame + 1, false, &v.info.rx_ring_ref);
  for (std::uint32_t i = 0; rc == 0 && i < kTxPoolPages; ++i)
    rc = grant(v, tx_frame(v, i), true, &v.tx_ref[i]);
  for (std::uint32_t i = 0; rc == 0 && i < kRxPoolPages; ++i)
    rc = grant(v, rx_frame(v, i), false, &v.rx_ref[i]);
  // SAFETY: frames of this guest, page aligned; each ring fits in a page.
  v.tx_shared = reinterpret_cast<abi::io::NetifTxSharedRing*>(frame_bytes(v.first_frame));
  v.rx_shared = reinterpret_cast<abi::io::NetifRxSharedRing*>(frame_bytes(v.first_frame + 1));
  return rc;
}

// Publishes the rings and the channel, Initialised, then waits for the
// backend's Connected. 0 or -errno.
int handshake(Vif& v, std::int64_t timeout_ns) {
  int rc = xenbus::write_node_u64(v.frontend_dir, "tx-ring-ref", v.info.tx_ring_ref);
  if (rc == 0) rc = xenbus::write_node_u64(v.frontend_dir, "rx-ring-ref", v.info.rx_ring_ref);
  if (rc == 0) rc = xenbus::write_node_u64(v.frontend_dir, "event-channel", v.info.port);
  if (rc == 0) rc = xenbus::write_node_u64(v.frontend_dir, "feature-persistent", 1);
  if (rc == 0) rc = xenbus::switch_state(v.frontend_dir, XenbusState::initialised);
  if (rc == 0) rc = xenbus::wait_for_state(v.backend_dir, XenbusState::connected, timeout_ns);
  return rc;
}

// The handshake again with a backend waiting in InitWait (see "Losing the
// backend" in netfront.hpp).
int rejoin(Vif& v, abi::domid_t backend, std::int64_t deadline_ns) {
  if (backend != abi::kDomain0 || backend != v.info.backend) {
    // Grants name their grantee's very instance: a guest backend started
    // again, or another one, needs new ones.
    end_grants(v);
    v.info.backend = backend;
    if (const int rc = grant_all(v); rc != 0) return rc;
  }
  if (v.info.port != 0) (void)evtchn::close(v.info.port);
  v.info.port = 0;
  const std::int64_t port = evtchn::alloc_unbound(backend);
  if (port < 0) return static_cast<int>(port);
  v.info.port = static_cast<abi::evtchn_port_t>(port);
  v.tx_shared->init();
  v.rx_shared->init();
  v.tx = abi::io::NetifTxFrontRing(v.tx_shared);
  v.rx = abi::io::NetifRxFrontRing(v.rx_shared);
  for (std::uint32_t i = 0; i < kTxPoolPages; ++i) v.tx_busy[i] = false;
  for (std::uint32_t i = 0; i < kRxPoolPages; ++i) (void)post_rx(v, i);
  const auto now = static_cast<std::int64_t>(now_ns());
  if (deadline_ns <= now) return -sys::kETIMEDOUT;
  if (const int rc = handshake(v, deadline_ns - now); rc != 0) return rc;
  pump_notifications();
  (void)xenbus::switch_state(v.frontend_dir, XenbusState::connected);
  v.connected = true;
  v.info.lost = false;
  ++v.info.reconnects;
  return 0;
}

// The vif's backend went away: waits (until `deadline_ns`, at most
// kReconnectWaitNs) for a backend to take it up again and rejoins it. 0
// when connected again, else -ENOTCONN.
int reconnect(Vif& v, std::int64_t deadline_ns) {
  v.connected = false;
  v.info.lost = true;
  bool ended = false;
  const int rc = detail::wait_for_backend(
      v.frontend_dir, v.backend_dir, sizeof v.backend_dir, deadline_ns, &ended, &g_notification,
      g_handler,
      [&v](abi::domid_t backend, std::int64_t limit) { return rejoin(v, backend, limit); });
  if (ended) v.info.lost = false;
  return rc;
}

// A call on a vif that is not connected: a lost one first tries to get its
// backend back (within timeout_ns; negative: kReconnectWaitNs).
int ensure_connected(Vif& v, std::int64_t timeout_ns) {
  if (v.connected) return 0;
  if (!v.info.lost || timeout_ns == 0) return -kENOTCONN;
  const auto now = static_cast<std::int64_t>(now_ns());
  return reconnect(v, timeout_ns < 0 ? now + detail::kReconnectWaitNs : now + timeout_ns);
}

}  // namespace

int discover(std::uint32_t* devids, std::uint32_t capacity) {
  if (!devices_available()) return -kENODEV;
  char names[512];
  std::uint32_t count = 0;
  const int rc = xenbus::directory("device/vif", names, sizeof names, &count);
  if (rc == -sys::kENOENT) return 0;
  if (rc < 0) return rc;
  std::uint32_t found = 0;
  const char* name = names;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t devid = 0;
    if (parse_u32(name, &devid)) {
      if (found < capacity) devids[found] = devid;
      ++found;
    }
    name += length_of(name) + 1;
  }
  return static_cast<int>(found);
}

int connect(std::uint32_t devid, std::int64_t timeout_ns) {
  if (!devices_available()) return -kENODEV;
  int handle = -1;
  for (std::uint32_t i = 0; i < kMaxVifs; ++i) {
    if (g_vifs[i].used && g_vifs[i].info.devid == devid) return -sys::kEEXIST;
    if (!g_vifs[i].used && handle < 0) handle = static_cast<int>(i);
  }
  if (handle < 0) return -sys::kENOSPC;
  Vif& v = g_vifs[handle];
  v = Vif{};
  v.info.devid = devid;
  Text dir;
  dir.add("device/vif/").add(devid);
  __builtin_memcpy(v.frontend_dir, dir.c_str(), length_of(dir.c_str()) + 1);

  // What the toolstack wrote.
  Text node;
  node.add(v.frontend_dir).add("/backend");
  int rc = xenbus::read(node.c_str(), v.backend_dir, sizeof v.backend_dir);
  if (rc < 0) return rc == -sys::kENOENT ? -kENODEV : rc;
  std::uint64_t backend_id = 0;
  Text node_id;
  node_id.add(v.frontend_dir).add("/backend-id");
  rc = xenbus::read_u64(node_id.c_str(), &backend_id);
  if (rc < 0) return rc;
  if (backend_id > abi::kDomidMaxGuest) return -sys::kEINVAL;
  v.info.backend = static_cast<abi::domid_t>(backend_id);
  char mac_text[32];
  Text node_mac;
  node_mac.add(v.frontend_dir).add("/mac");
  rc = xenbus::read(node_mac.c_str(), mac_text, sizeof mac_text);
  if (rc < 0) return rc;
  if (!parse_mac(mac_text, v.info.mac)) return -sys::kEINVAL;

  const std::int64_t first = alloc_frames(kFrames);
  if (first < 0) return static_cast<int>(first);
  v.first_frame = static_cast<std::uint32_t>(first);
  v.used = true;

  // Rings are initialised before they are granted (a grant keeps contents).
  // SAFETY: frames of this guest, page aligned; each ring fits in a page.
  v.tx_shared = reinterpret_cast<abi::io::NetifTxSharedRing*>(frame_bytes(v.first_frame));
  v.rx_shared = reinterpret_cast<abi::io::NetifRxSharedRing*>(frame_bytes(v.first_frame + 1));
  __builtin_memset(v.tx_shared, 0, abi::kPageSize);
  __builtin_memset(v.rx_shared, 0, abi::kPageSize);
  v.tx_shared->init();
  v.rx_shared->init();

  rc = grant_all(v);
  if (rc != 0) {
    undo(v);
    return rc;
  }
  v.tx = abi::io::NetifTxFrontRing(v.tx_shared);
  v.rx = abi::io::NetifRxFrontRing(v.rx_shared);

  const std::int64_t port = evtchn::alloc_unbound(v.info.backend);
  if (port < 0) {
    undo(v);
    return static_cast<int>(port);
  }
  v.info.port = static_cast<abi::evtchn_port_t>(port);

  for (std::uint32_t i = 0; i < kRxPoolPages; ++i)
    (void)post_rx(v, i);

  rc = handshake(v, timeout_ns);
  if (rc != 0) {
    (void)xenbus::switch_state(v.frontend_dir, XenbusState::closed);
    undo(v);
    return rc;
  }
  pump_notifications();
  (void)xenbus::switch_state(v.frontend_dir, XenbusState::connected);
  v.connected = true;
  return handle;
}

int disconnect(int vif) {
  Vif* v = vif_at(vif);
  if (v == nullptr) return -kENODEV;
  (void)xenbus::switch_state(v->frontend_dir, XenbusState::closing);
  // Closed (or anything but connected) from the backend is what we wait for.
  const int rc = xenbus::wait_for_state(v->backend_dir, XenbusState::closed, 5'000'000'000);
  (void)xenbus::switch_state(v->frontend_dir, XenbusState::closed);
  undo(*v);
  return rc == -kENOTCONN ? 0 : rc;
}

const VifInfo* info(int vif) {
  const Vif* v = vif_at(vif);
  return v == nullptr ? nullptr : &v->info;
}

std::uint32_t reap_tx(int vif) {
  Vif* v = vif_at(vif);
  if (v == nullptr || !v->connected) return 0;
  std::uint32_t taken = 0;
  NetifTxResponse rsp{};
  for (;;) {
    while (v->tx.take_response(&rsp)) {
      if (rsp.id >= kTxPoolPages || !v->tx_busy[rsp.id]) {
        ++v->info.bogus_responses;
        continue;
      }
      v->tx_busy[rsp.id] = false;
      if (rsp.status == abi::io::kNetifRspOkay) {
        ++v->info.tx_frames;
      } else {
        ++v->info.tx_errors;
      }
      ++taken;
    }
    if (!v->tx.final_check_for_responses()) break;
  }
  return taken;
}

int send(int vif, const void* frame, std::size_t length, std::int64_t timeout_ns) {
  Vif* v = vif_at(vif);
  if (v == nullptr) return -kENODEV;
  if (length < abi::io::kNetifMinFrame || length > abi::io::kNetifMaxFrame) return -sys::kEINVAL;
  if (const int rc = ensure_connected(*v, timeout_ns); rc != 0) return rc;
  const std::int64_t deadline = static_cast<std::int64_t>(now_ns()) + timeout_ns;
  // The backend going away ends the wait; its state is read once a second
  // at most (a store round trip per wake-up would slow the backend that is
  // draining this very ring).
  std::int64_t next_check = static_cast<std::int64_t>(now_ns()) + kBackendCheckNs;
  for (;;) {
    (void)reap_tx(vif);
    if (v->tx.free_requests() > 0) {
      for (std::uint32_t i = 0; i < kTxPoolPages; ++i) {
        if (v->tx_busy[i]) continue;
        __builtin_memcpy(frame_bytes(tx_frame(*v, i)), frame, length);
        NetifTxRequest* request = v->tx.next_request();
        request->gref = v->tx_ref[i];
        request->offset = 0;
        request->flags = 0;
        request->id = static_cast<std::uint16_t>(i);
        request->size = static_cast<std::uint16_t>(length);
        v->tx_busy[i] = true;
        if (v->tx.push_requests()) notify(*v);
        return 0;
      }
    }
    const auto now = static_cast<std::int64_t>(now_ns());
    if (timeout_ns <= 0 || now >= deadline) return -sys::kEAGAIN;
    if (now >= next_check) {
      next_check = now + kBackendCheckNs;
      if (xenbus::read_state(v->backend_dir) != XenbusState::connected) {
        if (reconnect(*v, deadline) != 0) return -kENOTCONN;
        continue;
      }
    }
    wait_until(deadline, false);
  }
}

std::int64_t receive(int vif, void* out, std::size_t capacity, std::int64_t timeout_ns) {
  Vif* v = vif_at(vif);
  if (v == nullptr) return -kENODEV;
  if (const int rc = ensure_connected(*v, timeout_ns); rc != 0) return rc;
  const bool forever = timeout_ns < 0;
  const std::int64_t deadline = static_cast<std::int64_t>(now_ns()) + (forever ? 0 : timeout_ns);
  std::uint32_t idle_checks = 0;
  for (;;) {
    (void)reap_tx(vif);
    NetifRxResponse rsp{};
    while (v->rx.take_response(&rsp)) {
      if (rsp.id >= kRxPoolPages || !v->rx_posted[rsp.id]) {
        ++v->info.bogus_responses;
        continue;
      }
      const std::uint32_t id = rsp.id;
      v->rx_posted[id] = false;
      std::int64_t result = 0;
      if (rsp.status < 0) {
        ++v->info.rx_errors;
        result = -1;
      } else if (rsp.status < static_cast<std::int16_t>(abi::io::kNetifMinFrame) ||
                 static_cast<std::uint32_t>(rsp.status) > abi::io::kNetifMaxFrame ||
                 rsp.offset != 0) {
        ++v->info.bogus_responses;
        result = -1;
      } else if (static_cast<std::size_t>(rsp.status) > capacity) {
        result = -kE2BIG;
      } else {
        __builtin_memcpy(out, frame_bytes(rx_frame(*v, id)), static_cast<std::size_t>(rsp.status));
        ++v->info.rx_frames;
        result = rsp.status;
      }
      if (post_rx(*v, id)) notify(*v);
      if (result != -1) return result;
    }
    if (v->rx.final_check_for_responses()) continue;
    if (timeout_ns == 0) return -sys::kETIMEDOUT;
    if (!forever && static_cast<std::int64_t>(now_ns()) >= deadline) return -sys::kETIMEDOUT;
    // The backend going away ends the wait (checked now and then: a store
    // round trip per wake-up would cost more than the frames).
    if (++idle_checks % 64 == 0 &&
        xenbus::read_state(v->backend_dir) != XenbusState::connected) {
      const std::int64_t limit =
          forever ? static_cast<std::int64_t>(now_ns()) + detail::kReconnectWaitNs : deadline;
      if (reconnect(*v, limit) != 0) return -kENOTCONN;
      continue;
    }
    wait_until(deadline, forever);
  }
}

int inject_raw_tx(int vif, const NetifTxRequest* raw, std::uint32_t count,
                  std::int64_t timeout_ns, std::uint32_t* errors_seen) {
  Vif* v = vif_at(vif);
  if (v == nullptr) return -kENODEV;
  if (!v->connected) return -kENOTCONN;
  (void)reap_tx(vif);
  // Raw requests use ids beyond the pool, so their answers are told apart.
  std::uint32_t written = 0;
  while (written < count && v->tx.free_requests() > 0) {
    NetifTxRequest* request = v->tx.next_request();
    *request = raw[written];
    request->id = static_cast<std::uint16_t>(0x8000u | (written & 0x7fffu));
    ++written;
  }
  (void)v->tx.push_requests();
  notify(*v);
  std::uint32_t answers = 0;
  std::uint32_t errors = 0;
  const std::int64_t deadline = static_cast<std::int64_t>(now_ns()) + timeout_ns;
  while (answers < written) {
    NetifTxResponse rsp{};
    bool any = false;
    while (v->tx.take_response(&rsp)) {
      any = true;
      if ((rsp.id & 0x8000u) != 0) {
        ++answers;
        if (rsp.status != abi::io::kNetifRspOkay) ++errors;
      } else if (rsp.id < kTxPoolPages && v->tx_busy[rsp.id]) {
        v->tx_busy[rsp.id] = false;
        ++v->info.tx_frames;
      } else {
        ++v->info.bogus_responses;
      }
    }
    if (any) continue;
    if (v->tx.final_check_for_responses()) continue;
    if (static_cast<std::int64_t>(now_ns()) >= deadline) break;
    wait_until(deadline, false);
  }
  if (errors_seen != nullptr) *errors_seen = errors;
  return static_cast<int>(answers);
}

void set_notification_handler(NotificationHandler handler) {
  g_handler = handler != nullptr ? handler : detail::frontend_default_handler;
}

}  // namespace shype::guest::netfront
