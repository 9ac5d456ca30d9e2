// xend and the split-device host (docs/devices.md): a new domain's console
// and xenstore, its disks and vifs, and their release.
#include "devices/device_host.hpp"
#include "xend/xend.hpp"

namespace shype::xend {

acm::Status Xend::attach_devices(std::uint16_t domid, const std::string& name,
                                 const Json& config_json, const RecordedDevices* recorded) {
  if (auto vtpm = attach_config_vtpm(domid, name, config_json); !vtpm) return vtpm;
  if (!devices_) return {};  // no device host: the hypervisor console only
  if (auto introduced = devices_->introduce_domain(domid, name); !introduced) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot give the domain its console and xenstore: " +
                               introduced.error().message);
  }
  if (const auto record = running_.find(domid); record != running_.end()) {
    remember_device_ports(record->second);
    if (auto saved = save_record(record->second); !saved) {
      log_.warning("domain " + name + ": " + saved.error().to_string());
    }
  }
  if (recorded != nullptr) {
    if (auto disks = attach_recorded_disks(domid, recorded->disks); !disks) return disks;
    return attach_recorded_vifs(domid, recorded->vifs);
  }
  if (auto disks = attach_config_disks(domid, config_json); !disks) return disks;
  if (auto vifs = attach_config_vifs(domid, config_json); !vifs) return vifs;
  return {};
}

std::string Xend::backend_name(abi::domid_t backend) const {
  if (backend == abi::kDomain0) return {};
  const auto record = running_.find(backend);
  return record == running_.end() ? std::to_string(backend) : record->second.name;
}

// The configuration's `disk = [...]`: xend_blk.cpp.

// The configuration's `vif = [...]`: xend_net.cpp.

void Xend::release_devices(std::uint16_t domid) {
  release_vtpm(domid);
  if (devices_) devices_->release_domain(domid);
}

void Xend::remember_device_ports(DomainRecord& record) {
  if (!devices_) return;
  if (const auto ports = devices_->guest_ports(record.domid)) {
    record.console_port = ports->console;
    record.store_port = ports->store;
  }
}

void Xend::adopt_devices(const DomainRecord& record) {
  if (!devices_ || record.console_port == 0 || record.store_port == 0) return;
  const devices::GuestPorts ports{static_cast<abi::evtchn_port_t>(record.console_port),
                                  static_cast<abi::evtchn_port_t>(record.store_port)};
  if (auto adopted = devices_->adopt_domain(record.domid, record.name, ports); !adopted) {
    log_.warning("domain " + record.name + " keeps running without its console and xenstore: " +
                 adopted.error().message);
  }
}

// Where `xm console` connects: the domain's console socket, if it has one.
RpcResult Xend::console_path(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  Json result = {{"domid", domain->domid}, {"name", domain->name}};
  if (devices_) {
    const auto path = devices_->console_socket(domain->domid);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) result["socket"] = path.string();
  }
  return result;
}

// --- xenstore for Domain-0's tools and auditors ------------------------------

namespace {

constexpr std::size_t kXenstoreListMax = 100'000;  // entries in one answer

}  // namespace

RpcResult Xend::xenstore_ls(const Json& params) {
  if (!devices_) return rpc::fail("xenstore is not running (xend has no device host)");
  const std::string path = params.value("path", std::string("/"));
  auto entries = devices_->xenstore_list(path, kXenstoreListMax);
  if (!entries) return rpc::fail(entries.error().message);
  Json nodes = Json::array();
  for (const auto& e : *entries) {
    nodes.push_back({{"path", e.path}, {"value", e.value}, {"perms", e.perms}});
  }
  return Json{{"path", path}, {"nodes", nodes}, {"truncated", entries->size() >= kXenstoreListMax}};
}

RpcResult Xend::xenstore_read(const Json& params) {
  if (!devices_) return rpc::fail("xenstore is not running (xend has no device host)");
  const std::string path = params.at("path").get<std::string>();
  auto value = devices_->xenstore_read(path);
  if (!value) return rpc::fail(value.error().message);
  return Json{{"path", path}, {"value", *value}};
}

RpcResult Xend::xenstore_write(const Json& params) {
  if (!devices_) return rpc::fail("xenstore is not running (xend has no device host)");
  const std::string path = params.at("path").get<std::string>();
  const std::string value = params.at("value").get<std::string>();
  if (auto done = devices_->xenstore_write(path, value); !done) {
    return rpc::fail(done.error().message);
  }
  log_.info("xenstore: Domain-0 wrote '" + path + "'");
  return Json{{"path", path}};
}

RpcResult Xend::xenstore_chmod(const Json& params) {
  if (!devices_) return rpc::fail("xenstore is not running (xend has no device host)");
  const std::string path = params.at("path").get<std::string>();
  const auto perms = params.at("perms").get<std::vector<std::string>>();
  if (auto done = devices_->xenstore_chmod(path, perms); !done) {
    return rpc::fail(done.error().message);
  }
  log_.info("xenstore: Domain-0 set the permissions of '" + path + "'");
  return Json{{"path", path}};
}

}  // namespace shype::xend
