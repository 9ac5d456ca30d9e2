#include "sandbox/cgroup.hpp"

#include <cerrno>
#include <chrono>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/limits.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {
namespace {

constexpr const char* kUnifiedRoot = "/sys/fs/cgroup";

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      break;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool has_token(std::string_view list, std::string_view token, char separator) {
  for (std::string_view t : split(list, separator)) {
    if (t == token) return true;
  }
  return false;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const auto octal = [](char c) { return c >= '0' && c <= '7'; };
      if (octal(field[i + 1]) && octal(field[i + 2]) && octal(field[i + 3])) {
        out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                        (field[i + 3] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

struct V1Mount {
  std::string root;         // the hierarchy directory mounted
  std::string mount_point;  // where
  std::string options;      // super options: the controllers
};

std::vector<V1Mount> v1_mounts(std::string_view mountinfo) {
  std::vector<V1Mount> mounts;
  for (std::string_view line : split(mountinfo, '\n')) {
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    const auto before = split(line.substr(0, dash), ' ');
    const auto after = split(line.substr(dash + 3), ' ');
    if (before.size() < 6 || after.size() < 3 || after[0] != "cgroup") continue;
    mounts.push_back(V1Mount{unescape_mountinfo(before[3]), unescape_mountinfo(before[4]),
                             std::string(after[2])});
  }
  return mounts;
}

// The process's own path in the v1 hierarchy that has `controller`.
std::string_view v1_own_path(std::string_view self_cgroup, std::string_view controller) {
  for (std::string_view line : split(self_cgroup, '\n')) {
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    if (has_token(line.substr(first + 1, second - first - 1), controller, ',')) {
      return line.substr(second + 1);
    }
  }
  return {};
}

std::string_view v2_own_path(std::string_view self_cgroup) {
  for (std::string_view line : split(self_cgroup, '\n')) {
    if (line.substr(0, 3) == "0::") return line.substr(3);
  }
  return {};
}

std::string join_path(std::string_view base, std::string_view relative) {
  std::string out(base);
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  if (!relative.empty() && relative.front() != '/') out.push_back('/');
  out.append(relative);
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  return out.empty() ? std::string("/") : out;
}

// The directory of this process's cgroup for `controller`, or "".
std::string v1_dir(const std::vector<V1Mount>& mounts, std::string_view self_cgroup,
                   std::string_view controller) {
  const std::string_view own = v1_own_path(self_cgroup, controller);
  if (own.empty()) return {};
  for (const V1Mount& m : mounts) {
    if (!has_token(m.options, controller, ',')) continue;
    // The mount shows the hierarchy from m.root down; a cgroup namespace
    // or a container may mount a subtree.
    if (m.root == "/") return join_path(m.mount_point, own);
    if (own.substr(0, m.root.size()) == m.root &&
        (own.size() == m.root.size() || own[m.root.size()] == '/')) {
      return join_path(m.mount_point, own.substr(m.root.size()));
    }
  }
  return {};
}

acm::Error cgroup_error(const std::string& what, int err) {
  return acm::Error{acm::Errc::io_error, "cgroup: " + what + ": " + errno_text(err), {}};
}

int make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return 0;
  return errno;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// mkdir -p for the components of `parent` below `base`; returns the full path.
acm::Result<std::string> make_parents(const std::string& base, std::string_view parent,
                                      bool enable_v2_controllers) {
  std::string dir = base;
  for (std::string_view component : split(parent, '/')) {
    if (enable_v2_controllers) {
      // Children of `dir` need memory and pids enabled in `dir`.
      if (int err = write_file(dir + "/cgroup.subtree_control", "+memory +pids"); err != 0) {
        return tl::unexpected(cgroup_error(
            "enabling memory and pids below " + dir +
                " (cgroup v2 allows that only in a cgroup without processes of its own: run the hypervisor in a delegated subtree)",
            err));
      }
    }
    dir = join_path(dir, component);
    if (int err = make_dir(dir); err != 0) return tl::unexpected(cgroup_error("mkdir " + dir, err));
  }
  if (enable_v2_controllers) {
    if (int err = write_file(dir + "/cgroup.subtree_control", "+memory +pids"); err != 0) {
      return tl::unexpected(cgroup_error("enabling memory and pids below " + dir, err));
    }
  }
  return dir;
}

// v2: the cpu controller (scheduler weight and cap) below `base` down to
// `parent`, where it is available; optional, so failures are ignored.
void enable_v2_cpu(const std::string& base, std::string_view parent) {
  std::string dir = base;
  (void)write_file(dir + "/cgroup.subtree_control", "+cpu");
  for (std::string_view component : split(parent, '/')) {
    dir = join_path(dir, component);
    (void)write_file(dir + "/cgroup.subtree_control", "+cpu");
  }
}

// Creates `dir` afresh: a stale empty one (a domain of that name that was
// not released) is removed first.
int make_leaf(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return 0;
  if (errno != EEXIST) return errno;
  if (::rmdir(dir.c_str()) != 0) return EEXIST;
  if (::mkdir(dir.c_str(), 0755) == 0) return 0;
  return errno;
}

}  // namespace

CgroupLayout parse_cgroup_layout(std::string_view mountinfo, std::string_view self_cgroup,
                                 std::string_view v2_root_controllers) {
  CgroupLayout layout;
  std::string_view controllers = v2_root_controllers;
  while (!controllers.empty() && (controllers.back() == '\n' || controllers.back() == ' ')) {
    controllers.remove_suffix(1);
  }
  if (has_token(controllers, "memory", ' ') && has_token(controllers, "pids", ' ')) {
    const std::string_view own = v2_own_path(self_cgroup);
    if (own.empty()) {
      layout.detail = "cgroup v2 has memory and pids, but /proc/self/cgroup has no 0:: line";
      return layout;
    }
    layout.version = CgroupVersion::v2;
    layout.v2_dir = join_path(kUnifiedRoot, own);
    layout.detail = "cgroup v2 (memory, pids) below " + layout.v2_dir;
    return layout;
  }
  const auto mounts = v1_mounts(mountinfo);
  layout.memory_dir = v1_dir(mounts, self_cgroup, "memory");
  layout.pids_dir = v1_dir(mounts, self_cgroup, "pids");
  layout.cpu_dir = v1_dir(mounts, self_cgroup, "cpu");
  if (layout.memory_dir.empty() || layout.pids_dir.empty()) {
    layout.detail = std::string("no usable cgroup: ") +
                    (controllers.empty() ? "/sys/fs/cgroup/cgroup.controllers missing or empty"
                                         : "cgroup v2 lacks memory or pids") +
                    ", and the v1 " + (layout.memory_dir.empty() ? "memory" : "pids") +
                    " hierarchy is not mounted";
    layout.memory_dir.clear();
    layout.pids_dir.clear();
    layout.cpu_dir.clear();
    return layout;
  }
  layout.version = CgroupVersion::v1;
  layout.detail = "cgroup v1: memory below " + layout.memory_dir + ", pids below " +
                  layout.pids_dir +
                  (layout.cpu_dir.empty() ? ", cpu not mounted" : ", cpu below " + layout.cpu_dir);
  return layout;
}

CgroupLayout host_cgroup_layout() {
  std::string mountinfo;
  std::string self_cgroup;
  std::string controllers;
  if (!read_file("/proc/self/mountinfo", mountinfo) ||
      !read_file("/proc/self/cgroup", self_cgroup)) {
    CgroupLayout none;
    none.detail = "no usable cgroup: /proc/self/mountinfo or /proc/self/cgroup unreadable";
    return none;
  }
  (void)read_file(std::string(kUnifiedRoot) + "/cgroup.controllers", controllers);
  return parse_cgroup_layout(mountinfo, self_cgroup, controllers);
}

bool is_usable(const CgroupLayout& layout) {
  const auto writable = [](const std::string& dir) {
    return !dir.empty() && ::access(dir.c_str(), W_OK) == 0;
  };
  switch (layout.version) {
    case CgroupVersion::v2:
      return writable(layout.v2_dir);
    case CgroupVersion::v1:
      return writable(layout.memory_dir) && writable(layout.pids_dir);
    case CgroupVersion::none:
      break;
  }
  return false;
}

bool is_valid_cgroup_parent(std::string_view parent) noexcept {
  if (parent.empty() || parent.size() > 200) return false;
  std::size_t start = 0;
  while (start <= parent.size()) {
    std::size_t end = parent.find('/', start);
    if (end == std::string_view::npos) end = parent.size();
    const std::string_view component = parent.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") return false;
    for (char c : component) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

acm::Result<std::vector<std::string>> create_domain_cgroup(const CgroupLayout& layout,
                                                           std::string_view parent,
                                                           std::string_view leaf,
                                                           std::uint64_t memory_bytes) {
  std::vector<std::string> created;
  const auto fail = [&created](acm::Error error) -> acm::Result<std::vector<std::string>> {
    remove_cgroup_dirs(created);
    return tl::unexpected(std::move(error));
  };
  const std::string memory_limit = std::to_string(cgroup_memory_limit(memory_bytes));
  const std::string pids_limit = std::to_string(kCgroupPidsMax);

  if (layout.version == CgroupVersion::v2) {
    std::string available;
    if (!read_file(layout.v2_dir + "/cgroup.controllers", available) ||
        !has_token(std::string_view(available).substr(0, available.find('\n')), "memory", ' ') ||
        !has_token(std::string_view(available).substr(0, available.find('\n')), "pids", ' ')) {
      return fail(acm::Error{acm::Errc::unsupported,
                             "cgroup: memory and pids are not delegated to " + layout.v2_dir,
                             {}});
    }
    auto base = make_parents(layout.v2_dir, parent, true);
    if (!base) return fail(base.error());
    if (has_token(std::string_view(available).substr(0, available.find('\n')), "cpu", ' ')) {
      enable_v2_cpu(layout.v2_dir, parent);
    }
    const std::string dir = join_path(*base, leaf);
    if (int err = make_leaf(dir); err != 0) return fail(cgroup_error("mkdir " + dir, err));
    created.push_back(dir);
    if (int err = write_file(dir + "/memory.max", memory_limit); err != 0) {
      return fail(cgroup_error("writing " + dir + "/memory.max", err));
    }
    if (exists(dir + "/memory.swap.max")) {
      if (int err = write_file(dir + "/memory.swap.max", "0"); err != 0) {
        return fail(cgroup_error("writing " + dir + "/memory.swap.max", err));
      }
    }
    if (int err = write_file(dir + "/pids.max", pids_limit); err != 0) {
      return fail(cgroup_error("writing " + dir + "/pids.max", err));
    }
    return created;
  }

  if (layout.version == CgroupVersion::v1) {
    struct Hierarchy {
      const std::string* own;
      const char* controller;
    };
    const Hierarchy hierarchies[] = {
        {&layout.memory_dir, "memory"}, {&layout.pids_dir, "pids"}, {&layout.cpu_dir, "cpu"}};
    for (const Hierarchy& h : hierarchies) {
      if (h.own->empty()) continue;
      const bool optional = std::string_view(h.controller) == "cpu";
      auto base = make_parents(*h.own, parent, false);
      if (!base && optional) continue;  // cpu only carries scheduler weights
      if (!base) return fail(base.error());
      const std::string dir = join_path(*base, leaf);
      if (int err = make_leaf(dir); err != 0) {
        if (optional) continue;
        return fail(cgroup_error("mkdir " + dir, err));
      }
      created.push_back(dir);
      if (std::string_view(h.controller) == "memory") {
        if (int err = write_file(dir + "/memory.limit_in_bytes", memory_limit); err != 0) {
          return fail(cgroup_error("writing " + dir + "/memory.limit_in_bytes", err));
        }
        // With swap accounting, memory+swap gets the same limit: no swap.
        if (exists(dir + "/memory.memsw.limit_in_bytes")) {
          if (int err = write_file(dir + "/memory.memsw.limit_in_bytes", memory_limit); err != 0) {
            return fail(cgroup_error("writing " + dir + "/memory.memsw.limit_in_bytes", err));
          }
        }
      } else if (std::string_view(h.controller) == "pids") {
        if (int err = write_file(dir + "/pids.max", pids_limit); err != 0) {
          return fail(cgroup_error("writing " + dir + "/pids.max", err));
        }
      }
    }
    return created;
  }
  return fail(acm::Error{acm::Errc::unsupported, "cgroup: " + layout.detail, {}});
}

acm::Status join_cgroup(const std::vector<std::string>& dirs, pid_t pid) {
  const std::string text = std::to_string(pid);
  for (const std::string& dir : dirs) {
    if (int err = write_file(dir + "/cgroup.procs", text); err != 0) {
      return tl::unexpected(cgroup_error("joining " + dir, err));
    }
  }
  return {};
}

void remove_cgroup_dirs(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    // A process that has just been reaped can keep a v2 cgroup "populated"
    // for a moment; retry EBUSY briefly.
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (::rmdir(dir.c_str()) == 0 || errno != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

std::string cpu_cgroup_dir(const std::string& dirs) {
  for (std::string_view dir : split(dirs, '\n')) {
    if (dir.empty()) continue;
    std::string path(dir);
    if (exists(path + "/cpu.shares") || exists(path + "/cpu.weight")) return path;
  }
  return {};
}

acm::Status apply_cpu_limits(const std::string& cpu_dir, CpuLimits limits) {
  const auto put = [&](const char* file, const std::string& value) -> acm::Status {
    if (int err = write_file(cpu_dir + "/" + file, value); err != 0) {
      return tl::unexpected(cgroup_error("writing " + value + " to " + cpu_dir + "/" + file, err));
    }
    return {};
  };
  if (exists(cpu_dir + "/cpu.shares")) {  // v1
    if (auto ok = put("cpu.shares", std::to_string(cpu_shares_for_weight(limits.weight))); !ok) {
      return ok;
    }
    if (!exists(cpu_dir + "/cpu.cfs_quota_us")) {
      if (limits.cap == 0) return {};
      return acm::make_error(
          acm::Errc::unsupported,
          "cgroup: " + cpu_dir + " has no cpu.cfs_quota_us (CONFIG_CFS_BANDWIDTH)");
    }
    // The period first, so that the quota is never checked against another.
    if (auto ok = put("cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !ok) return ok;
    return put("cpu.cfs_quota_us", std::to_string(cfs_quota_for_cap(limits.cap)));
  }
  if (exists(cpu_dir + "/cpu.weight")) {  // v2
    if (auto ok = put("cpu.weight", std::to_string(cpu_weight_v2_for_weight(limits.weight))); !ok) {
      return ok;
    }
    const std::string max =
        limits.cap == 0 ? std::string("max") : std::to_string(cfs_quota_for_cap(limits.cap));
    return put("cpu.max", max + " " + std::to_string(kCpuPeriodUs));
  }
  return acm::make_error(acm::Errc::unsupported, "cgroup: " + cpu_dir + " has no cpu controller");
}

}  // namespace shype::sandbox
