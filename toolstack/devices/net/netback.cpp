// netback: Domain-0's network backend with its software bridges and label
// control (docs/devices-net.md; protocol shype/io/netif.hpp).
//
// It watches /local/domain/0/backend/vif. For each <front>/<devid> below it
// a Vif walks the xenbus handshake: reads mac and bridge, writes InitWait;
// when the frontend says Initialised it maps the tx and rx ring pages,
// binds the event channel, writes Connected and joins its bridge (one per
// bridge name). Frames then move on the device thread:
//   tx doorbell -> serve_tx (netif_frame.cpp: checks, pool lookup, copy
//   out) -> Bridge::route (learning, flooding) -> LabelFilter per
//   destination (the hypervisor's sharing decision, cached per pair) ->
//   deliver: the destination's next posted rx page gets a copy, or the
//   frame is dropped and counted when it posted none.
// A refused pair is counted on the sending vif and written to the audit log
// (net_audit.hpp). Fairness: one doorbell serves at most kTxBudget
// requests, then the vif is re-queued behind the others, so a guest
// flooding its ring (garbage or not) cannot starve the rest. A frontend
// that overflows its ring or whose ring pages cannot be mapped is
// disconnected (state Closing, `error` says why); the others go on.
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridge.hpp"
#include "device_dirs.hpp"
#include "devices/backend_driver.hpp"
#include "label_filter.hpp"
#include "mac_address.hpp"
#include "net_audit.hpp"
#include "netif_frame.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::devices {

