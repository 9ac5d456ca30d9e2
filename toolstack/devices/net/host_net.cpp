// The device host's network interfaces (device_host.hpp): xm create's vifs
// and xm network-attach / network-detach / network-list. The toolstack's
// part of the xenbus protocol for class "vif" (shype/io/xenbus.hpp,
// netif.hpp):
//
//   frontend /local/domain/<front>/device/vif/<devid>/   owner front, backend reads
//     backend, backend-id, mac, handle, state (Initialising)
//   backend  /local/domain/<back>/backend/vif/<front>/<devid>/   owner back, front reads
//     frontend, frontend-id, mac, bridge, handle, state (Initialising,
//     written last: netback starts on it)
//
// <back> is Domain-0 (its netback watches only /local/domain/0/backend/vif)
// or a driver domain (the guest runtime's netback watches its own home);
// xend has checked that a driver domain is running and may share with the
// client.
//
// Device ids are the lowest free numbers (0, 1, ...). A MAC address not
// given is generated: 00:16:3e plus three random bytes, unique among the
// vifs in xenstore. Detaching asks the frontend to let go (backend state
// Closing), waits for it on the caller's thread (bounded) and removes both
// directories; netback drops the vif when its directory goes away.
#include <charconv>
#include <cstring>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include "device_dirs.hpp"
#include "device_host_impl.hpp"
#include "mac_address.hpp"
#include "vif_statistics.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::devices {
namespace {

using abi::io::XenbusState;

std::string home(abi::domid_t domid) { return domain_home(domid); }

std::string vif_frontend_dir(abi::domid_t front, std::uint32_t devid) {
  return devices::frontend_dir("vif", front, devid);
}

std::string vif_backend_dir(abi::domid_t back, abi::domid_t front, std::uint32_t devid) {
  return devices::backend_dir("vif", back, front, devid);
}

// Linux's rule for interface names: 1..15 characters, no '/' or spaces.
bool valid_bridge_name(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Every vif MAC in xenstore, with who has it ("domain 3 vif 0").
std::map<net::MacAddress, std::string> macs_in_use(StoreClient& store) {
  std::map<net::MacAddress, std::string> used;
  auto domains = store.directory("/local/domain");
  if (!domains) return used;
  for (const auto& domain : *domains) {
    const std::string root = "/local/domain/" + domain + "/device/vif";
    auto devids = store.directory(root);
    if (!devids) continue;
    for (const auto& devid : *devids) {
      auto text = store.read(root + "/" + devid + "/mac");
      if (!text) continue;
      if (auto mac = net::MacAddress::parse(*text))
        used.emplace(*mac, "domain " + domain + " vif " + devid);
    }
  }
  return used;
}

}  // namespace

Result<std::uint32_t> DeviceHostImpl::attach_vif(abi::domid_t domid, const VifSpec& vif) {
  if (domid == abi::kDomain0) {
    return acm::make_error(acm::Errc::invalid_argument, "Domain-0 has no network frontend");
  }
  std::optional<net::MacAddress> wanted;
  if (!vif.mac.empty()) {
    wanted = net::MacAddress::parse(vif.mac);
    if (!wanted || wanted->is_multicast() || wanted->is_zero()) {
      return acm::make_error(acm::Errc::invalid_argument,
                             "mac=" + vif.mac +
                                 " is not a unicast MAC address (six hex octets, "
                                 "e.g. 00:16:3e:01:02:03)");
    }
  }
  const std::string bridge = vif.bridge.empty() ? "xenbr0" : vif.bridge;
  if (!valid_bridge_name(bridge)) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "bridge=" + bridge +
                               " is not a bridge name (1-15 letters, digits, '-', '_', '.')");
  }
  if (vif.backend == domid) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "domain " + std::to_string(domid) + " cannot serve its own vif");
  }
  return call<std::uint32_t>("attaching a network interface", [this, domid, vif, wanted,
                                                                bridge]() -> Result<std::uint32_t> {
    StoreClient& store = loop_->store();
    if (!store.read(home(domid) + "/domid")) {
      return acm::make_error(acm::Errc::not_found,
                             "domain " + std::to_string(domid) + " has no xenstore directory");
    }
    // A driver domain serves from its own home: it must have one.
    if (vif.backend != abi::kDomain0 && !store.read(home(vif.backend) + "/domid")) {
      return acm::make_error(acm::Errc::not_found,
                             "backend domain " + std::to_string(vif.backend) +
                                 " has no xenstore directory (is it running with devices?)");
    }
    if (vif.devid) {
      // Offered again: the frontend directory left from the backend that
      // went away is replaced; one whose backend is there is attached.
      const std::string fe = vif_frontend_dir(domid, *vif.devid);
      const auto fe_backend = store.read(fe + "/backend");
      if (fe_backend && store.directory(*fe_backend)) {
        return acm::make_error(acm::Errc::invalid_argument,
                               "vif " + std::to_string(*vif.devid) +
                                   " is already attached to domain " + std::to_string(domid));
      }
      if (store.directory(fe)) (void)store.rm(fe);
    }
    const auto used = macs_in_use(store);
    net::MacAddress mac;
    if (wanted) {
      if (const auto it = used.find(*wanted); it != used.end()) {
        return acm::make_error(acm::Errc::invalid_argument,
                               "mac=" + wanted->to_string() + " is already used by " + it->second);
      }
      mac = *wanted;
    } else {
      static std::mt19937_64 rng{std::random_device{}()};
      const auto made =
          net::generate_mac(rng, [&](const net::MacAddress& m) { return used.contains(m); });
      if (!made) {
        return acm::make_error(acm::Errc::io_error, "no free MAC address found in 00:16:3e:xx:xx:xx");
      }
      mac = *made;
    }
    std::set<std::uint32_t> taken;
    if (auto devids = store.directory(home(domid) + "/device/vif")) {
      for (const auto& d : *devids) {
        if (auto n = parse_number<std::uint32_t>(d)) taken.insert(*n);
      }
    }
    std::uint32_t devid = 0;
    while (taken.contains(devid)) ++devid;
    if (vif.devid) devid = *vif.devid;
    const std::string fe = vif_frontend_dir(domid, devid);
    const std::string be = vif_backend_dir(vif.backend, domid, devid);
    if (store.directory(be)) (void)store.rm(be);  // a leftover of a vif that is gone
    const std::string initialising = state_text(XenbusState::initialising);
    if (auto written = write_device_dirs(store, domid, fe,
                                         {{"backend", be},
                                          {"backend-id", std::to_string(vif.backend)},
                                          {"mac", mac.to_string()},
                                          {"handle", std::to_string(devid)},
                                          {"state", initialising}},
                                         vif.backend, be,
                                         {{"frontend", fe},
                                          {"frontend-id", std::to_string(domid)},
                                          {"mac", mac.to_string()},
                                          {"bridge", bridge},
                                          {"handle", std::to_string(devid)},
                                          {"state", initialising}});
        !written) {
      return tl::unexpected(written.error());
    }
    log_.info("domain " + std::to_string(domid) + ": vif " + std::to_string(devid) + " attached (mac " +
              mac.to_string() + ", bridge " + bridge + ", backend domain " +
              std::to_string(vif.backend) + ")");
    return devid;
  });
}

