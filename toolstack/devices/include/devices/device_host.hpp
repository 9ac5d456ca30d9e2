// Domain-0's split-device host (ARCHITECTURE 4): xenstore, the console
// daemon and the backends (blkback, netback with its bridge), on one device
// thread beside xend's own. xend calls the methods below from its thread;
// each runs on the device thread and returns its result.
//
// A domain's life with devices:
//   xend: create_domain(paused) -> introduce_domain -> attach_disk... ->
//         attach_vif... -> unpause
//   guest: finds its console and store ports in shared_info, connects,
//          then each frontend walks the xenbus handshake with its backend
//   xend: domain gone (destroyed, shut down, saved) -> release_domain
//
// Policy: xend decides whether a domain may use a disk (resource labels) and
// writes the resource's ssidref into the backend directory; blkback asks the
// hypervisor (xsm_op getdecision, audited there) before it connects the
// disk, so a disk whose label does not share a type with the domain is
// never connected. The bridge asks the same for every pair of domains that
// exchange frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "hv/log.hpp"
#include "shype/abi.hpp"

namespace shype::devices {

using acm::Result;
using acm::Status;

// One `disk = [...]` entry (manual 5.1): "file:/path,xvda,w".
struct DiskSpec {
  std::string resource;  // canonical resource name: "file:/abs/path" or "phy:/dev/..."
  std::string vdev;      // as written: "xvda", "hda1", "sda1", "xvdb"...
  bool writable = false;       // "w" or "w!"
  bool force_shared = false;   // "w!": writable even if another domain has it writable
  abi::domid_t backend = abi::kDomain0;
  std::uint32_t resource_ssidref = 0;  // the resource's label under the active policy
};

// One `vif = [...]` entry (manual 5.1): "mac=00:16:3e:..,bridge=xenbr0".
struct VifSpec {
  std::string mac;                  // "" : one is generated (00:16:3e:xx:xx:xx)
  std::string bridge = "xenbr0";
  abi::domid_t backend = abi::kDomain0;
  // The device id, when a vif is offered again (xend restarted, its driver
  // domain started again): the frontend keeps its directory. Otherwise the
  // lowest free one.
  std::optional<std::uint32_t> devid;
};

enum class DeviceState : std::uint8_t { initialising, init_wait, initialised, connected, closing, closed, unknown };

struct DiskInfo {
  std::uint32_t devid = 0;  // Xen's device number of vdev (xvda = 51712)
  std::string vdev;
  std::string resource;
  bool writable = false;
  abi::domid_t backend = 0;
  std::uint32_t backend_state = 0;   // XenbusState
  std::uint32_t frontend_state = 0;  // XenbusState
  std::int64_t ring_ref = -1;
  std::int64_t event_channel = -1;
  std::uint64_t requests = 0;   // served
  std::uint64_t errors = 0;     // answered with an error
  std::string mode;             // "r", "w" or "w!"
  std::string backend_path;     // the backend directory in xenstore
};

struct VifInfo {
  std::uint32_t devid = 0;
  std::string mac;
  std::string bridge;
  abi::domid_t backend = 0;
  std::uint32_t backend_state = 0;
  std::uint32_t frontend_state = 0;
  std::uint64_t tx_frames = 0;       // from the guest
  std::uint64_t rx_frames = 0;       // to the guest
  std::uint64_t denied_frames = 0;   // from the guest, refused by the policy
  std::uint64_t errors = 0;          // tx requests answered with an error
  std::uint64_t dropped_frames = 0;  // to the guest, dropped: no rx buffer posted
  std::int64_t event_channel = -1;   // as the frontend published them (-1: not yet)
  std::int64_t tx_ring_ref = -1;
  std::int64_t rx_ring_ref = -1;
  std::string backend_path;          // the backend directory in xenstore
};

// A domain's ends of its console and xenstore event channels.
struct GuestPorts {
  abi::evtchn_port_t console = 0;
  abi::evtchn_port_t store = 0;
};

class DeviceHost {
 public:
  // Starts the device thread with its own hypervisor connection under
  // `root` (SHYPE_ROOT) and xenstore. Console logs go to
  // root/var/log/xen/console/, console sockets to root/run/xend/console/.
  [[nodiscard]] static Result<std::unique_ptr<DeviceHost>> start(const std::filesystem::path& root,
                                                                 hv::Log& log);
  virtual ~DeviceHost() = default;

