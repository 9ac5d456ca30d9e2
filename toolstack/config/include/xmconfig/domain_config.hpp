// The typed view of a domain configuration file: what xm create sends to
// xend and what xend stores (as JSON, json.hpp) for managed and running
// domains. Keys and defaults follow the manual (5.1, 4.2.2, 5.4) and Xen
// 3.3's xm create; docs/domain-config.md lists every key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xmconfig/config_file.hpp"

namespace shype::xmconfig {

// ---- devices ----------------------------------------------------------------

enum class DiskMode : std::uint8_t {
  read_only,    // "r"
  read_write,   // "w"
  force_write,  // "w!": read-write even if mounted or exported elsewhere (manual 5.1)
};
enum class DiskMedia : std::uint8_t {
  disk,   // the default, or an explicit ":disk" suffix on the device
  cdrom,  // a ":cdrom" suffix (manual A.2: ',hdc:cdrom,r')
};

// One `disk` entry: 'UNAME,DEV,MODE[,BACKEND]' where
//   UNAME   is TYPE:TARGET (phy:hda1, file:/path, tap:aio:/path), or empty
//           for an empty CD-ROM drive;
//   DEV     is the device the guest sees, optionally prefixed "ioemu:" (HVM
//           emulation) and suffixed ":cdrom" or ":disk";
//   MODE    is r, w or w!;
//   BACKEND (optional) names the domain serving the disk, written either bare
//           as in Xen 3.3 ('phy:hda1,sda1,w,driverdom') or as
//           'backend=driverdom'.
struct DiskSpec {
  std::string uname;
  std::string dev;  // without "ioemu:" and without the media suffix
  bool ioemu = false;
  DiskMedia media = DiskMedia::disk;
  DiskMode mode = DiskMode::read_only;
  std::optional<std::string> backend;

  friend bool operator==(const DiskSpec&, const DiskSpec&) = default;
};

// One `vif` entry: comma-separated key=value settings (manual 5.1); '' means
// all defaults (xend picks a MAC in 00:16:3E and the default bridge).
struct VifSpec {
  std::optional<std::string> type;  // "ioemu" for HVM emulated NICs
  std::optional<std::string> mac;   // six hex octets, unicast, as written
  std::optional<std::string> bridge;
  std::optional<std::string> ip;
  std::optional<std::string> script;
  std::optional<std::string> backend;  // domain serving the interface
  std::optional<std::string> vifname;  // name of the backend device
  std::optional<std::string> rate;     // e.g. "10Mb/s"
  std::optional<std::string> model;    // emulated NIC model (HVM)

  friend bool operator==(const VifSpec&, const VifSpec&) = default;
};

// One `vtpm` entry: 'instance=N, backend=DOM' (manual 5.4), both optional.
struct VtpmSpec {
  std::optional<std::uint32_t> instance;  // > 0: the preferred instance
  std::optional<std::string> backend;     // the domain running the vTPM ("0")

  friend bool operator==(const VtpmSpec&, const VtpmSpec&) = default;
};

// access_control = ['policy=P,label=L'] (reference 2.1).
struct AccessControl {
  std::string policy;
  std::string label;

  friend bool operator==(const AccessControl&, const AccessControl&) = default;
};

// What to do when the domain powers off, reboots or crashes.
enum class ShutdownAction : std::uint8_t { destroy, restart, preserve, rename_restart };

// ---- the domain ---------------------------------------------------------------

struct DomainConfig {
  std::string name;
  std::string kernel;
  std::optional<std::string> ramdisk;
  std::uint32_t memory = 128;  // MiB, 1..65536
  std::uint32_t vcpus = 1;     // 1..32
  std::vector<DiskSpec> disks;
  std::vector<VifSpec> vifs;
  std::vector<VtpmSpec> vtpms;  // at most one

  // The kernel command line and what it is built from (build_cmdline).
  std::string root;   // "/dev/sda1 ro" (a leading "root=" is tolerated)
  std::string extra;  // appended verbatim
  std::string cmdline;
  // Manual 5.1's kernel-level IP configuration (the "ip=" argument).
  bool dhcp = false;  // dhcp = 'dhcp' (default 'off')
  std::string ip;     // the domain's address
  std::string netmask;
  std::string gateway;
  std::string hostname;
  std::string interface = "eth0";
  std::string nfs_server;
  std::string nfs_root;  // needs nfs_server; adds "nfs=SERVER:ROOT"

  ShutdownAction on_poweroff = ShutdownAction::destroy;
  ShutdownAction on_reboot = ShutdownAction::restart;
  ShutdownAction on_crash = ShutdownAction::restart;

  std::optional<std::string> cpus;  // e.g. "0-3,^1"
  std::uint32_t cpu_weight = 256;   // 1..65535 (manual 4.2.2)
  std::uint32_t cpu_cap = 0;        // 0..65535 percent of one CPU; 0 = no cap
  std::optional<std::string> uuid;  // canonical lower-case 8-4-4-4-12
  std::optional<AccessControl> access_control;

  friend bool operator==(const DomainConfig&, const DomainConfig&) = default;
};

// The typed view. Errors (Errc::invalid_argument) are located at the
// variable's assignment, e.g. `domain1.xm:2: memory must be an integer`;
// a missing `name` or `kernel` is located at the file alone. Variables the
// view does not know are ignored, as xm did (they stay in the ConfigFile).
[[nodiscard]] Result<DomainConfig> domain_config(const ConfigFile& file);

// parse_config then domain_config.
[[nodiscard]] Result<DomainConfig> parse_domain_config(std::string_view text, std::string file_name,
                                                       std::span<const Override> overrides = {});

// The command line Xen 3.3 built (XendConfig): "ip=..." when ip or dhcp is
// set, then "root=<root>", then "nfs=SERVER:ROOT" and `extra`; empty parts
// are left out and parts are separated by one space.
[[nodiscard]] std::string build_cmdline(const DomainConfig& config);

// ---- single entries (also for xm block-attach / network-attach) --------------
// Errors carry no location; callers add one.

[[nodiscard]] Result<DiskSpec> parse_disk_spec(std::string_view spec);
[[nodiscard]] Result<VifSpec> parse_vif_spec(std::string_view spec);
[[nodiscard]] Result<VtpmSpec> parse_vtpm_spec(std::string_view spec);
// One element of the access_control list, with reference 2.1's messages.
[[nodiscard]] Result<AccessControl> parse_access_control(std::string_view spec);

// The entry written back in configuration-file syntax (parse_* inverts it).
[[nodiscard]] std::string format_disk_spec(const DiskSpec& disk);
[[nodiscard]] std::string format_vif_spec(const VifSpec& vif);
[[nodiscard]] std::string format_vtpm_spec(const VtpmSpec& vtpm);

[[nodiscard]] std::string_view to_string(DiskMode mode) noexcept;     // "r", "w", "w!"
[[nodiscard]] std::string_view to_string(DiskMedia media) noexcept;   // "disk", "cdrom"
[[nodiscard]] std::string_view to_string(ShutdownAction a) noexcept;  // "rename-restart"...
[[nodiscard]] std::optional<DiskMode> disk_mode_from_string(std::string_view s) noexcept;
[[nodiscard]] std::optional<DiskMedia> disk_media_from_string(std::string_view s) noexcept;
[[nodiscard]] std::optional<ShutdownAction> shutdown_action_from_string(
    std::string_view s) noexcept;

// The canonical security label xend derives from access_control
// (reference 2.1): "ACM:<policy>:<label>".
[[nodiscard]] std::string security_label(const AccessControl& access_control);

}  // namespace shype::xmconfig
