// xend's network interfaces (docs/devices-net.md): a configuration's
// `vif = [...]` at create, and xm network-list / network-attach /
// network-detach. The work is the device host's (net/host_net.cpp); xend
// resolves domains (a vif's `backend=` may name a driver domain), asks the
// hypervisor whether the client and its backend may share at all, and
// turns the answers into JSON.
#include <charconv>

#include "devices/device_host.hpp"
#include "xend/xend.hpp"
#include "xmconfig/domain_config.hpp"
#include "xmconfig/json.hpp"

namespace shype::xend {

namespace {

constexpr std::chrono::milliseconds kVifDetachWait{10'000};

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Json vif_json(const devices::VifInfo& v) {
  return Json{{"devid", v.devid},
              {"mac", v.mac},
              {"bridge", v.bridge},
              {"backend", v.backend},
              {"backend_state", v.backend_state},
              {"frontend_state", v.frontend_state},
              {"event_channel", v.event_channel},
              {"tx_ring_ref", v.tx_ring_ref},
              {"rx_ring_ref", v.rx_ring_ref},
              {"backend_path", v.backend_path},
              {"tx_frames", v.tx_frames},
              {"rx_frames", v.rx_frames},
              {"denied_frames", v.denied_frames},
              {"dropped_frames", v.dropped_frames},
              {"errors", v.errors}};
}

}  // namespace

// A vif's backend domain (manual 5.1 `backend=`): absent, "0" or
// "Domain-0" is Domain-0; otherwise a running domain, by name or id, that
// is not the client itself and whose label shares an STE type with the
// client's (the frontend/backend connection is an inter-domain share: the
// hypervisor would refuse its event channel and grants anyway, this says
// so before anything is written).
rpc::Result<abi::domid_t> Xend::vif_backend(const std::optional<std::string>& text,
                                           abi::domid_t frontend) {
  if (!text || text->empty() || *text == "Domain-0") return abi::kDomain0;
  std::optional<abi::domid_t> id;
  if (const auto number = parse_u32(*text)) {
    if (*number == 0) return abi::kDomain0;
    if (*number <= abi::kDomidMaxGuest) id = static_cast<abi::domid_t>(*number);
  } else {
    for (const auto& [domid, record] : running_) {
      if (record.name == *text) id = domid;
    }
  }
  const auto record = id ? running_.find(*id) : running_.end();
  if (record == running_.end()) {
    return rpc::fail("Backend domain '" + *text + "' of the network interface is not running");
  }
  if (record->first == frontend) {
    return rpc::fail("a network interface cannot be served by its own domain");
  }
  auto shared = hv_->get_decision(abi::kAcmGetByDomid, frontend, abi::kAcmGetByDomid,
                                  record->first, abi::AcmHook::sharing);
  if (!shared) return rpc::fail("cannot ask the hypervisor: " + shared.error().to_string());
  if (*shared != abi::kAcmAccessPermitted) {
    return rpc::fail("backend domain '" + record->second.name + "' may not serve this network interface: the labels of the two domains share no STE type");
  }
  return record->first;
}

acm::Status Xend::attach_config_vifs(std::uint16_t domid, const Json& config_json) {
  if (!devices_) return {};
  Json plain = config_json;
  plain.erase("xend_cwd");
  auto config = xmconfig::domain_config_from_json(plain);
  if (!config) return acm::make_error(acm::Errc::invalid_argument, config.error().to_string());
  for (std::size_t i = 0; i < config->vifs.size(); ++i) {
    const xmconfig::VifSpec& entry = config->vifs[i];
    const std::string shown = "vif " + std::to_string(i) + " ('" +
                              xmconfig::format_vif_spec(entry) + "')";
    devices::VifSpec spec;
    spec.mac = entry.mac.value_or("");
    spec.bridge = entry.bridge.value_or("xenbr0");
    const auto backend = vif_backend(entry.backend, domid);
    if (!backend) {
      return acm::make_error(acm::Errc::invalid_argument, shown + ": " + backend.error().message);
    }
    spec.backend = *backend;
    auto attached = devices_->attach_vif(domid, spec);
    if (!attached) {
      return acm::make_error(attached.error().code, shown + ": " + attached.error().message);
    }
    remember_vif(domid, *attached, backend_name(*backend));
  }
  return {};
}

void Xend::remember_vif(abi::domid_t domid, std::uint32_t devid, const std::string& backend) {
  const auto record = running_.find(domid);
  if (record == running_.end()) return;
  auto vifs = devices_->list_vifs(domid);
  if (!vifs) return;
  for (const auto& v : *vifs) {
    if (v.devid != devid) continue;
    std::erase_if(record->second.attached_vifs,
                  [&](const AttachedVif& kept) { return kept.devid == devid; });
    record->second.attached_vifs.push_back(AttachedVif{devid, v.mac, v.bridge, backend});
    if (auto saved = save_record(record->second); !saved) {
      log_.warning("domain " + record->second.name + ": " + saved.error().message);
    }
  }
}

rpc::Result<std::uint32_t> Xend::offer_recorded_vif(abi::domid_t domid, const AttachedVif& vif) {
  devices::VifSpec spec;
  spec.mac = vif.mac;
  spec.bridge = vif.bridge;
  spec.devid = vif.devid;
  auto backend = vif_backend(vif.backend.empty() ? std::nullopt
                                                 : std::optional<std::string>(vif.backend),
                             domid);
  if (!backend) return tl::unexpected(backend.error());
  spec.backend = *backend;
  auto attached = devices_->attach_vif(domid, spec);
  if (!attached) return rpc::fail(attached.error().message);
  return *attached;
}

acm::Status Xend::attach_recorded_vifs(std::uint16_t domid, const std::vector<AttachedVif>& vifs) {
  if (!devices_) return {};
  for (const AttachedVif& kept : vifs) {
    auto attached = offer_recorded_vif(domid, kept);
    if (!attached) {
      return acm::make_error(acm::Errc::invalid_argument, "vif " + std::to_string(kept.devid) +
                                                              " (mac " + kept.mac +
                                                              "): " + attached.error().message);
    }
    remember_vif(domid, *attached, kept.backend);
  }
  return {};
}

void Xend::reattach_vifs(const DomainRecord& record, const std::optional<std::string>& backend) {
  if (!devices_) return;
  for (const AttachedVif& kept : record.attached_vifs) {
    if (backend && kept.backend != *backend) continue;
    const std::string shown = "vif " + std::to_string(kept.devid);
    if (auto attached = offer_recorded_vif(record.domid, kept)) {
      log_.info("domain " + record.name + ": " + shown + " offered again (mac " + kept.mac + ")");
    } else {
      log_.warning("domain " + record.name + ": " + shown + " not offered again: " +
                   attached.error().message);
    }
  }
}

RpcResult Xend::network_list(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  Json devices = Json::array();
  if (devices_) {
    auto vifs = devices_->list_vifs(domain->domid);
    if (!vifs) return rpc::fail("cannot list the network interfaces: " + vifs.error().message);
    for (const auto& v : *vifs) devices.push_back(vif_json(v));
  }
  return Json{{"domid", domain->domid}, {"name", domain->name}, {"devices", devices}};
}

RpcResult Xend::network_attach(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (!devices_) return rpc::fail("network interfaces need the device host, which is not running");
  devices::VifSpec spec;
  spec.mac = params.value("mac", std::string());
  spec.bridge = params.value("bridge", std::string("xenbr0"));
  std::optional<std::string> backend_text;
  if (params.contains("backend")) {
    backend_text = params["backend"].is_string() ? params["backend"].get<std::string>()
                                                 : params["backend"].dump();
  }
  const auto backend = vif_backend(backend_text, domain->domid);
  if (!backend) {
    return rpc::fail("Cannot attach network interface: " + backend.error().message);
  }
  spec.backend = *backend;
  auto devid = devices_->attach_vif(domain->domid, spec);
  if (!devid) return rpc::fail("Cannot attach network interface: " + devid.error().message);
  remember_vif(domain->domid, *devid, backend_name(*backend));
  log_.info("domain " + domain->name + ": network interface " + std::to_string(*devid) +
            " attached");
  return Json{{"domid", domain->domid}, {"devid", *devid}};
}

RpcResult Xend::network_detach(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (!devices_) return rpc::fail("network interfaces need the device host, which is not running");
  const Json& devid_json = params.contains("devid") ? params["devid"] : Json();
  std::optional<std::uint32_t> devid;
  if (devid_json.is_number_unsigned()) devid = devid_json.get<std::uint32_t>();
  if (devid_json.is_string()) devid = parse_u32(devid_json.get<std::string>());
  if (!devid) return rpc::fail("devid must be a device number (xm network-list shows them)");
  const bool force = params.value("force", false);
  auto detached = devices_->detach_vif(domain->domid, *devid,
                                       force ? std::chrono::milliseconds{0} : kVifDetachWait);
  if (!detached) return rpc::fail("Cannot detach network interface: " + detached.error().message);
  if (auto record = running_.find(domain->domid); record != running_.end()) {
    std::erase_if(record->second.attached_vifs,
                  [&](const AttachedVif& kept) { return kept.devid == *devid; });
    (void)save_record(record->second);
  }
  return Json{{"domid", domain->domid}, {"devid", *devid}};
}

}  // namespace shype::xend
