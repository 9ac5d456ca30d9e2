// Starting a guest kernel as a sandboxed process (ARCHITECTURE 2, STYLE.md
// rule 9). Before the kernel's first instruction the child has:
//  - its own user, pid, net, mount, ipc, uts and cgroup namespaces; in the
//    user namespace it is root (uid and gid 0), outside it host uid/gid
//    65534 when the launcher is root (else the launcher's own uid/gid), with
//    no supplementary groups of the launcher's;
//  - an empty root (pivot_root to an empty read-only tmpfs, old root
//    detached), hostname = the domain name, working directory /;
//  - exactly the descriptors of abi.hpp (channel, memory, shared_info,
//    upcall) at fds 3..6; stdin/stdout/stderr and everything else closed;
//    an empty environment; default signal dispositions, nothing blocked;
//  - resource limits from the domain's memory size (limits.hpp: address
//    space, open files, no new processes, no files, no core dumps, no
//    locked memory);
//  - NO_NEW_PRIVS and the seccomp allow-list of seccomp_policy.hpp, which
//    kills the process (SIGSYS) on anything else;
//  - and, where the host allows it, a cgroup of its own (cgroup.hpp: v2 if
//    its controllers are available, else v1: memory, pids, cpu).
// The kernel is a static ELF executed from a descriptor (execveat), so the
// empty root needs no files. launch() first copies it into a sealed memfd
// that the guest may execute but not read: the process is then not
// dumpable (no core dumps; other processes of its host uid cannot ptrace it)
// and the image cannot change after it was checked (kernel_image.hpp).
//
// The child is pid 1 of its pid namespace: signals from the hypervisor other
// than SIGKILL, SIGSTOP and SIGCONT do not reach it (use SIGKILL to destroy,
// SIGSTOP/SIGCONT to pause and unpause).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "acm/error.hpp"

namespace shype::sandbox {

struct SandboxSpec {
  std::string name;                // domain name (is_valid_domain_name): argv[0] and hostname
  std::string cmdline;             // argv[1] of the kernel (< abi::kCmdlineSize bytes, no NUL)
  int kernel_fd = -1;              // the static ELF, opened read-only (only read by launch)
  int channel_fd = -1;             // becomes abi::kChannelFd (a SOCK_SEQPACKET socket)
  int memory_fd = -1;              // becomes abi::kMemoryFd (a file of >= memory_bytes)
  int shared_info_fd = -1;         // becomes abi::kSharedInfoFd (a file of >= one page)
  int upcall_fd = -1;              // becomes abi::kUpcallFd
  std::uint64_t memory_bytes = 0;  // guest memory size, for the limits (pages, > 0)
  bool start_stopped = false;      // stopped (SIGSTOP) before the kernel runs
  // Parent of the per-domain cgroup, relative to the launcher's own cgroup
  // (cgroup.hpp), e.g. "shype" (created if missing); nullopt: no cgroup.
  std::optional<std::string> cgroup_parent;
};

struct SandboxedProcess {
  pid_t pid = -1;  // host pid
  int pidfd = -1;  // pollable; readable when the process exits (owned by the caller)
  // The cgroup directories created, one per line (one for v2, one per v1
  // hierarchy); "" if none (not asked for, or the host has no usable
  // cgroup: see probe_host()). Pass it unchanged to release_cgroup().
  std::string cgroup;
};

// Domain names the sandbox accepts (hostname, argv[0], cgroup directory):
// 1..63 bytes of [A-Za-z0-9_.-], not starting with '.' or '-'.
[[nodiscard]] bool is_valid_domain_name(std::string_view name) noexcept;

// Starts the kernel. The caller keeps its own descriptors (they are
// duplicated into the child). On success the kernel is running (or, with
// start_stopped, the process is stopped just before executing it; send
// SIGCONT to run it). On failure nothing is left: the child has been killed
// and reaped and its cgroup removed. Errors name the step that failed
// ("uid_map: ...", "pivot_root: ...", "execveat: ..."). Every wait is
// bounded (a few seconds).
//
// launch() waits for its child through the pidfd: do not reap children with
// waitpid(-1, ...) concurrently. With start_stopped, a failure of the exec
// itself (after SIGCONT; the image was checked before, so only a resource
// shortage) shows as the process exiting with status 127.
[[nodiscard]] acm::Result<SandboxedProcess> launch(const SandboxSpec& spec);

// Removes the cgroup of an exited and reaped domain (no-op for "").
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
