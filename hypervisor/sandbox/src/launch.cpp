#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.hpp"
#include "kernel_image_file.hpp"
#include "sandbox/cgroup.hpp"
#include "sandbox/limits.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/seccomp_policy.hpp"
#include "shype/abi.hpp"
#include "shype/domctl.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// Bound on the whole conversation with the child (it only makes a few
// dozen system calls) and on reaping a killed child.
constexpr auto kLaunchTimeout = std::chrono::seconds(10);
constexpr auto kReapTimeout = std::chrono::seconds(5);

// The host uid/gid of a guest when the launcher is root ("nobody").
constexpr unsigned kUnprivilegedId = 65534;

constexpr std::uint64_t kCloneFlags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS |
                                      CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

// struct clone_args, version 0 (linux/sched.h, which clashes with <sched.h>).
struct CloneArgs {
  std::uint64_t flags;
  std::uint64_t pidfd;
  std::uint64_t child_tid;
  std::uint64_t parent_tid;
  std::uint64_t exit_signal;
  std::uint64_t stack;
  std::uint64_t stack_size;
  std::uint64_t tls;
};
static_assert(sizeof(CloneArgs) == 64);

acm::Error os_error(const std::string& step, int err) {
  return acm::Error{acm::Errc::io_error, step + ": " + errno_text(err), {}};
}
acm::Error invalid(std::string message) {
  return acm::Error{acm::Errc::invalid_argument, std::move(message), {}};
}

std::string describe_status(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return "exited with status " + std::to_string(info.si_status);
  const char* abbrev = sigabbrev_np(info.si_status);
  return "killed by signal " + std::to_string(info.si_status) +
         (abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : std::string());
}

// Kills and reaps the child; bounded.
void kill_and_reap(int pidfd) {
  (void)::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  pollfd pfd{pidfd, POLLIN, 0};
  const auto deadline = Clock::now() + kReapTimeout;
  while (Clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
    if (n > 0 || (n < 0 && errno != EINTR)) break;
  }
  siginfo_t info{};
  (void)::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                 WEXITED | WNOHANG);
}

// The child's exit status if it has exited (not reaped), else nullopt.
std::optional<siginfo_t> exited(int pidfd) {
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
               WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0) {
    return std::nullopt;
  }
  return info;
}

acm::Status check_descriptor(int fd, const char* what) {
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
    return tl::unexpected(invalid(std::string(what) + ": not an open descriptor"));
  return {};
}

acm::Status check_spec(const SandboxSpec& spec) {
  if (!is_valid_domain_name(spec.name)) {
    return tl::unexpected(
        invalid("name '" + spec.name +
                "': not 1..63 bytes of [A-Za-z0-9_.-] starting with a letter, digit or '_'"));
  }
  if (spec.cmdline.size() >= abi::kCmdlineSize || spec.cmdline.find('\0') != std::string::npos) {
    return tl::unexpected(invalid("cmdline: longer than " + std::to_string(abi::kCmdlineSize - 1) +
                                  " bytes or contains NUL"));
  }
  if (spec.memory_bytes == 0 || spec.memory_bytes % abi::kPageSize != 0 ||
      spec.memory_bytes > kMaxGuestMemoryBytes) {
    return tl::unexpected(invalid("memory_bytes: " + std::to_string(spec.memory_bytes) +
                                  " is not a positive multiple of the page size up to " +
                                  std::to_string(kMaxGuestMemoryBytes)));
  }
  if (auto ok = check_descriptor(spec.channel_fd, "channel_fd"); !ok) return ok;
  if (auto ok = check_descriptor(spec.memory_fd, "memory_fd"); !ok) return ok;
  if (auto ok = check_descriptor(spec.shared_info_fd, "shared_info_fd"); !ok) return ok;
  if (auto ok = check_descriptor(spec.upcall_fd, "upcall_fd"); !ok) return ok;
  int type = 0;
  socklen_t type_length = sizeof type;
  if (::getsockopt(spec.channel_fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 ||
      type != SOCK_SEQPACKET) {
    return tl::unexpected(invalid("channel_fd: not a SOCK_SEQPACKET socket"));
  }
  struct stat st {};
  if (::fstat(spec.memory_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) < spec.memory_bytes) {
    return tl::unexpected(invalid("memory_fd: not a file of at least memory_bytes"));
  }
  if (::fstat(spec.shared_info_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) < abi::kPageSize) {
    return tl::unexpected(invalid("shared_info_fd: not a file of at least one page"));
  }
  if (spec.cgroup_parent && !is_valid_cgroup_parent(*spec.cgroup_parent)) {
    return tl::unexpected(invalid("cgroup_parent '" + *spec.cgroup_parent +
                                  "': not a relative path of [A-Za-z0-9_.-] components"));
  }
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 ||
      nofile.rlim_max < static_cast<rlim_t>(kKernelExecFd) + 16) {
    return acm::make_error(acm::Errc::unsupported,
                           "RLIMIT_NOFILE: the hard limit must exceed " +
                               std::to_string(kKernelExecFd + 16) +
                               " (the child parks the kernel image at descriptor " +
                               std::to_string(kKernelExecFd) + ")");
  }
  return {};
}