namespace {

using abi::io::XenbusState;
using net::Bridge;
using net::PortId;

constexpr std::string_view kBackendRoot = "/local/domain/0/backend/vif";
// Requests served per doorbell before the vif goes to the back of the queue.
constexpr std::uint32_t kTxBudget = 256;
// Persistent grants kept per vif and direction: the frontend's pools.
constexpr std::size_t kMaxPoolPages = 256;

std::optional<std::uint64_t> parse_u64(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

struct VifKey {
  abi::domid_t front = 0;
  std::uint32_t devid = 0;
  friend auto operator<=>(const VifKey&, const VifKey&) = default;
};

class Netback;

// One vif's backend.
struct Vif {
  VifKey key;
  std::string backend_dir;
  std::string frontend_dir;
  std::string bridge_name;
  net::MacAddress mac;
  PortId port_id = 0;
  WatchId frontend_watch = 0;
  bool watching = false;
  bool connected = false;
  bool broken = false;      // disconnected for misbehaving; waits for a close
  bool tx_queued = false;   // a deferred tx pass is pending
  XenbusState last_front = XenbusState::unknown;

  MappedPage tx_page;
  MappedPage rx_page;
  abi::io::NetifTxBackRing tx;
  abi::io::NetifRxBackRing rx;
  std::optional<xc::Connection::EventChannelBinding> channel;
  std::unordered_map<abi::grant_ref_t, MappedPage> tx_pool;
  std::unordered_map<abi::grant_ref_t, MappedPage> rx_pool;

  BackendStats stats;
  std::uint64_t rejected_logged = 0;
};

class Netback final : public BackendDriver {
 public:
  explicit Netback(DeviceLoop& loop)
      : loop_(loop),
        filter_([this](abi::domid_t from, abi::domid_t to) { return decide(from, to); }),
        audit_(loop.root() / "var/log/xen/net-audit.log") {
    root_watch_ = loop_.store().watch(kBackendRoot, [this](const std::string&) { rescan(); });
  }

  ~Netback() override {
    loop_.store().unwatch(root_watch_);
    for (auto& [key, vif] : vifs_) {
      disconnect(*vif);
      if (vif->watching) loop_.store().unwatch(vif->frontend_watch);
    }
  }

  [[nodiscard]] std::string_view device_class() const override { return "vif"; }

  [[nodiscard]] std::optional<BackendStats> stats(abi::domid_t frontend,
                                                  std::uint32_t devid) const override {
    const auto it = vifs_.find(VifKey{frontend, devid});
    if (it == vifs_.end()) return std::nullopt;
    return it->second->stats;
  }

  void release_frontend(abi::domid_t domid) override {
    for (auto it = vifs_.begin(); it != vifs_.end();) {
      if (it->first.front == domid) {
        destroy(*it->second);
        it = vifs_.erase(it);
      } else {
        ++it;
      }
    }
    filter_.forget_domain(domid);
  }

  void policy_changed() override {
    filter_.policy_changed();
    loop_.log().info("netback: policy changed, label decisions of the bridges dropped");
  }

 private:
  // ---- Label control --------------------------------------------------------

  std::optional<bool> decide(abi::domid_t from, abi::domid_t to) {
    auto decision = loop_.hv().get_decision(abi::kAcmGetByDomid, from, abi::kAcmGetByDomid, to,
                                            abi::AcmHook::sharing);
    if (!decision) {
      loop_.log().warning("netback: no sharing decision for domains " + std::to_string(from) +
                          " and " + std::to_string(to) + ": " + decision.error().to_string());
      return std::nullopt;
    }
    return *decision == abi::kAcmAccessPermitted;
  }

  // ---- Discovery --------------------------------------------------------------

  void rescan() {
    std::set<VifKey> present;
    auto fronts = loop_.store().directory(kBackendRoot);
    if (fronts) {
      for (const auto& front_text : *fronts) {
        const auto front = parse_u64(front_text);
        if (!front || *front == 0 || *front > abi::kDomidMaxGuest) continue;
        const std::string front_dir = std::string(kBackendRoot) + "/" + front_text;
        auto devids = loop_.store().directory(front_dir);
        if (!devids) continue;
        for (const auto& devid_text : *devids) {
          const auto devid = parse_u64(devid_text);
          if (!devid || *devid > 0xffffffffu) continue;
          present.insert(VifKey{static_cast<abi::domid_t>(*front),
                                static_cast<std::uint32_t>(*devid)});
        }
      }
    }
    for (auto it = vifs_.begin(); it != vifs_.end();) {
      if (!present.contains(it->first)) {
        destroy(*it->second);
        it = vifs_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& key : present) {
      if (!vifs_.contains(key)) create(key);
    }
  }

  void create(const VifKey& key) {
    auto vif = std::make_unique<Vif>();
    vif->key = key;
    vif->backend_dir = std::string(kBackendRoot) + "/" + std::to_string(key.front) + "/" +
                       std::to_string(key.devid);
    auto& store = loop_.store();
    auto frontend = store.read(vif->backend_dir + "/frontend");
    auto mac_text = store.read(vif->backend_dir + "/mac");
    auto bridge = store.read(vif->backend_dir + "/bridge");
    // The toolstack writes the directory in several steps, state last: wait
    // for it.
    if (!frontend || !mac_text || !store.read(vif->backend_dir + "/state")) return;
    const auto mac = net::MacAddress::parse(*mac_text);
    Vif* raw = vif.get();
    vifs_.emplace(key, std::move(vif));
    raw->frontend_dir = *frontend;
    raw->bridge_name = bridge && !bridge->empty() ? *bridge : "xenbr0";
    if (!mac || mac->is_multicast()) {
      fail(*raw, "mac " + *mac_text + " is not a unicast MAC address");
      return;
    }
    raw->mac = *mac;
    (void)store.write(raw->backend_dir + "/feature-persistent", "1");
    (void)store.write(raw->backend_dir + "/state", state_text(XenbusState::init_wait));
    raw->frontend_watch = store.watch(raw->frontend_dir + "/state", [this, key](const std::string&) {
      if (const auto it = vifs_.find(key); it != vifs_.end()) frontend_changed(*it->second);
    });
    raw->watching = true;
  }

  void destroy(Vif& vif) {
    disconnect(vif);
    if (vif.watching) {
      loop_.store().unwatch(vif.frontend_watch);
      vif.watching = false;
    }
  }

  // ---- Handshake -----------------------------------------------------------------

  void frontend_changed(Vif& vif) {
    auto text = loop_.store().read(vif.frontend_dir + "/state");
    const auto value = text ? parse_u64(*text) : std::nullopt;
    const auto state = value ? static_cast<XenbusState>(*value) : XenbusState::unknown;
    if (state == vif.last_front) return;
    vif.last_front = state;
    switch (state) {
      case XenbusState::initialised:
      case XenbusState::connected:
        if (!vif.connected && !vif.broken) connect(vif);
        break;
      case XenbusState::closing:
      case XenbusState::closed:
        disconnect(vif);
        (void)loop_.store().write(vif.backend_dir + "/state", state_text(XenbusState::closed));
        break;
      case XenbusState::initialising:
        // A frontend starting over after a close.
        if (!vif.connected) {
          vif.broken = false;
          (void)loop_.store().write(vif.backend_dir + "/state",
                                    state_text(XenbusState::init_wait));
        }
        break;
      default:
        break;
    }
  }

  std::optional<std::uint64_t> frontend_number(const Vif& vif, const char* node) {
    auto text = loop_.store().read(vif.frontend_dir + "/" + node);
    if (!text) return std::nullopt;
    return parse_u64(*text);
  }

  void connect(Vif& vif) {
    const auto tx_ref = frontend_number(vif, "tx-ring-ref");
    const auto rx_ref = frontend_number(vif, "rx-ring-ref");
    const auto port = frontend_number(vif, "event-channel");
    if (!tx_ref || !rx_ref || !port || *tx_ref > 0xffffffffu || *rx_ref > 0xffffffffu ||
        *port > 0xffffffffu) {
      fail(vif, "tx-ring-ref, rx-ring-ref or event-channel missing or not a number");
      return;
    }
    auto& hv = loop_.hv();
    auto tx_page = MappedPage::map(hv, vif.key.front, static_cast<abi::grant_ref_t>(*tx_ref), false);
    if (!tx_page) {
      fail(vif, "cannot map tx-ring-ref " + std::to_string(*tx_ref) + ": " +
                    tx_page.error().to_string());
      return;
    }
    auto rx_page = MappedPage::map(hv, vif.key.front, static_cast<abi::grant_ref_t>(*rx_ref), false);
    if (!rx_page) {
      fail(vif, "cannot map rx-ring-ref " + std::to_string(*rx_ref) + ": " +
                    rx_page.error().to_string());
      return;
    }
    auto binding =
        hv.evtchn_bind_interdomain(vif.key.front, static_cast<abi::evtchn_port_t>(*port));
    if (!binding) {
      fail(vif, "cannot bind event-channel " + std::to_string(*port) + ": " +
                    binding.error().to_string());
      return;
    }
    vif.tx_page = std::move(*tx_page);
    vif.rx_page = std::move(*rx_page);
    // SAFETY: each mapping is one writable page; a shared ring fits in one
    // (static_assert in netif.hpp) and is only accessed through BackRing,
    // which copies requests out before use.
    vif.tx = abi::io::NetifTxBackRing(static_cast<abi::io::NetifTxSharedRing*>(vif.tx_page.data()));
    vif.rx = abi::io::NetifRxBackRing(static_cast<abi::io::NetifRxSharedRing*>(vif.rx_page.data()));
    vif.channel = std::move(*binding);
    const VifKey key = vif.key;
    loop_.add_fd(vif.channel->own.get(), [this, key] {
      if (const auto it = vifs_.find(key); it != vifs_.end()) doorbell(*it->second);
    });
    loop_.on_port_notice(vif.channel->port, [this, key](xc::Connection::EventChannelNotice& n) {
      if (n.kind != abi::EvtchnOp::closed_notice) return;
      if (const auto it = vifs_.find(key); it != vifs_.end()) {
        loop_.log().info("netback: vif " + name(it->second->key) +
                         ": the frontend closed its event channel");
        disconnect(*it->second);
      }
    });
    vif.port_id = next_port_id_++;
    ports_[vif.port_id] = &vif;
    auto [bridge, fresh] = bridges_.try_emplace(vif.bridge_name, vif.bridge_name);
    bridge->second.add_port(vif.port_id, net::BridgePort{vif.key.front, vif.key.devid, vif.mac});
    vif.connected = true;
    (void)loop_.store().write(vif.backend_dir + "/state", state_text(XenbusState::connected));
    loop_.log().info("netback: vif " + name(vif.key) + " connected to " + vif.bridge_name +
                     " (mac " + vif.mac.to_string() + ")");
    // Requests may already wait.
    serve(vif);
  }

  void disconnect(Vif& vif) {
    if (vif.port_id != 0) {
      if (auto it = bridges_.find(vif.bridge_name); it != bridges_.end()) {
        it->second.remove_port(vif.port_id);
        if (it->second.empty()) bridges_.erase(it);
      }
      ports_.erase(vif.port_id);
      vif.port_id = 0;
    }
    if (vif.channel) {
      loop_.remove_fd(vif.channel->own.get());
      loop_.forget_port(vif.channel->port);
      (void)loop_.hv().evtchn_close(vif.channel->port);
      vif.channel.reset();
    }
    vif.tx = {};
    vif.rx = {};
    vif.tx_pool.clear();
    vif.rx_pool.clear();
    vif.tx_page.reset();
    vif.rx_page.reset();
    vif.connected = false;
  }

  // A frontend that broke the protocol: disconnected, told why.
  void fail(Vif& vif, const std::string& why) {
    loop_.log().warning("netback: vif " + name(vif.key) + ": " + why);
    disconnect(vif);
    vif.broken = true;
    (void)loop_.store().write(vif.backend_dir + "/error", why);
    (void)loop_.store().write(vif.backend_dir + "/state", state_text(XenbusState::closing));
  }

  static std::string name(const VifKey& key) {
    return std::to_string(key.front) + "/" + std::to_string(key.devid);
  }

  // ---- Frames ----------------------------------------------------------------------

  void doorbell(Vif& vif) {
    if (!vif.channel) return;
    (void)xc::Connection::wait_doorbell(vif.channel->own.get(), std::chrono::milliseconds{0});
    if (!vif.tx_queued) serve(vif);
  }

  void notify(Vif& vif) {
    if (vif.channel) (void)xc::Connection::notify_doorbell(vif.channel->peer.get());
  }

  // One turn of tx service for `vif`, at most kTxBudget requests.
  void serve(Vif& vif) {
    vif.tx_queued = false;
    if (!vif.connected) return;
    const VifKey key = vif.key;
    net::TxPassHooks hooks;
    hooks.page_of = [this, &vif](abi::grant_ref_t ref) { return pool_page(vif, ref); };
    hooks.forward = [this, &vif](const abi::io::NetifTxRequest&,
                                 std::span<const std::uint8_t> frame,
                                 const net::EthernetHeader& header) { forward(vif, frame, header); };
    hooks.rejected = [this, &vif](const abi::io::NetifTxRequest& request, net::TxVerdict verdict) {
      ++vif.stats.errors;
      // The first few per vif go to the log; the counter has them all.
      if (vif.rejected_logged < 8) {
        ++vif.rejected_logged;
        loop_.log().warning("netback: vif " + name(vif.key) + ": tx request id " +
                            std::to_string(request.id) + " (gref " +
                            std::to_string(request.gref) + ", offset " +
                            std::to_string(request.offset) + ", size " +
                            std::to_string(request.size) + ") refused: " +
                            std::string(net::to_string(verdict)));
      }
    };
    std::uint32_t served = 0;
    for (;;) {
      const auto pass = net::serve_tx(vif.tx, hooks, kTxBudget - served);
      // forward() may have torn vifs down (never this one: it only delivers).
      served += pass.taken;
      vif.stats.requests += pass.forwarded;
      if (pass.taken > 0 && vif.tx.push_responses()) notify(vif);
      if (vif.tx.overflowed()) {
        fail(vif, "the frontend published more tx requests than its ring holds");
        return;
      }
      if (served >= kTxBudget) {
        // Fair share used: the others first.
        vif.tx_queued = true;
        loop_.defer([this, key] {
          if (const auto it = vifs_.find(key); it != vifs_.end()) serve(*it->second);
        });
        break;
      }
      if (pass.taken == 0 && !vif.tx.final_check_for_requests()) break;
    }
    schedule_audit_flush();
  }

  const std::uint8_t* pool_page(Vif& vif, abi::grant_ref_t ref) {
    if (auto it = vif.tx_pool.find(ref); it != vif.tx_pool.end())
      return static_cast<const std::uint8_t*>(it->second.data());
    if (vif.tx_pool.size() >= kMaxPoolPages) return nullptr;
    auto page = MappedPage::map(loop_.hv(), vif.key.front, ref, true);
    if (!page) return nullptr;
    auto [it, fresh] = vif.tx_pool.emplace(ref, std::move(*page));
    return static_cast<const std::uint8_t*>(it->second.data());
  }

  void forward(Vif& from, std::span<const std::uint8_t> frame, const net::EthernetHeader& header) {
    auto bridge = bridges_.find(from.bridge_name);
    if (bridge == bridges_.end()) return;
    const auto targets = bridge->second.route(from.port_id, header, Bridge::Clock::now());
    for (const PortId target : targets) {
      const auto it = ports_.find(target);
      if (it == ports_.end()) continue;
      Vif& to = *it->second;
      if (!filter_.allows(from.key.front, to.key.front)) {
        ++from.stats.denied;
        audit_.denied(net::DenialRecord{from.bridge_name, from.key.front, header.source,
                                        to.key.front, header.destination});
        continue;
      }
      deliver(to, frame);
    }
  }

  void deliver(Vif& to, std::span<const std::uint8_t> frame) {
    if (!to.connected) return;
    abi::io::NetifRxRequest request{};
    if (!to.rx.take_request(&request)) {
      ++to.stats.dropped;
      if (to.rx.overflowed() && !to.broken) {
        // Not now: the caller is still walking the bridge's ports.
        const VifKey key = to.key;
        to.broken = true;
        loop_.defer([this, key] {
          if (const auto it = vifs_.find(key); it != vifs_.end())
            fail(*it->second, "the frontend published more rx requests than its ring holds");
        });
      }
      return;
    }
    abi::io::NetifRxResponse response{request.id, 0, 0, abi::io::kNetifRspError};
    std::uint8_t* page = nullptr;
    if (auto it = to.rx_pool.find(request.gref); it != to.rx_pool.end()) {
      page = static_cast<std::uint8_t*>(it->second.data());
    } else if (to.rx_pool.size() < kMaxPoolPages) {
      auto mapped = MappedPage::map(loop_.hv(), to.key.front, request.gref, false);
      if (mapped) {
        auto [slot, fresh] = to.rx_pool.emplace(request.gref, std::move(*mapped));
        page = static_cast<std::uint8_t*>(slot->second.data());
      }
    }
    if (page != nullptr) {
      // SAFETY: one mapped writable page; frame.size() <= kNetifMaxFrame < page.
      std::memcpy(page, frame.data(), frame.size());
      response.status = static_cast<std::int16_t>(frame.size());
      ++to.stats.delivered;
    } else {
      ++to.stats.errors;
      ++to.stats.dropped;
    }
    to.rx.put_response(response);
    if (to.rx.push_responses()) notify(to);
  }

  void schedule_audit_flush() {
    if (audit_flush_scheduled_ || !audit_.pending()) return;
    audit_flush_scheduled_ = true;
    loop_.defer(
        [this] {
          audit_flush_scheduled_ = false;
          audit_.flush_due();
          schedule_audit_flush();
        },
        std::chrono::milliseconds{1000});
  }

  DeviceLoop& loop_;
  net::LabelFilter filter_;
  net::NetAuditLog audit_;
  WatchId root_watch_ = 0;
  std::map<VifKey, std::unique_ptr<Vif>> vifs_;
  std::map<std::string, Bridge> bridges_;
  std::unordered_map<PortId, Vif*> ports_;
  PortId next_port_id_ = 1;
  bool audit_flush_scheduled_ = false;
};

}  // namespace

std::unique_ptr<BackendDriver> make_netback(DeviceLoop& loop) {
  return std::make_unique<Netback>(loop);
}

}  // namespace shype::devices
