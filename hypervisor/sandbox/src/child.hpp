// Internal: the sandbox child between clone() and execveat(). Everything it
// needs is prepared by the parent in a ChildPlan before the clone; the child
// only makes system calls (no allocation, no locks, nothing that is not
// async-signal-safe), because it is a copy of a possibly multi-threaded
// hypervisor.
//
// The conversation with the parent runs over one SOCK_SEQPACKET pair:
//   parent -> child  'G'           uid/gid maps written, cgroup joined: go on
//   child  -> parent ChildReport   a step failed (the child then exits 127)
//   child  -> parent 'R'           (start_stopped) everything done but the
//                                  exec; the parent stops the child with
//                                  SIGSTOP and sends 'G', which the child
//                                  reads once it is continued
//   child  -> parent 'X'           everything done, executing the kernel now
//   end of file after 'X'          the exec succeeded (the child's end is
//                                  close-on-exec)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <linux/filter.h>
#include <sys/resource.h>

namespace shype::sandbox::detail {

inline constexpr char kGo = 'G';
inline constexpr char kReadyToStop = 'R';
inline constexpr char kExecuting = 'X';

// Where the child keeps its end of the socket pair until the exec closes it.
inline constexpr int kChildSyncFd = 7;

struct ChildReport {
  char step[40];       // NUL-terminated name of the step that failed
  std::int32_t error;  // errno
};
static_assert(sizeof(ChildReport) == 44);

// The exit status of a child that reported a failure, or whose parent
// abandoned it.
inline constexpr int kChildFailedStatus = 127;

struct LimitSetting {
  int resource;
  rlimit value;
  const char* step;  // "setrlimit: AS", ...
};

inline constexpr std::size_t kLimitCount = 8;

struct ChildPlan {
  int sync_fd = -1;    // the child's end of the socket pair (parent numbering)
  int kernel_fd = -1;  // the sealed, read-only kernel image
  // channel, memory, shared_info, upcall: they become fds 3, 4, 5, 6.
  std::array<int, 4> abi_fds{};
  bool drop_supplementary_groups = false;  // the launcher is root
  const char* hostname = nullptr;
  std::size_t hostname_length = 0;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  std::array<LimitSetting, kLimitCount> limits{};
  sock_fprog filter{};
  bool start_stopped = false;
};

// Runs the child's steps and executes the kernel; never returns.
[[noreturn]] void run_child(const ChildPlan& plan) noexcept;

}  // namespace shype::sandbox::detail