Status DeviceHostImpl::detach_vif(abi::domid_t domid, std::uint32_t devid,
                                  std::chrono::milliseconds wait) {
  return detach_device(*this, log_, "detaching vif " + std::to_string(devid),
                       vif_frontend_dir(domid, devid), XenbusState::initialised,
                       "domain " + std::to_string(domid) + " has no network interface " +
                           std::to_string(devid),
                       "domain " + std::to_string(domid) + ": vif " + std::to_string(devid) +
                           " did not close in time; removing it anyway",
                       wait)
      .map([this, domid, devid]() {
        log_.info("domain " + std::to_string(domid) + ": vif " + std::to_string(devid) +
                  " detached");
      });
}

Result<std::vector<VifInfo>> DeviceHostImpl::list_vifs(abi::domid_t domid) {
  return call<std::vector<VifInfo>>("listing network interfaces", [this, domid]()
                                                                      -> Result<std::vector<VifInfo>> {
    StoreClient& store = loop_->store();
    std::vector<VifInfo> vifs;
    const std::string root = home(domid) + "/device/vif";
    auto devids = store.directory(root);
    if (!devids) return vifs;
    for (const auto& devid_text : *devids) {
      const auto devid = parse_number<std::uint32_t>(devid_text);
      if (!devid) continue;
      const std::string fe = root + "/" + devid_text;
      VifInfo info;
      info.devid = *devid;
      info.frontend_state = read_state(store, fe);
      auto number = [&](const std::string& path) { return read_number(store, path); };
      info.event_channel = number(fe + "/event-channel");
      info.tx_ring_ref = number(fe + "/tx-ring-ref");
      info.rx_ring_ref = number(fe + "/rx-ring-ref");
      info.mac = store.read(fe + "/mac").value_or("");
      const auto backend_id = number(fe + "/backend-id");
      info.backend = static_cast<abi::domid_t>(backend_id < 0 ? 0 : backend_id);
      if (auto be = store.read(fe + "/backend")) {
        info.backend_path = *be;
        info.backend_state = read_state(store, *be);
        info.bridge = store.read(*be + "/bridge").value_or("");
        // The driver domain that served it is gone (its home with it): the
        // backend is closed for good.
        if (info.backend != abi::kDomain0 && !store.directory(*be)) {
          info.backend_state = static_cast<std::uint32_t>(XenbusState::closed);
        }
      }
      if (info.backend != abi::kDomain0 && !info.backend_path.empty()) {
        // A driver domain's bridge counts its clients' frames and publishes
        // the counters (every 2 s while they change).
        if (const auto text = store.read(info.backend_path + "/statistics")) {
          if (const auto c = net::parse_vif_statistics(*text)) {
            info.tx_frames = c->tx;
            info.rx_frames = c->rx;
            info.denied_frames = c->denied;
            info.errors = c->errors;
            info.dropped_frames = c->dropped;
          }
        }
      } else if (netback_) {
        if (const auto stats = netback_->stats(domid, *devid)) {
          info.tx_frames = stats->requests;
          info.rx_frames = stats->delivered;
          info.denied_frames = stats->denied;
          info.errors = stats->errors;
          info.dropped_frames = stats->dropped;
        }
      }
      vifs.push_back(std::move(info));
    }
    return vifs;
  });
}

void DeviceHostImpl::policy_changed() {
  (void)loop_->run(
      [this] {
        if (netback_) netback_->policy_changed();
        if (blkback_) blkback_->policy_changed();
      },
      kDeviceCallTimeout);
}

}  // namespace shype::devices
