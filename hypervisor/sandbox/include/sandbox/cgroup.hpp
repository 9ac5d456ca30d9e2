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
// Values: limits.hpp.
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

}  // namespace shype::sandbox
