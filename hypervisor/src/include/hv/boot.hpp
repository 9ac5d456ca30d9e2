// From the boot configuration to what the XSM layer boots with: the policy
// bytes (a file, or the built-in DEFAULT) and Domain-0's ssidref (given, or
// looked up by label name in the policy's names: the compact format carries
// them; for a Xen-format binary they come from the .map file beside it).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "hv/boot_config.hpp"
#include "xsm/xsm.hpp"

namespace shype::hv {

struct BootPlan {
  xsm::XsmConfig xsm;
  std::optional<std::string> cgroup_parent;
  std::optional<std::vector<std::uint32_t>> dom0_cpus;  // boot.conf dom0_cpus
  std::string policy_source;  // "built-in DEFAULT" or the file path, for the log
};

[[nodiscard]] acm::Result<BootPlan> plan_boot(const BootConfig& config,
                                              const std::filesystem::path& root);

}  // namespace shype::hv
