#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <system_error>
#include <thread>
#include <utility>

#include "acm/file_io.hpp"

namespace shype::daemon {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return std::generic_category().message(err); }

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_send_signal(int pidfd, int signal) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

flock whole_file_write_lock() {
  flock lock{};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return lock;
}

int milliseconds_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 1, 60'000));
}

// Waits for the process behind `pidfd` to exit.
bool wait_exit(int pidfd, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd p{pidfd, POLLIN, 0};
    const int ready = ::poll(&p, 1, milliseconds_left(deadline));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
  return false;
}

}  // namespace

void say(const Identity& id, const std::string& text) {
  std::fprintf(stderr, "%s: %s\n", id.name.c_str(), text.c_str());
}

int fail_start(const Identity& id, ReadyReport& report, const std::string& why) {
  report.failed(why);
  if (report.foreground()) say(id, why);
  return 1;
}

void announce_running(const Identity& id, ReadyReport& report) {
  report.ready();
  if (report.foreground()) say(id, "running (pid " + std::to_string(::getpid()) + ")");
}

int stop_signal_fd(bool children) {
  sigset_t signals;
  ::sigemptyset(&signals);
  ::sigaddset(&signals, SIGTERM);
  ::sigaddset(&signals, SIGINT);
  if (children) ::sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

void remove_run_files(const Identity& id) {
  ::unlink(id.socket.c_str());
  ::unlink(id.pid.c_str());
}

acm::Result<InstanceLock> InstanceLock::acquire(const Identity& id) {
  std::error_code ec;
  fs::create_directories(id.lock.parent_path(), ec);
  const int fd = ::open(id.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot open '" + id.lock.string() + "': " + errno_text(errno));
  }
  flock lock = whole_file_write_lock();
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    ::close(fd);
    const auto pid = read_pid(id);
    return acm::make_error(acm::Errc::invalid_argument,
                           "already running" + (pid ? " (pid " + std::to_string(*pid) + ")"
                                                    : std::string()));
  }
  return InstanceLock(fd);
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
InstanceLock& InstanceLock::operator=(InstanceLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}
InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool lock_held(const Identity& id) {
  Fd fd(::open(id.lock.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) return false;
  flock lock = whole_file_write_lock();
  if (::fcntl(fd.fd, F_OFD_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

std::optional<pid_t> read_pid(const Identity& id) {
  auto text = acm::read_text_file(id.pid);
  if (!text) return std::nullopt;
  pid_t pid = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  while (end > begin && (end[-1] == '\n' || end[-1] == ' ')) --end;
  const auto [stop, ec] = std::from_chars(begin, end, pid);
  if (ec != std::errc() || stop != end || pid <= 0) return std::nullopt;
  return pid;
}

acm::Status write_pid(const Identity& id) {
  return acm::write_file_atomic(id.pid, std::to_string(::getpid()) + "\n", 0644);
}

ReadyReport::~ReadyReport() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadyReport::ready() {
  if (fd_ < 0) return;
  (void)!::write(fd_, "ready\n", 6);
  ::close(std::exchange(fd_, -1));
}

void ReadyReport::failed(const std::string& why) {
  if (fd_ < 0) return;
  const std::string line = "error: " + why + "\n";
  (void)!::write(fd_, line.data(), line.size());
  ::close(std::exchange(fd_, -1));
}

int start(const Identity& id, const StartOptions& options,
          const std::function<int(ReadyReport&)>& serve) {
  if (options.foreground) {
    ReadyReport report(-1);
    return serve(report);
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    say(id, "pipe: " + errno_text(errno));
    return 1;
  }
  Fd ready_read(pipe_fds[0]);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[1]);
    say(id, "fork: " + errno_text(errno));
    return 1;
  }
  if (child == 0) {
    ::close(ready_read.fd);
    ready_read.fd = -1;
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
    int status = 1;
    {
      ReadyReport report(pipe_fds[1]);
      status = serve(report);
    }
    std::fflush(nullptr);
    ::_exit(status);
  }
  ::close(pipe_fds[1]);
  std::string report;
  const auto deadline = Clock::now() + options.wait;
  while (Clock::now() < deadline && report.find('\n') == std::string::npos) {
    pollfd p{ready_read.fd, POLLIN, 0};
    if (::poll(&p, 1, milliseconds_left(deadline)) <= 0) continue;
    char buffer[512];
    const ssize_t got = ::read(ready_read.fd, buffer, sizeof buffer);
    if (got <= 0) break;
    report.append(buffer, static_cast<std::size_t>(got));
  }
  if (report.rfind("ready", 0) != 0) {
    if (report.empty()) {
      say(id, "did not report ready within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options.wait)
                                     .count()) +
                  " s");
      ::kill(child, SIGKILL);
    } else {
      say(id, report.substr(0, report.find('\n')));
    }
    return 1;
  }
  while (Clock::now() < deadline) {
    if (!options.answers || options.answers()) {
      say(id, "started (pid " + std::to_string(child) + ")");
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  say(id, "pid " + std::to_string(child) + " does not answer");
  return 1;
}

int stop(const Identity& id, std::chrono::milliseconds wait) {
  if (!lock_held(id)) {
    ::unlink(id.pid.c_str());
    say(id, "not running");
    return 0;
  }
  const auto pid = read_pid(id);
  if (!pid) {
    say(id, "running but " + id.pid.string() + " holds no pid");
    return 1;
  }
  Fd pidfd(pidfd_open(*pid));
  if (pidfd.fd < 0) {
    say(id, "pid " + std::to_string(*pid) + ": " + errno_text(errno));
    return 1;
  }
  if (pidfd_send_signal(pidfd.fd, SIGTERM) != 0) {
    say(id, "SIGTERM to pid " + std::to_string(*pid) + ": " + errno_text(errno));
    return 1;
  }
  if (!wait_exit(pidfd.fd, wait)) {
    say(id, "pid " + std::to_string(*pid) + " did not stop in time; killing it");
    (void)pidfd_send_signal(pidfd.fd, SIGKILL);
    if (!wait_exit(pidfd.fd, std::chrono::seconds(5))) {
      say(id, "pid " + std::to_string(*pid) + " survived SIGKILL");
      return 1;
    }
    if (!id.socket.empty()) ::unlink(id.socket.c_str());
    ::unlink(id.pid.c_str());
  }
  say(id, "stopped (pid " + std::to_string(*pid) + ")");
  return 0;
}

int status(const Identity& id, const std::function<acm::Result<std::string>()>& probe) {
  if (!lock_held(id)) {
    say(id, "not running");
    return 3;
  }
  const auto pid = read_pid(id);
  if (!pid || ::kill(*pid, 0) != 0) {
    say(id, "starting or stopping (no live pid yet)");
    return 3;
  }
  auto answer = probe ? probe() : acm::Result<std::string>(std::string());
  if (!answer) {
    say(id, "pid " + std::to_string(*pid) + " runs but " + answer.error().to_string());
    return 3;
  }
  say(id, "running (pid " + std::to_string(*pid) + ")" + (answer->empty() ? "" : ", " + *answer));
  return 0;
}

std::optional<int> run_command(std::string_view command, const Identity& id,
                               const StartOptions& options,
                               const std::function<int(ReadyReport&)>& serve,
                               const std::function<acm::Result<std::string>()>& probe) {
  if (command == "start") {
    if (lock_held(id)) {
      say(id, "already running");
      return 0;
    }
    return start(id, options, serve);
  }
  if (command == "stop") return stop(id);
  if (command == "restart") {
    if (stop(id) != 0) return 1;
    return start(id, options, serve);
  }
  if (command == "status") return status(id, probe);
  return std::nullopt;
}

}  // namespace shype::daemon
