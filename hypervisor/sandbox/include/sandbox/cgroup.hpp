// Where a domain's cgroup lives and what limits it. Domain cgroups hang
// below the launcher's own cgroup, in every hierarchy used, so the
// hypervisor's own limits (and whatever supervises it) still cover its
// guests: <launcher's cgroup>/<parent>/<domain name>.
//  - v2 (unified, /sys/fs/cgroup/cgroup.controllers lists memory and pids):
//    memory.max and pids.max; the launcher's cgroup must be able to enable
//    those controllers for its children (cgroup v2 refuses that for a
//    non-root cgroup that has processes itself: run the hypervisor in a
//    delegated subtree).
//  - v1: the memory and pids hierarchies (required) and cpu (joined if
//    mounted and writable, for scheduler weights): memory.limit_in_bytes (and
//    memory.memsw.limit_in_bytes where swap accounting exists), pids.max.
//  - v2 also enables the cpu controller below the launcher where it can
//    (optional, as v1's cpu hierarchy).
// Values: limits.hpp. The credit scheduler's weight and cap (Xen's
// sched-credit) become cpu controller settings: cpu_limits_*() below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "acm/error.hpp"

namespace shype::sandbox {

enum class CgroupVersion { none, v1, v2 };

struct CgroupLayout {
  CgroupVersion version = CgroupVersion::none;
  std::string v2_dir;      // v2: the launcher's cgroup directory
  std::string memory_dir;  // v1: the launcher's cgroup in each hierarchy
  std::string pids_dir;
  std::string cpu_dir;  // v1, "" if the cpu controller is not mounted
  std::string detail;   // one line: what was found, or why none
};

// Pure: the layout described by the text of /proc/self/mountinfo,
// /proc/self/cgroup and /sys/fs/cgroup/cgroup.controllers ("" if absent).
[[nodiscard]] CgroupLayout parse_cgroup_layout(std::string_view mountinfo,
                                               std::string_view self_cgroup,
                                               std::string_view v2_root_controllers);

// The layout of this host, for this process.
[[nodiscard]] CgroupLayout host_cgroup_layout();

// Whether this process may create cgroups in `layout` (its own cgroup
// directories are writable): the host "allows" a domain cgroup.
[[nodiscard]] bool is_usable(const CgroupLayout& layout);

// A cgroup parent is a relative path of one or more components of
// [A-Za-z0-9_.-] (not "." or ".."), at most 200 bytes.
[[nodiscard]] bool is_valid_cgroup_parent(std::string_view parent) noexcept;

// Creates <own>/<parent>/<leaf> in each hierarchy of `layout` with the limits
// for `memory_bytes`; returns the directories created (the leaves). A stale
// empty leaf of the same name is replaced; on error nothing is left behind
// except the (shared) parent directories.
[[nodiscard]] acm::Result<std::vector<std::string>> create_domain_cgroup(
    const CgroupLayout& layout, std::string_view parent, std::string_view leaf,
    std::uint64_t memory_bytes);

// Moves `pid` into every directory (cgroup.procs).
[[nodiscard]] acm::Status join_cgroup(const std::vector<std::string>& dirs, pid_t pid);

// Removes the directories (best effort; they must hold no process).
void remove_cgroup_dirs(const std::vector<std::string>& dirs);

// --- The credit scheduler on the cpu controller ------------------------------
//
// weight (1..65535, Xen's default 256) is a relative share: v1 cpu.shares =
// weight * 4 (256 -> 1024, the v1 default; 65535 -> 262140, below the
// kernel's 262144), v2 cpu.weight = weight * 100 / 256 clamped to 1..10000
// (256 -> 100, the v2 default). cap (percent of one CPU, 0 = none) is a
// bandwidth limit over a 100 ms period: v1 cpu.cfs_quota_us = cap * 1000
// (-1 for none), v2 cpu.max = "<cap * 1000> 100000" ("max 100000").
struct CpuLimits {
  std::uint16_t weight = 256;
  std::uint16_t cap = 0;
  friend bool operator==(const CpuLimits&, const CpuLimits&) = default;
};
inline constexpr std::uint64_t kCpuPeriodUs = 100'000;

[[nodiscard]] constexpr std::uint64_t cpu_shares_for_weight(std::uint16_t weight) noexcept {
  return std::uint64_t{weight == 0 ? std::uint16_t{1} : weight} * 4;
}
[[nodiscard]] constexpr std::uint64_t cpu_weight_v2_for_weight(std::uint16_t weight) noexcept {
  const std::uint64_t w = std::uint64_t{weight} * 100 / 256;
  return w < 1 ? 1 : (w > 10'000 ? 10'000 : w);
}
// cfs_quota_us for a cap; -1 (no limit) for 0.
[[nodiscard]] constexpr std::int64_t cfs_quota_for_cap(std::uint16_t cap) noexcept {
  return cap == 0 ? -1
                  : static_cast<std::int64_t>(cap) * static_cast<std::int64_t>(kCpuPeriodUs) / 100;
}

// The directory among `dirs` (SandboxedProcess::cgroup, one per line) that
// has the cpu controller (cpu.shares or cpu.weight), or "" if none does.
[[nodiscard]] std::string cpu_cgroup_dir(const std::string& dirs);
// Writes `limits` to a cpu cgroup directory (v1 or v2, whichever files it
// has). Errors name the file.
[[nodiscard]] acm::Status apply_cpu_limits(const std::string& cpu_dir, CpuLimits limits);

}  // namespace shype::sandbox
