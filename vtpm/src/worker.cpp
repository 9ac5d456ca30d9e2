#include "vtpm/worker.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unix_io.hpp"
#include "vtpm/swtpm_ctrl.hpp"

namespace shype::vtpm {

using acm::Errc;
using acm::make_error;
namespace fs = std::filesystem;

uid_t worker_uid(std::uint32_t instance, bool drop_privileges) noexcept {
  return drop_privileges ? static_cast<uid_t>(kWorkerUidBase + instance) : ::geteuid();
}

fs::path find_swtpm() {
  if (const char* env = std::getenv("SHYPE_SWTPM"); env != nullptr && *env != '\0') return env;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty()) continue;
      const fs::path candidate = fs::path(dir) / "swtpm";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "/usr/bin/swtpm";
}

namespace {

std::string log_tail(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// After fork, in the child: only async-signal-safe calls, then exec. Exits
// with 127 on any failure (the parent reports it).
[[noreturn]] void become_worker(const WorkerSpec& spec, int state_fd, int run_fd, int null_fd,
                                pid_t manager, const std::vector<char*>& argv) {
  char* empty_env[] = {nullptr};
  if (::setsid() < 0) ::_exit(127);
  // Move the three descriptors above the ones they become first, so that no
  // dup2 below overwrites one that is still needed (any of them may be 0..4).
  const int high_state = ::fcntl(state_fd, F_DUPFD, 10);
  const int high_run = ::fcntl(run_fd, F_DUPFD, 10);
  const int high_null = ::fcntl(null_fd, F_DUPFD, 10);
  if (high_state < 0 || high_run < 0 || high_null < 0) ::_exit(127);
  if (::dup2(high_null, 0) < 0 || ::dup2(high_null, 1) < 0 || ::dup2(high_null, 2) < 0)
    ::_exit(127);
  if (::dup2(high_state, 3) < 0 || ::dup2(high_run, 4) < 0) ::_exit(127);
  // Everything else the manager holds (its RPC socket, clients, other
  // instances' descriptors) is closed.
  if (::syscall(SYS_close_range, 5U, ~0U, 0U) != 0) {
    for (int fd = 5; fd < 4096; ++fd)
      ::close(fd);
  }
  if (spec.drop_privileges) {
    const auto id = static_cast<uid_t>(kWorkerUidBase + spec.instance);
    if (::setgroups(0, nullptr) != 0) ::_exit(127);
    if (::setresgid(id, id, id) != 0) ::_exit(127);
    if (::setresuid(id, id, id) != 0) ::_exit(127);
  }
  // Set after the uid change, which clears it.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ::_exit(127);
  if (::getppid() != manager) ::_exit(127);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(127);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  const rlimit files{64, 64};
  ::setrlimit(RLIMIT_NOFILE, &files);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(spec.swtpm.c_str(), argv.data(), empty_env);
  ::_exit(127);
}

}  // namespace

bool reap_worker(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = detail::Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (detail::Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return false;
}

acm::Result<pid_t> launch_worker(const WorkerSpec& spec, std::chrono::milliseconds timeout) {
  const std::string what = "vTPM instance " + std::to_string(spec.instance);
  const int state_fd = ::open(spec.state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int run_fd = ::open(spec.run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const auto close_all = [&] {
    if (state_fd >= 0) ::close(state_fd);
    if (run_fd >= 0) ::close(run_fd);
    if (null_fd >= 0) ::close(null_fd);
  };
  if (state_fd < 0 || run_fd < 0 || null_fd < 0) {
    const int saved = errno;
    close_all();
    return make_error(Errc::io_error,
                      what + ": cannot open its directories: " + std::strerror(saved));
  }
  // The worker reaches its files only through descriptors 3 (state) and 4
  // (sockets and log): /proc/self/fd/N resolves without searching the
  // directories above them, which the worker's uid may not enter.
  std::vector<std::string> args = {
      spec.swtpm.string(),
      "socket",
      "--tpm2",
      "--tpmstate",
      "dir=/proc/self/fd/3",
      "--server",
      "type=unixio,path=/proc/self/fd/4/tpm.sock,mode=0600",
      "--ctrl",
      "type=unixio,path=/proc/self/fd/4/tpm.sock.ctrl,mode=0600",
      "--flags",
      "not-need-init",
      "--seccomp",
      "action=kill",
      "--log",
      "file=/proc/self/fd/4/swtpm.log,level=1",
  };
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t manager = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int saved = errno;
    close_all();
    return make_error(Errc::io_error, what + ": fork failed: " + std::strerror(saved));
  }
  if (pid == 0) become_worker(spec, state_fd, run_fd, null_fd, manager, argv);
  close_all();

  const auto deadline = detail::Clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::string why = WIFEXITED(status)
                            ? "exited with status " + std::to_string(WEXITSTATUS(status))
                            : "was killed by signal " + std::to_string(WTERMSIG(status));
      const std::string tail = log_tail(spec.run_dir / "swtpm.log");
      return make_error(Errc::io_error,
                        what + ": the worker (swtpm) " + why + (tail.empty() ? "" : ": " + tail));
    }
    if (::access(spec.ctrl_socket.c_str(), F_OK) == 0 &&
        swtpm_control(spec.ctrl_socket, SwtpmCommand::get_capability,
                      std::chrono::milliseconds(500))) {
      return pid;
    }
    if (detail::Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  reap_worker(pid, std::chrono::milliseconds(0));
  return make_error(Errc::io_error, what + ": the worker did not answer on " +
                                        spec.ctrl_socket.string() + " within " +
                                        std::to_string(timeout.count()) + " ms");
}

}  // namespace shype::vtpm