// clone3 with a pidfd; clone + pidfd_open where clone3 is missing.
// Returns the child's pid (0 in the child).
pid_t clone_child(int& pidfd) {
  CloneArgs args{};
  args.flags = kCloneFlags | CLONE_PIDFD;
  // SAFETY: the kernel stores the new pidfd through this address; pidfd
  // outlives the call.
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0 || errno != ENOSYS) return static_cast<pid_t>(pid);
  pid = ::syscall(SYS_clone, kCloneFlags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid <= 0) return static_cast<pid_t>(pid);
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd < 0) {
    const int err = errno;
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    errno = err;
    return -1;
  }
  return static_cast<pid_t>(pid);
}

acm::Status write_id_maps(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const bool root = ::geteuid() == 0;
  const unsigned uid = root ? kUnprivilegedId : ::geteuid();
  const unsigned gid = root ? kUnprivilegedId : ::getegid();
  // An unprivileged launcher may only map its own gid after denying
  // setgroups. A root launcher keeps it allowed so that the child can drop
  // the launcher's supplementary groups (seccomp refuses setgroups later).
  if (!root) {
    if (int err = write_file(proc + "/setgroups", "deny"); err != 0)
      return tl::unexpected(os_error("setgroups", err));
  }
  if (int err = write_file(proc + "/uid_map", "0 " + std::to_string(uid) + " 1\n"); err != 0) {
    return tl::unexpected(os_error("uid_map", err));
  }
  if (int err = write_file(proc + "/gid_map", "0 " + std::to_string(gid) + " 1\n"); err != 0) {
    return tl::unexpected(os_error("gid_map", err));
  }
  return {};
}

// Receives one message from the child before the deadline: its length
// (0: end of file), or an error.
acm::Result<std::size_t> receive(int fd, void* buffer, std::size_t capacity,
                                 Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return acm::make_error(
          acm::Errc::io_error,
          "sandbox child: no answer within " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::seconds>(kLaunchTimeout).count()) +
              " s");
    pollfd pfd{fd, POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(os_error("poll", errno));
    if (n == 0) continue;
    const ssize_t got = ::recv(fd, buffer, capacity, MSG_DONTWAIT);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return tl::unexpected(os_error("recv from the sandbox child", errno));
    return static_cast<std::size_t>(got);
  }
}

acm::Error child_error(const detail::ChildReport& report) {
  detail::ChildReport copy = report;
  copy.step[sizeof copy.step - 1] = '\0';
  return acm::Error{
      acm::Errc::io_error, std::string(copy.step) + ": " + errno_text(copy.error), {}};
}

// Waits until the child is in the stopped state.
acm::Status await_stopped(int pidfd, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                 WSTOPPED | WEXITED | WNOHANG | WNOWAIT) != 0) {
      return tl::unexpected(os_error("waitid", errno));
    }
    if (info.si_pid != 0) {
      if (info.si_code == CLD_STOPPED) return {};
      if (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
        return acm::make_error(acm::Errc::io_error,
                               "sandbox child " + describe_status(info) + " before it stopped");
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return acm::make_error(acm::Errc::io_error, "sandbox child: did not stop");
}

// The parent's half of the conversation in child.hpp.
acm::Status run_parent(const SandboxSpec& spec, pid_t pid, int pidfd, int sync_fd,
                       const std::vector<std::string>& cgroup_dirs) {
  const auto deadline = Clock::now() + kLaunchTimeout;
  if (auto ok = write_id_maps(pid); !ok) return ok;
  if (auto ok = join_cgroup(cgroup_dirs, pid); !ok) return ok;
  const auto send_go = [sync_fd]() -> acm::Status {
    if (::send(sync_fd, &detail::kGo, 1, MSG_NOSIGNAL) != 1)
      return tl::unexpected(os_error("send to the sandbox child", errno));
    return {};
  };
  if (auto ok = send_go(); !ok) return ok;

  detail::ChildReport report{};
  const auto died = [pidfd](const char* when) -> acm::Error {
    const auto status = exited(pidfd);
    return acm::Error{acm::Errc::io_error,
                      std::string("sandbox child ") +
                          (status ? describe_status(*status) : "closed its socket") + " " + when,
                      {}};
  };
  auto got = receive(sync_fd, &report, sizeof report, deadline);
  if (!got) return tl::unexpected(got.error());
  if (*got == sizeof report) return tl::unexpected(child_error(report));
  if (*got == 0) return tl::unexpected(died("before executing the kernel"));
  char marker = 0;
  std::memcpy(&marker, &report, 1);
  if (*got != 1 || marker != (spec.start_stopped ? detail::kReadyToStop : detail::kExecuting)) {
    return acm::make_error(acm::Errc::io_error, "sandbox child: unexpected message");
  }
  if (spec.start_stopped) {
    if (::syscall(SYS_pidfd_send_signal, pidfd, SIGSTOP, nullptr, 0) != 0)
      return tl::unexpected(os_error("pidfd_send_signal SIGSTOP", errno));
    if (auto ok = await_stopped(pidfd, deadline); !ok) return ok;
    return send_go();  // read by the child once it is continued
  }
  got = receive(sync_fd, &report, sizeof report, deadline);
  if (!got) return tl::unexpected(got.error());
  if (*got == sizeof report) return tl::unexpected(child_error(report));
  if (*got != 0) return acm::make_error(acm::Errc::io_error, "sandbox child: unexpected message");
  return {};  // end of file: the exec closed the child's end
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    if (!out.empty()) out.push_back('\n');
    out += line;
  }
  return out;
}

}  // namespace