  // A new domain, created paused: allocates its console and store event
  // channels (to Domain-0), binds them, tells the guest (set_start_info),
  // creates /local/domain/<domid> (name, domid; owned by the domain) and
  // starts its console backend (log file guest-<name>.log, console socket
  // <domid>.sock). The domain is still paused afterwards.
  [[nodiscard]] virtual Status introduce_domain(abi::domid_t domid, const std::string& name) = 0;
  // The guest-side ports of a domain's console and store channels (what
  // set_start_info told it), to be kept by xend for adopt_domain.
  [[nodiscard]] virtual std::optional<GuestPorts> guest_ports(abi::domid_t domid) = 0;
  // A running domain introduced by an earlier device host (xend restarted):
  // binds Domain-0's ends to the guest's console and store ports again
  // (they reverted to unbound when the earlier host's channels closed),
  // maps the guest's console and store pages again, recreates
  // /local/domain/<domid> and restarts the console backend (the log is
  // appended to). The guest's rings go on where they stopped. Its disks and
  // vifs are not re-attached (docs/devices.md, "Limits").
  [[nodiscard]] virtual Status adopt_domain(abi::domid_t domid, const std::string& name,
                                            GuestPorts ports) = 0;
  // The domain is gone or going: closes every backend of it (and every
  // backend it served as a driver domain), unmaps, removes its xenstore
  // directories. Idempotent.
  virtual void release_domain(abi::domid_t domid) = 0;

  // Block devices (xm create's disks, xm block-attach/-detach/-list).
  // attach_disk writes the frontend and backend directories; the backend
  // connects when the frontend is ready. Returns the device id.
  [[nodiscard]] virtual Result<std::uint32_t> attach_disk(abi::domid_t domid,
                                                          const DiskSpec& disk) = 0;
  // `device`: the vdev ("xvdb") or the device id. Asks the frontend to
  // close and removes the device once it has (or after `wait`).
  [[nodiscard]] virtual Status detach_disk(abi::domid_t domid, const std::string& device,
                                           std::chrono::milliseconds wait) = 0;
  [[nodiscard]] virtual Result<std::vector<DiskInfo>> list_disks(abi::domid_t domid) = 0;

  // Network interfaces (xm create's vifs, xm network-attach/-detach/-list).
  [[nodiscard]] virtual Result<std::uint32_t> attach_vif(abi::domid_t domid, const VifSpec& vif) = 0;
  [[nodiscard]] virtual Status detach_vif(abi::domid_t domid, std::uint32_t devid,
                                          std::chrono::milliseconds wait) = 0;
  [[nodiscard]] virtual Result<std::vector<VifInfo>> list_vifs(abi::domid_t domid) = 0;
  // The policy or a label changed (setpolicy, a run-time update,
  // resetpolicy, relabel): the bridges drop their cached sharing decisions
  // so the next frame between two domains is decided under the new policy.
  virtual void policy_changed() {}

  // Where `xm console` connects for a domain (a Unix stream socket, root
  // and xend's user only): bytes written go to the guest's console input,
  // bytes read are its output (first what it wrote before, up to 64 KiB).
  [[nodiscard]] virtual std::filesystem::path console_socket(abi::domid_t domid) const = 0;
  // The domain's console log file.
  [[nodiscard]] virtual std::filesystem::path console_log(const std::string& name) const = 0;

  // Domain-0's tools' view of xenstore (xm xenstore-ls / -read / -write),
  // as Domain-0, which may read and write anything. Errors name the path
  // and the errno (ENOENT, EINVAL...).
  struct XenstoreEntry {
    std::string path;   // absolute
    std::string value;
    std::string perms;  // "n0 r5": owner first (xs_wire.hpp)
  };
  // `path` and every node below it, depth first, at most `limit` entries.
  [[nodiscard]] virtual Result<std::vector<XenstoreEntry>> xenstore_list(const std::string& path,
                                                                         std::size_t limit) {
    (void)path;
    (void)limit;
    return acm::make_error(acm::Errc::io_error, "this device host has no xenstore");
  }
  [[nodiscard]] virtual Result<std::string> xenstore_read(const std::string& path) {
    (void)path;
    return acm::make_error(acm::Errc::io_error, "this device host has no xenstore");
  }
  [[nodiscard]] virtual Status xenstore_write(const std::string& path, const std::string& value) {
    (void)path;
    (void)value;
    return acm::make_error(acm::Errc::io_error, "this device host has no xenstore");
  }
  // Sets a node's permissions (xenstore-chmod): `perms` as Xen writes them
  // ("n1", "r3", ...), the first naming the owner.
  [[nodiscard]] virtual Status xenstore_chmod(const std::string& path,
                                              const std::vector<std::string>& perms) {
    (void)path;
    (void)perms;
    return acm::make_error(acm::Errc::io_error, "this device host has no xenstore");
  }
};

// Xen's device number for a vdev name (xvda -> 51712 = (202 << 8) | 0,
// xvdb -> 51728, hda -> 768, sda1 -> 2049); nullopt if it is not one.
[[nodiscard]] std::optional<std::uint32_t> vdev_to_devid(std::string_view vdev);

}  // namespace shype::devices
