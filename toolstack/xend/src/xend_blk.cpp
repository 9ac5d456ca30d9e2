// xend's block devices (docs/devices-block.md): a configuration's
// `disk = [...]` at create, and xm block-list / block-attach / block-detach.
// The label checks are the manual's (10.2.6, reference 6.2) and run the same
// way at create and at hot-plug; the work on xenstore is the device host's
// (toolstack/devices/blk/host_blk.cpp), and blkback asks the hypervisor
// again before it connects a disk.
#include <algorithm>
#include <charconv>

#include "devices/device_host.hpp"
#include "resources/label_store.hpp"
#include "resources/resource_name.hpp"
#include "resources/root_fs.hpp"
#include "xend/xend.hpp"
#include "xmconfig/domain_config.hpp"
#include "xmconfig/json.hpp"

namespace shype::xend {
namespace {

constexpr std::chrono::milliseconds kVbdDetachWait{10'000};

Json disk_json(const devices::DiskInfo& d) {
  return Json{{"devid", d.devid},
              {"vdev", d.vdev},
              {"resource", d.resource},
              {"mode", d.mode},
              {"writable", d.writable},
              {"backend", d.backend},
              {"backend_state", d.backend_state},
              {"frontend_state", d.frontend_state},
              {"ring_ref", d.ring_ref},
              {"event_channel", d.event_channel},
              {"backend_path", d.backend_path},
              {"requests", d.requests},
              {"errors", d.errors}};
}

}  // namespace

rpc::Result<Xend::DiskAccess> Xend::check_disk_access(const std::string& uname,
                                                      const std::string& cwd,
                                                      std::uint32_t vm_ssidref, bool labeled) {
  const std::string& active = policy_->model.header.name;
  const auto& numbering = policy_->compiled.numbering;
  auto name = resources::canonicalize(*rootfs_, uname, cwd, true);
  if (!name) {
    return rpc::fail("Block device '" + uname + "' cannot be used: " + name.error().message);
  }
  auto stored = resources_->get(*name);
  if (!stored) return rpc::fail(stored.error().to_string());
  acm::Ssidref resource_ssidref = acm::kUnlabeledSsidref;
  if (*stored) {
    const resources::ResourceLabel& r = **stored;
    if (r.type != resources::LabelType::acm) {
      return rpc::fail("Unknown policy type '" + std::string(resources::label_type_name(r.type)) +
                       "' in label for resource '" + uname + "'");
    }
    if (r.label == resources::kInaccessibleLabel) {
      return rpc::fail("VM's access to block device '" + uname + "' denied");
    }
    if (r.policy == active) {
      if (!labeled) {
        return rpc::fail("VM must have a security label to access block device '" + uname + "'");
      }
      const auto known = numbering.resource_label_ssidref(r.label);
      if (!known) return rpc::fail("VM's access to block device '" + uname + "' denied");
      resource_ssidref = *known;
    }
  }
  auto shared = hv_->get_decision(abi::kAcmGetBySsidref, vm_ssidref, abi::kAcmGetBySsidref,
                                  resource_ssidref, abi::AcmHook::sharing);
  if (!shared) return rpc::fail("cannot ask the hypervisor: " + shared.error().to_string());
  if (*shared != abi::kAcmAccessPermitted) {
    return rpc::fail("VM's access to block device '" + uname + "' denied");
  }
  return DiskAccess{name->to_string(), resource_ssidref};
}

// A disk's backend domain (manual 5.1 `backend=`): absent, "0" or
// "Domain-0" is Domain-0; otherwise a running domain, by name or id, that is
// not the frontend itself and holds the resource among its own disks (a
// driver domain serves what Domain-0 gave it, docs/devices-block.md).
rpc::Result<abi::domid_t> Xend::disk_backend(const std::optional<std::string>& text,
                                            const DiskAccess& access, const std::string& uname,
                                            abi::domid_t frontend) {
  if (!text || text->empty() || *text == "Domain-0") return abi::kDomain0;
  std::optional<abi::domid_t> id;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec == std::errc{} && end == text->data() + text->size()) {
    if (value == 0) return abi::kDomain0;
    if (value <= abi::kDomidMaxGuest) id = static_cast<abi::domid_t>(value);
  } else {
    for (const auto& [domid, record] : running_) {
      if (record.name == *text) id = domid;
    }
  }
  const auto record = id ? running_.find(*id) : running_.end();
  if (record == running_.end()) {
    return rpc::fail("Backend domain '" + *text + "' of block device '" + uname +
                     "' is not running");
  }
  if (record->first == frontend) {
    return rpc::fail("Block device '" + uname + "' cannot be served by its own domain");
  }
  const auto& held = record->second.disks;
  if (std::find(held.begin(), held.end(), access.resource) == held.end()) {
    return rpc::fail("backend domain '" + record->second.name + "' does not hold block device '" +
                     uname + "'");
  }
  return record->first;
}

rpc::Result<Xend::AttachedDisk> Xend::attach_disk_entry(abi::domid_t domid,
                                                       const xmconfig::DiskSpec& entry,
                                                       const std::string& cwd,
                                                       std::uint32_t vm_ssidref, bool labeled) {
  auto access = check_disk_access(entry.uname, cwd, vm_ssidref, labeled);
  if (!access) return tl::unexpected(access.error());
  const auto backend = disk_backend(entry.backend, *access, entry.uname, domid);
  if (!backend) return tl::unexpected(backend.error());
  devices::DiskSpec spec;
  spec.resource = access->resource;
  spec.vdev = entry.dev;
  spec.writable = entry.mode != xmconfig::DiskMode::read_only;
  spec.force_shared = entry.mode == xmconfig::DiskMode::force_write;
  spec.backend = *backend;
  spec.resource_ssidref = access->ssidref;
  auto devid = devices_->attach_disk(domid, spec);
  if (!devid) return rpc::fail(devid.error().message);
  xmconfig::DiskSpec kept = entry;
  kept.uname = access->resource;
  // By name: a driver domain started again has a new id.
  kept.backend = std::nullopt;
  if (const std::string name = backend_name(*backend); !name.empty()) kept.backend = name;
  return AttachedDisk{*devid, access->resource, xmconfig::format_disk_spec(kept)};
}

bool Xend::domain_labeled(abi::domid_t domid, std::uint32_t ssidref) const {
  if (const auto record = running_.find(domid); record != running_.end()) {
    Json plain = record->second.config;
    plain.erase("xend_cwd");
    if (auto config = xmconfig::domain_config_from_json(plain)) {
      return config->access_control.has_value();
    }
  }
  return ssidref != acm::kUnlabeledSsidref;
}

acm::Status Xend::attach_config_disks(std::uint16_t domid, const Json& config_json) {
  if (!devices_) return {};
  Json plain = config_json;
  plain.erase("xend_cwd");
  auto config = xmconfig::domain_config_from_json(plain);
  if (!config) return acm::make_error(acm::Errc::invalid_argument, config.error().to_string());
  auto info = hv_->domain_info(domid);
  if (!info) return acm::make_error(acm::Errc::io_error, info.error().to_string());
  const std::string cwd = config_json.value("xend_cwd", std::string("/"));
  const auto record = running_.find(domid);
  for (const auto& entry : config->disks) {
    if (entry.uname.empty()) continue;  // an empty CD-ROM drive
    // The same checks as create's (which passed): they give the ssidref
    // blkback has the hypervisor check again.
    auto attached = attach_disk_entry(domid, entry, cwd, info->ssidref,
                                      config->access_control.has_value());
    if (!attached) {
      return acm::make_error(acm::Errc::invalid_argument,
                             "disk '" + entry.uname + "': " + attached.error().message);
    }
    if (record != running_.end()) record->second.attached_disks.push_back(attached->entry);
  }
  if (record != running_.end() && !record->second.attached_disks.empty()) {
    if (auto saved = save_record(record->second); !saved) {
      log_.warning("domain " + record->second.name + ": " + saved.error().message);
    }
  }
  return {};
}

rpc::Result<Xend::AttachedDisk> Xend::offer_recorded_disk(abi::domid_t domid,
                                                         const std::string& text) {
  auto entry = xmconfig::parse_disk_spec(text);
  if (!entry) return rpc::fail("recorded disk '" + text + "' is not a disk entry (" +
                               entry.error().to_string() + ")");
  auto info = hv_->domain_info(domid);
  if (!info) return rpc::fail("cannot ask the hypervisor: " + info.error().to_string());
  return attach_disk_entry(domid, *entry, "/", info->ssidref, domain_labeled(domid, info->ssidref));
}

acm::Status Xend::attach_recorded_disks(std::uint16_t domid, const std::vector<std::string>& disks) {
  if (!devices_) return {};
  const auto record = running_.find(domid);
  for (const std::string& text : disks) {
    auto attached = offer_recorded_disk(domid, text);
    if (!attached) {
      return acm::make_error(acm::Errc::invalid_argument,
                             "disk '" + text + "': " + attached.error().message);
    }
    if (record != running_.end()) record->second.attached_disks.push_back(attached->entry);
  }
  if (record != running_.end() && !disks.empty()) {
    if (auto saved = save_record(record->second); !saved) {
      log_.warning("domain " + record->second.name + ": " + saved.error().message);
    }
  }
  return {};
}

void Xend::reattach_disks(const DomainRecord& record, const std::optional<std::string>& backend) {
  if (!devices_) return;
  for (const std::string& text : record.attached_disks) {
    auto entry = xmconfig::parse_disk_spec(text);
    if (!entry) {
      log_.warning("domain " + record.name + ": recorded disk '" + text +
                   "' is not a disk entry (" + entry.error().to_string() + "); not offered again");
      continue;
    }
    if (backend && entry->backend != backend) continue;
    if (auto attached = offer_recorded_disk(record.domid, text)) {
      log_.info("domain " + record.name + ": disk " + attached->resource + " offered again as " +
                entry->dev);
    } else {
      log_.warning("domain " + record.name + ": disk " + entry->uname + " (" + entry->dev +
                   ") not offered again: " + attached.error().message);
    }
  }
}

void Xend::reattach_clients_of(const std::string& name) {
  for (const auto& [domid, record] : running_) {
    if (record.name == name) continue;
    const bool served = std::any_of(record.attached_disks.begin(), record.attached_disks.end(),
                                    [&](const std::string& text) {
                                      auto entry = xmconfig::parse_disk_spec(text);
                                      return entry && entry->backend == name;
                                    });
    if (served) reattach_disks(record, name);
    const bool bridged = std::any_of(record.attached_vifs.begin(), record.attached_vifs.end(),
                                     [&](const AttachedVif& v) { return v.backend == name; });
    if (bridged) reattach_vifs(record, name);
  }
}

RpcResult Xend::block_list(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  Json devices = Json::array();
  if (devices_) {
    auto disks = devices_->list_disks(domain->domid);
    if (!disks) return rpc::fail("cannot list the disks of " + domain->name + ": " + disks.error().message);
    for (const auto& d : *disks) devices.push_back(disk_json(d));
  }
  return Json{{"domid", domain->domid}, {"name", domain->name}, {"devices", devices}};
}

RpcResult Xend::block_attach(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (!devices_) return rpc::fail("xend runs without a device host: no block devices");
  const std::string uname = params.value("uname", std::string());
  const std::string vdev = params.value("vdev", std::string());
  const std::string mode = params.value("mode", std::string());
  auto entry = xmconfig::parse_disk_spec(uname + "," + vdev + "," + mode);
  if (!entry) return rpc::fail("Invalid disk '" + uname + "," + vdev + "," + mode + "': " +
                               entry.error().message);
  if (params.contains("backend")) entry->backend = params["backend"].get<std::string>();
  auto attached = attach_disk_entry(domain->domid, *entry, params.value("cwd", std::string("/")),
                                    domain->ssidref, domain_labeled(domain->domid, domain->ssidref));
  if (!attached) return tl::unexpected(attached.error());
  if (auto record = running_.find(domain->domid); record != running_.end()) {
    record->second.disks.push_back(attached->resource);
    record->second.attached_disks.push_back(attached->entry);
    if (auto saved = save_record(record->second); !saved) {
      log_.warning("domain " + domain->name + ": cannot record its new disk: " +
                   saved.error().message);
    }
  }
  log_.info("domain " + domain->name + ": block-attach " + attached->resource + " as " +
            entry->dev);
  return Json{{"domid", domain->domid}, {"devid", attached->devid}, {"resource", attached->resource}};
}

RpcResult Xend::block_detach(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (!devices_) return rpc::fail("xend runs without a device host: no block devices");
  const std::string device = params.value("device", std::string());
  // The resource, to keep the domain's record current.
  std::string resource;
  std::string vdev;
  if (auto disks = devices_->list_disks(domain->domid)) {
    for (const auto& d : *disks) {
      if (std::to_string(d.devid) == device || d.vdev == device) {
        resource = d.resource;
        vdev = d.vdev;
      }
    }
  }
  const auto wait = params.value("force", false) ? std::chrono::milliseconds{0} : kVbdDetachWait;
  if (auto done = devices_->detach_disk(domain->domid, device, wait); !done) {
    return rpc::fail(done.error().message);
  }
  if (auto record = running_.find(domain->domid); record != running_.end() && !resource.empty()) {
    auto& disks = record->second.disks;
    if (const auto it = std::find(disks.begin(), disks.end(), resource); it != disks.end()) {
      disks.erase(it);
    }
    std::erase_if(record->second.attached_disks, [&](const std::string& text) {
      auto entry = xmconfig::parse_disk_spec(text);
      return entry && entry->dev == vdev;
    });
    (void)save_record(record->second);
  }
  return Json{{"domid", domain->domid}, {"device", device}};
}

}  // namespace shype::xend
