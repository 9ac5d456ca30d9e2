#include "child.hpp"

#include <cerrno>
#include <climits>

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/limits.hpp"
#include "shype/abi.hpp"

namespace shype::sandbox::detail {
namespace {

// An existing directory of the host's tree that the new root (a tmpfs) is
// mounted on before pivot_root; only the child's mount namespace sees it.
constexpr const char* kRootMountPoint = "/tmp";
constexpr const char* kRootOptions = "mode=0555,size=4k,nr_inodes=4";
constexpr unsigned long kRootFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// The kernel's struct sigaction for rt_sigaction (glibc's differs).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

[[noreturn]] void fail(int report_fd, const char* step, int error) noexcept {
  ChildReport report{};
  std::size_t i = 0;
  for (; step[i] != '\0' && i + 1 < sizeof report.step; ++i)
    report.step[i] = step[i];
  report.step[i] = '\0';
  report.error = error;
  // Nothing more can be done if the parent is gone.
  (void)::write(report_fd, &report, sizeof report);
  ::_exit(kChildFailedStatus);
}

bool send_marker(int fd, char marker) noexcept {
  for (;;) {
    const ssize_t put = ::write(fd, &marker, 1);
    if (put == 1) return true;
    if (put < 0 && errno == EINTR) continue;
    return false;
  }
}

// Waits for the parent's 'G'; anything else (it gave up) ends the child.
void await_go(int fd) noexcept {
  char byte = 0;
  for (;;) {
    const ssize_t got = ::read(fd, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got == 1 && byte == kGo) return;
    ::_exit(kChildFailedStatus);
  }
}

// In-namespace root (mapped by the parent). Raw system calls: glibc's
// set*id wrappers would try to synchronise threads this copy does not have.
void become_namespace_root(const ChildPlan& plan, int report_fd) noexcept {
  if (plan.drop_supplementary_groups && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
    fail(report_fd, "setgroups", errno);
  }
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0) fail(report_fd, "setresgid", errno);
  if (::syscall(SYS_setresuid, 0, 0, 0) != 0) fail(report_fd, "setresuid", errno);
}

// Signal dispositions the launcher ignored would survive the exec; a
// blocked mask would too.
void reset_signals(int report_fd) noexcept {
  KernelSigaction action{};
  action.handler = SIG_DFL;
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)::syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof action.mask);
  }
  const unsigned long empty = 0;
  if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof empty) != 0) {
    fail(report_fd, "rt_sigprocmask", errno);
  }
}

void make_empty_root(int report_fd) noexcept {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    fail(report_fd, "mount: make / private", errno);
  }
  if (::mount("shype-root", kRootMountPoint, "tmpfs", kRootFlags, kRootOptions) != 0) {
    fail(report_fd, "mount: tmpfs root", errno);
  }
  if (::chdir(kRootMountPoint) != 0) fail(report_fd, "chdir: new root", errno);
  // pivot_root(".", ".") stacks the old root on top of the new one ...
  if (::syscall(SYS_pivot_root, ".", ".") != 0) fail(report_fd, "pivot_root", errno);
  // ... from where it is detached.
  if (::umount2(".", MNT_DETACH) != 0) fail(report_fd, "umount2: old root", errno);
  if (::chdir("/") != 0) fail(report_fd, "chdir: /", errno);
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kRootFlags, nullptr) != 0) {
    fail(report_fd, "mount: remount root read-only", errno);
  }
}

