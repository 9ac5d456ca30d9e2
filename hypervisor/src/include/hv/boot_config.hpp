// The boot configuration, SHYPE_ROOT/etc/shype/boot.conf: the analogue of
// the grub `module` line that gave Xen its boot policy (ARCHITECTURE 5).
//
//   # comment
//   xsm = acm                   # acm | dummy (default acm)
//   policy = etc/shype/boot.bin # absolute, or relative to SHYPE_ROOT;
//                               # default: the built-in DEFAULT policy
//   dom0_label = SystemManagement   # a VM label of the policy, or
//   dom0_ssidref = 0x00010001       # an ssidref (not both)
//   cgroup = shype              # optional: parent cgroup for domains
//   dom0_cpus = 0               # optional: CPUs set apart for Domain-0
//                               # (a list like "0", "0-1", "0,2"); guests
//                               # start on the others (hv/cpu_placement.hpp)
//
// One `key = value` per line; blanks and text after '#' are ignored; a key
// may appear once. Every error names file:line and the reason.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/ssidref.hpp"

namespace shype::hv {

struct BootConfig {
  std::string xsm_module = "acm";
  std::optional<std::filesystem::path> policy;  // as written
  std::optional<std::string> dom0_label;
  std::optional<acm::Ssidref> dom0_ssidref;
  std::optional<std::string> cgroup_parent;
  std::optional<std::vector<std::uint32_t>> dom0_cpus;  // ascending
};

[[nodiscard]] acm::Result<BootConfig> parse_boot_config(std::string_view text,
                                                        const std::string& file_name);
// A missing file is the default configuration; any other read error fails.
[[nodiscard]] acm::Result<BootConfig> read_boot_config(const std::filesystem::path& file);

// The policy path as the hypervisor opens it: absolute, or under `root`.
[[nodiscard]] std::filesystem::path resolve_under_root(const std::filesystem::path& root,
                                                       const std::filesystem::path& path);

}  // namespace shype::hv
