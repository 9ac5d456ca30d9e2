// The device host's block devices (device_host.hpp): xm create's disks and
// xm block-attach / block-detach / block-list. The toolstack's part of the
// xenbus protocol for class "vbd" (shype/io/xenbus.hpp, blkif.hpp):
//
//   frontend /local/domain/<front>/device/vbd/<devid>/   owner front, backend reads
//     backend, backend-id, virtual-device, device-type, state (Initialising)
//   backend  /local/domain/<back>/backend/vbd/<front>/<devid>/   owner back, front reads
//     frontend, frontend-id, params, mode, resource-ssidref, dev, type,
//     state (Initialising, written last: blkback starts on it)
//
// Detaching asks the frontend to let go (backend state Closing), waits for
// it (bounded: the device thread keeps serving the guest's xenstore
// requests meanwhile, so the wait happens on the caller's thread) and then
// removes both directories; blkback drops the device when its directory
// goes away.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <thread>
#include <variant>

#include "device_dirs.hpp"
#include "device_host_impl.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::devices {
namespace {

using abi::io::XenbusState;

std::string vbd_frontend_dir(abi::domid_t front, std::uint32_t devid) {
  return devices::frontend_dir("vbd", front, devid);
}

std::string vbd_backend_dir(abi::domid_t back, abi::domid_t front, std::uint32_t devid) {
  return devices::backend_dir("vbd", back, front, devid);
}

bool writable_mode(std::string_view mode) { return mode == "w" || mode == "w!"; }

// The device named by `device` ("xvdb" or "51728").
std::optional<std::uint32_t> device_number(const std::string& device) {
  if (auto number = parse_number<std::uint32_t>(device)) return number;
  return vdev_to_devid(device);
}

}  // namespace

Result<std::uint32_t> DeviceHostImpl::attach_disk(abi::domid_t domid, const DiskSpec& disk) {
  const auto devid = vdev_to_devid(disk.vdev);
  if (!devid) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "'" + disk.vdev + "' is not a virtual device name (xvda, hda1, sda...)");
  }
  if (domid == abi::kDomain0) {
    return acm::make_error(acm::Errc::invalid_argument, "Domain-0 has no block frontend");
  }
  return call<std::uint32_t>("attaching " + disk.resource, [this, domid, disk,
                                                            devid = *devid]() -> Result<std::uint32_t> {
    StoreClient& store = loop_->store();
    const std::string fe = vbd_frontend_dir(domid, devid);
    const std::string be = vbd_backend_dir(disk.backend, domid, devid);
    if (!store.read("/local/domain/" + std::to_string(domid) + "/domid")) {
      return acm::make_error(acm::Errc::not_found,
                             "domain " + std::to_string(domid) + " has no xenstore directory");
    }
    // A frontend directory whose backend directory is gone is what a guest
    // left behind writing to a device being removed: stale.
    const auto fe_backend = store.read(fe + "/backend");
    const bool fe_live = fe_backend && store.directory(*fe_backend);
    if (store.directory(be) || fe_live) {
      return acm::make_error(acm::Errc::invalid_argument,
                             "device " + disk.vdev + " is already attached to domain " +
                                 std::to_string(domid));
    }
    if (store.directory(fe)) (void)store.rm(fe);
    // Xen's rule (manual 5.1): a disk writable in one domain is not
    // attached to another, nor is a disk in use attached writable, unless
    // the new mode is "w!".
    if (!disk.force_shared) {
      const std::string root = "/local/domain/" + std::to_string(disk.backend) + "/backend/vbd";
      if (auto fronts = store.directory(root)) {
        for (const auto& front : *fronts) {
          if (front == std::to_string(domid)) continue;
          auto devids = store.directory(root + "/" + front);
          if (!devids) continue;
          for (const auto& other : *devids) {
            const std::string dir = root + "/" + front + "/" + other;
            auto params = store.read(dir + "/params");
            auto mode = store.read(dir + "/mode");
            if (!params || *params != disk.resource || !mode) continue;
            if (writable_mode(*mode) || disk.writable) {
              return acm::make_error(
                  acm::Errc::invalid_argument,
                  "Device " + disk.resource + " is in use by domain " + front + " (mode " + *mode +
                      "); use mode w! to share it writable anyway");
            }
          }
        }
      }
    }
    const std::string mode = disk.writable ? (disk.force_shared ? "w!" : "w") : "r";
    const std::string type = disk.resource.substr(0, disk.resource.find(':'));
    const std::string initialising = state_text(XenbusState::initialising);
    if (auto written = write_device_dirs(store, domid, fe,
                                         {{"backend", be},
                                          {"backend-id", std::to_string(disk.backend)},
                                          {"virtual-device", std::to_string(devid)},
                                          {"device-type", "disk"},
                                          {"state", initialising}},
                                         disk.backend, be,
                                         {{"frontend", fe},
                                          {"frontend-id", std::to_string(domid)},
                                          {"params", disk.resource},
                                          {"type", type},
                                          {"mode", mode},
                                          {"dev", disk.vdev},
                                          {"resource-ssidref", std::to_string(disk.resource_ssidref)},
                                          {"state", initialising}});
        !written) {
      return tl::unexpected(written.error());
    }
    log_.info("domain " + std::to_string(domid) + ": disk " + disk.resource + " attached as " +
              disk.vdev + " (" + mode + ")");
    return devid;
  });
}