// Leaves exactly the ABI descriptors at 3..6, the sync socket at
// kChildSyncFd and the kernel at kKernelExecFd (both close-on-exec).
// Returns the sync socket's new number.
int arrange_descriptors(const ChildPlan& plan, int report_fd) noexcept {
  // Room above kKernelExecFd for the temporaries.
  rlimit nofile{};
  if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &nofile) != 0) {
    fail(report_fd, "getrlimit: NOFILE", errno);
  }
  nofile.rlim_cur = nofile.rlim_max;
  if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nofile, nullptr) != 0) {
    fail(report_fd, "setrlimit: NOFILE (raise)", errno);
  }

  constexpr std::size_t kCount = 6;
  const int sources[kCount] = {plan.abi_fds[0], plan.abi_fds[1], plan.abi_fds[2],
                               plan.abi_fds[3], plan.sync_fd,    plan.kernel_fd};
  const int targets[kCount] = {abi::kChannelFd, abi::kMemoryFd, abi::kSharedInfoFd,
                               abi::kUpcallFd,  kChildSyncFd,   kKernelExecFd};
  const bool close_on_exec[kCount] = {false, false, false, false, true, true};
  // First copy every source above all targets, so no source is overwritten
  // before it is copied, whatever numbers the parent used.
  int temporaries[kCount] = {};
  for (std::size_t i = 0; i < kCount; ++i) {
    temporaries[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, kKernelExecFd + 1);
    if (temporaries[i] < 0) fail(report_fd, "fcntl: F_DUPFD", errno);
  }
  // The copy of the sync socket survives the loop below whatever it overwrites.
  report_fd = temporaries[4];
  for (std::size_t i = 0; i < kCount; ++i) {
    if (::dup3(temporaries[i], targets[i], close_on_exec[i] ? O_CLOEXEC : 0) < 0) {
      fail(report_fd, "dup3", errno);
    }
  }
  report_fd = kChildSyncFd;
  // Everything else goes, stdin/stdout/stderr included.
  const auto close_range = [report_fd](unsigned first, unsigned last) {
    if (::syscall(SYS_close_range, first, last, 0) == 0) return;
    if (errno != ENOSYS) fail(report_fd, "close_range", errno);
    for (unsigned fd = first; fd <= last && fd < 65536; ++fd)
      (void)::close(static_cast<int>(fd));
  };
  close_range(0, 2);
  close_range(static_cast<unsigned>(kChildSyncFd) + 1, static_cast<unsigned>(kKernelExecFd) - 1);
  close_range(static_cast<unsigned>(kKernelExecFd) + 1, UINT_MAX);
  return report_fd;
}

// The child is root in its user namespace, and an exec as root would give
// the kernel every capability there. Its namespaces hold nothing, but it
// needs none of them either: empty the bounding and ambient sets, lock
// "root gets no capabilities at exec", and drop what it holds now.
void drop_capabilities(int report_fd) noexcept {
  constexpr unsigned long kSecureBits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                                        SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                                        SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                                        SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, kSecureBits, 0, 0, 0) != 0)
    fail(report_fd, "prctl: securebits", errno);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    fail(report_fd, "prctl: clear ambient capabilities", errno);
  }
  // Capabilities beyond the running kernel's last one are EINVAL.
  for (unsigned long cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;
      fail(report_fd, "prctl: drop bounding capability", errno);
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, data) != 0) fail(report_fd, "capset", errno);
}

}  // namespace

void run_child(const ChildPlan& plan) noexcept {
  int report_fd = plan.sync_fd;
  await_go(report_fd);
  become_namespace_root(plan, report_fd);
  reset_signals(report_fd);
  make_empty_root(report_fd);
  if (::sethostname(plan.hostname, plan.hostname_length) != 0)
    fail(report_fd, "sethostname", errno);
  report_fd = arrange_descriptors(plan, report_fd);
  for (const LimitSetting& limit : plan.limits) {
    if (::syscall(SYS_prlimit64, 0, limit.resource, &limit.value, nullptr) != 0) {
      fail(report_fd, limit.step, errno);
    }
  }
  drop_capabilities(report_fd);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(report_fd, "prctl: NO_NEW_PRIVS", errno);
  // From here on only the allow-list's read, write, execveat and exit_group.
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &plan.filter) != 0) {
    fail(report_fd, "seccomp", errno);
  }
  if (plan.start_stopped) {
    if (!send_marker(report_fd, kReadyToStop)) ::_exit(kChildFailedStatus);
    await_go(report_fd);  // the parent stops us before it sends 'G'
  } else if (!send_marker(report_fd, kExecuting)) {
    ::_exit(kChildFailedStatus);
  }
  ::syscall(SYS_execveat, kKernelExecFd, "", plan.argv, plan.envp, AT_EMPTY_PATH);
  fail(report_fd, "execveat", errno);
}

}  // namespace shype::sandbox::detail