bool is_valid_domain_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63 || name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

acm::Result<SandboxedProcess> launch(const SandboxSpec& spec) {
  if (auto ok = check_spec(spec); !ok) return tl::unexpected(ok.error());
  const auto& filter = guest_filter();
  if (!filter) return tl::unexpected(filter.error());
  auto image = prepare_kernel_image(spec.kernel_fd);
  if (!image) return tl::unexpected(image.error());

  std::vector<std::string> cgroup_dirs;
  if (spec.cgroup_parent) {
    // Where the host has no cgroup this process may use, the domain runs
    // without one (SandboxedProcess::cgroup stays ""; probe_host says why).
    const CgroupLayout layout = host_cgroup_layout();
    if (is_usable(layout)) {
      auto dirs = create_domain_cgroup(layout, *spec.cgroup_parent, spec.name, spec.memory_bytes);
      if (!dirs) return tl::unexpected(dirs.error());
      cgroup_dirs = std::move(*dirs);
    }
  }
  struct CgroupGuard {
    std::vector<std::string>* dirs;
    bool keep = false;
    ~CgroupGuard() {
      if (!keep) remove_cgroup_dirs(*dirs);
    }
  } cgroup_guard{&cgroup_dirs};

  int pair[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return tl::unexpected(os_error("socketpair", errno));
  UniqueFd parent_end(pair[0]);
  UniqueFd child_end(pair[1]);

  // Everything the child needs, prepared before the clone.
  char* const argv[] = {const_cast<char*>(spec.name.c_str()),
                        const_cast<char*>(spec.cmdline.c_str()), nullptr};
  char* const envp[] = {nullptr};
  detail::ChildPlan plan;
  plan.sync_fd = child_end.get();
  plan.kernel_fd = image->get();
  plan.abi_fds = {spec.channel_fd, spec.memory_fd, spec.shared_info_fd, spec.upcall_fd};
  plan.drop_supplementary_groups = ::geteuid() == 0;
  plan.hostname = spec.name.c_str();
  plan.hostname_length = spec.name.size();
  plan.argv = argv;
  plan.envp = envp;
  const auto both = [](std::uint64_t value) {
    return rlimit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  };
  // RLIMIT_NPROC counts processes per (user namespace, uid); it binds
  // because the child has become uid 65534 (not host root, which it
  // ignores) and holds no capability in the initial user namespace.
  plan.limits = {{
      {RLIMIT_AS, both(address_space_limit(spec.memory_bytes)), "setrlimit: AS"},
      {RLIMIT_NOFILE, both(kGuestOpenFiles), "setrlimit: NOFILE"},
      {RLIMIT_STACK, both(kGuestStackBytes), "setrlimit: STACK"},
      {RLIMIT_NPROC, both(0), "setrlimit: NPROC"},
      {RLIMIT_CORE, both(0), "setrlimit: CORE"},
      {RLIMIT_FSIZE, both(0), "setrlimit: FSIZE"},
      {RLIMIT_MEMLOCK, both(0), "setrlimit: MEMLOCK"},
      {RLIMIT_MSGQUEUE, both(0), "setrlimit: MSGQUEUE"},
  }};
  plan.filter = filter->fprog();
  plan.start_stopped = spec.start_stopped;

  int pidfd = -1;
  const pid_t pid = clone_child(pidfd);
  if (pid == 0) detail::run_child(plan);  // never returns
  if (pid < 0) return tl::unexpected(os_error("clone", errno));
  child_end.reset();
  image->reset();

  if (auto ok = run_parent(spec, pid, pidfd, parent_end.get(), cgroup_dirs); !ok) {
    kill_and_reap(pidfd);
    ::close(pidfd);
    return tl::unexpected(ok.error());
  }
  cgroup_guard.keep = true;
  return SandboxedProcess{pid, pidfd, join_lines(cgroup_dirs)};
}

void release_cgroup(const std::string& cgroup) {
  if (cgroup.empty()) return;
  std::vector<std::string> dirs;
  std::size_t start = 0;
  while (start <= cgroup.size()) {
    std::size_t end = cgroup.find('\n', start);
    if (end == std::string::npos) end = cgroup.size();
    if (end > start) dirs.emplace_back(cgroup.substr(start, end - start));
    start = end + 1;
  }
  remove_cgroup_dirs(dirs);
}

}  // namespace shype::sandbox
