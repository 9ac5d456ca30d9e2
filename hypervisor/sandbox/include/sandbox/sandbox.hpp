// Starting a guest kernel as a sandboxed process (ARCHITECTURE 2, STYLE.md
// rule 9). Before the kernel's first instruction the child has:
//  - its own user, pid, net, mount, ipc and uts namespaces; in the user
//    namespace it is root, outside it an unprivileged host uid;
//  - an empty root (pivot_root to an empty read-only tmpfs, old root
//    detached), hostname = the domain name;
//  - exactly the descriptors of abi.hpp (channel, memory, shared_info,
//    upcall) at fds 3..6 and /dev/null-less stdin/stdout/stderr closed;
//  - resource limits from the domain's memory size (address space, no
//    files, no core dumps, no new processes);
//  - NO_NEW_PRIVS and the seccomp allow-list of seccomp_policy.hpp, which
//    kills the process (SIGSYS) on anything else;
//  - and, where the host allows it, a cgroup of its own (v2 if its
//    controllers are available, else v1: memory, pids, cpu).
// The kernel is a static ELF executed from a descriptor (execveat), so the
// empty root needs no files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "acm/error.hpp"

namespace shype::sandbox {

struct SandboxSpec {
  std::string name;                 // domain name: argv[0] and hostname
  std::string cmdline;              // argv[1] of the kernel
  int kernel_fd = -1;               // the static ELF, opened read-only
  int channel_fd = -1;              // becomes abi::kChannelFd
  int memory_fd = -1;               // becomes abi::kMemoryFd
  int shared_info_fd = -1;          // becomes abi::kSharedInfoFd
  int upcall_fd = -1;               // becomes abi::kUpcallFd
  std::uint64_t memory_bytes = 0;   // guest memory size, for the limits
  bool start_stopped = false;       // stopped (SIGSTOP) before the kernel runs
  // Parent of the per-domain cgroup, e.g. "shype" (created if missing);
  // nullopt: no cgroup.
  std::optional<std::string> cgroup_parent;
};

struct SandboxedProcess {
  pid_t pid = -1;    // host pid
  int pidfd = -1;    // pollable; readable when the process exits (owned by the caller)
  std::string cgroup;  // the cgroup created ("" if none)
};

// Starts the kernel. The caller keeps its own descriptors (they are
// duplicated into the child). Errors name the step that failed (clone,
// uid_map, pivot_root, seccomp...).
[[nodiscard]] acm::Result<SandboxedProcess> launch(const SandboxSpec& spec);

// Removes the cgroup of an exited domain (no-op for "").
void release_cgroup(const std::string& cgroup);

// What this host allows, for logs and for tests that need a feature.
struct HostSupport {
  bool user_namespaces = false;
  bool cgroup_v2 = false;
  bool cgroup_v1 = false;
  std::string detail;  // one line, human readable
};
[[nodiscard]] HostSupport probe_host();

}  // namespace shype::sandbox