Status DeviceHostImpl::detach_disk(abi::domid_t domid, const std::string& device,
                                   std::chrono::milliseconds wait) {
  const auto devid = device_number(device);
  if (!devid) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "'" + device + "' is neither a device number nor a virtual device name");
  }
  return detach_device(*this, log_, "detaching " + device, vbd_frontend_dir(domid, *devid),
                       XenbusState::init_wait,
                       "domain " + std::to_string(domid) + " has no block device " + device,
                       "domain " + std::to_string(domid) + ": " + device +
                           " did not close in time; removing it anyway",
                       wait)
      .map([this, domid, device]() {
        log_.info("domain " + std::to_string(domid) + ": disk " + device + " detached");
      });
}

Result<std::vector<DiskInfo>> DeviceHostImpl::list_disks(abi::domid_t domid) {
  return call<std::vector<DiskInfo>>("listing disks", [this, domid]() -> Result<std::vector<DiskInfo>> {
    StoreClient& store = loop_->store();
    std::vector<DiskInfo> disks;
    const std::string root = "/local/domain/" + std::to_string(domid) + "/device/vbd";
    auto devids = store.directory(root);
    if (!devids) return disks;
    for (const auto& devid_text : *devids) {
      const auto devid = parse_number<std::uint32_t>(devid_text);
      if (!devid) continue;
      const std::string fe = root + "/" + devid_text;
      DiskInfo info;
      info.devid = *devid;
      info.frontend_state = read_state(store, fe);
      auto number = [&](const std::string& path) { return read_number(store, path); };
      info.ring_ref = number(fe + "/ring-ref");
      info.event_channel = number(fe + "/event-channel");
      info.backend = static_cast<abi::domid_t>(std::max<std::int64_t>(0, number(fe + "/backend-id")));
      const auto be = store.read(fe + "/backend");
      // Left behind by a guest writing to a device being removed.
      if (!be || !store.directory(*be)) continue;
      {
        info.backend_state = read_state(store, *be);
        info.vdev = store.read(*be + "/dev").value_or("");
        info.resource = store.read(*be + "/params").value_or("");
        info.mode = store.read(*be + "/mode").value_or("");
        info.writable = writable_mode(info.mode);
        info.backend_path = *be;
      }
      if (blkback_) {
        if (auto stats = blkback_->stats(domid, *devid)) {
          info.requests = stats->requests;
          info.errors = stats->errors;
        }
      }
      disks.push_back(std::move(info));
    }
    return disks;
  });
}

}  // namespace shype::devices
