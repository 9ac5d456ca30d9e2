#include "daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include "hv/pidfd.hpp"
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "acm/file_io.hpp"
#include "hv/boot.hpp"
#include "hv/boot_config.hpp"
#include "hv/cpu_placement.hpp"
#include "hv/hypervisor.hpp"
#include "hv/log.hpp"
#include "hv/unique_fd.hpp"
#include "hv/errno_text.hpp"
#include "xenctrl/connection.hpp"
#include "xsm/audit.hpp"
#include "xsm/xsm.hpp"

namespace shype::hv {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Bounded waits of the commands.
constexpr auto kStartWait = std::chrono::seconds(15);
constexpr auto kStopWait = std::chrono::seconds(15);
constexpr auto kKillWait = std::chrono::seconds(5);
constexpr auto kStatusWait = std::chrono::milliseconds(2000);

struct Paths {
  fs::path root;
  fs::path run_dir;
  fs::path log_dir;
  fs::path lock;
  fs::path pid;
  fs::path socket;
  fs::path log;
  fs::path audit;
  fs::path boot_conf;

  explicit Paths(const fs::path& r)
      : root(r),
        run_dir(r / "run/shype"),
        log_dir(r / "var/log/xen"),
        lock(run_dir / "shype-hv.lock"),
        pid(run_dir / "shype-hv.pid"),
        socket(privcmd_socket_path(r)),
        log(log_dir / "shype-hv.log"),
        audit(log_dir / "audit.log"),
        boot_conf(r / "etc/shype/boot.conf") {}
};

void say(const std::string& text) {
  std::fprintf(stderr, "shype-hv: %s\n", text.c_str());
}

// The instance lock: an open-file-description lock, so it is inherited by
// the daemon across fork and released only when the daemon exits.
bool try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

bool lock_held(const Paths& paths) {
  UniqueFd fd(::open(paths.lock.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

std::optional<pid_t> read_pid(const Paths& paths) {
  auto text = acm::read_text_file(paths.pid);
  if (!text) return std::nullopt;
  pid_t pid = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  while (end > begin && (end[-1] == '\n' || end[-1] == ' ')) --end;
  const auto [stop, ec] = std::from_chars(begin, end, pid);
  if (ec != std::errc() || stop != end || pid <= 0) return std::nullopt;
  return pid;
}

acm::Status make_directories(const Paths& paths) {
  for (const fs::path& dir : {paths.run_dir, paths.log_dir, console_log_dir(paths.root),
                              paths.root / "etc/shype"}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return acm::make_error(acm::Errc::io_error,
                             "cannot create '" + dir.string() + "': " + ec.message());
    }
  }
  return {};
}

bool answers(const Paths& paths, std::chrono::milliseconds timeout) {
  auto connection = xc::Connection::open(paths.root, timeout);
  return connection && connection->version().has_value();
}

// Each domain holds a handful of descriptors (memory, shared_info, upcall,
// channel, pidfd, console log): use the whole hard limit.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void block_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Everything that can fail before the hypervisor serves, done in the
// process that prints the errors.
struct Prepared {
  UniqueFd lock;
  std::unique_ptr<xsm::AuditLog> audit;
  std::unique_ptr<xsm::Xsm> xsm;
  UniqueFd listener;
  BootPlan plan;
};

std::optional<Prepared> prepare(const Paths& paths) {
  Prepared prepared;
  if (auto made = make_directories(paths); !made) {
    say(made.error().to_string());
    return std::nullopt;
  }
  prepared.lock.reset(::open(paths.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!prepared.lock) {
    say("cannot open '" + paths.lock.string() + "': " + errno_text(errno));
    return std::nullopt;
  }
  if (!try_lock(prepared.lock.get())) {
    const auto pid = read_pid(paths);
    say("a hypervisor already runs under " + paths.root.string() +
        (pid ? " (pid " + std::to_string(*pid) + ")" : ""));
    return std::nullopt;
  }
  auto config = read_boot_config(paths.boot_conf);
  if (!config) {
    say("boot configuration: " + config.error().to_string());
    return std::nullopt;
  }
  auto plan = plan_boot(*config, paths.root);
  if (!plan) {
    say("boot configuration " + paths.boot_conf.string() + ": " + plan.error().to_string());
    return std::nullopt;
  }
  prepared.plan = std::move(*plan);
  prepared.audit = std::make_unique<xsm::AuditLog>(paths.audit);
  auto xsm = xsm::Xsm::create(prepared.plan.xsm, *prepared.audit);
  if (!xsm) {
    say("XSM (" + prepared.plan.xsm.module + ", policy " + prepared.plan.policy_source +
        "): " + xsm.error().to_string());
    return std::nullopt;
  }
  prepared.xsm = std::move(*xsm);
  auto listener = listen_privileged(paths.socket);
  if (!listener) {
    say(listener.error().to_string());
    return std::nullopt;
  }
  prepared.listener = std::move(*listener);
  return prepared;
}

// Builds the hypervisor, writes the pid file, then calls `ready` (or
// `failed` with the reason) and serves until stopped.
template <typename Ready, typename Failed>
int serve(const Paths& paths, Prepared prepared, bool foreground, Ready&& ready, Failed&& failed) {
  Log log(paths.log, foreground);
  log.info("booting under " + paths.root.string() + ": xsm " + prepared.plan.xsm.module +
           ", policy " + prepared.plan.policy_source);
  HypervisorConfig config;
  config.root = paths.root;
  config.cgroup_parent = prepared.plan.cgroup_parent;
  if (prepared.plan.dom0_cpus) {
    // Domain-0 (this process, and xend after it asks) on its CPUs; guests
    // on the others. With every CPU given to Domain-0 guests go anywhere.
    const auto& dom0 = *prepared.plan.dom0_cpus;
    if (const Errno pinned = set_process_affinity(::getpid(), dom0); pinned != Errno::ok) {
      log.error("dom0_cpus: cannot run on CPUs " + xc::format_cpu_list(dom0) + ": " +
                std::string(errno_name(pinned)));
      failed("dom0_cpus: cannot run on CPUs " + xc::format_cpu_list(dom0));
      return 1;
    }
    config.guest_cpus = other_cpus(dom0, host_cpu_count());
    const std::string guests = config.guest_cpus.empty()
                                   ? std::string("any CPU")
                                   : "CPUs " + xc::format_cpu_list(config.guest_cpus);
    log.info("Domain-0 on CPUs " + xc::format_cpu_list(dom0) + "; guests start on " + guests);
  }
  auto hv = Hypervisor::create(config, std::move(prepared.listener), *prepared.audit,
                               std::move(prepared.xsm), log);
  if (!hv) {
    log.error(hv.error().to_string());
    failed(hv.error().to_string());
    return 1;
  }
  if (auto written = acm::write_file_atomic(paths.pid, std::to_string(::getpid()) + "\n", 0644);
      !written) {
    log.error(written.error().to_string());
    failed(written.error().to_string());
    return 1;
  }
  ready();
  (*hv)->run();
  hv->reset();
  ::unlink(paths.pid.c_str());
  return 0;
}

}  // namespace

int start_command(const fs::path& root, bool foreground) {
  const Paths paths(root);
  block_signals();
  raise_descriptor_limit();
  auto prepared = prepare(paths);
  if (!prepared) return 1;

  if (foreground) {
    return serve(
        paths, std::move(*prepared), true,
        [&] { say("running (pid " + std::to_string(::getpid()) + ") under " + root.string()); },
        [](const std::string&) {});
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    say("pipe: " + errno_text(errno));
    return 1;
  }
  UniqueFd ready_read(pipe_fds[0]);
  UniqueFd ready_write(pipe_fds[1]);
  const pid_t child = ::fork();
  if (child < 0) {
    say("fork: " + errno_text(errno));
    return 1;
  }
  if (child == 0) {
    // The daemon: its own session, no terminal, stdio to /dev/null (the
    // log file is where it speaks).
    ready_read.reset();
    ::setsid();
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null) {
      ::dup2(null.get(), STDIN_FILENO);
      ::dup2(null.get(), STDOUT_FILENO);
      ::dup2(null.get(), STDERR_FILENO);
    }
    const auto report = [&](const std::string& text) {
      const std::string line = text + "\n";
      (void)!::write(ready_write.get(), line.data(), line.size());
      ready_write.reset();
    };
    return serve(
        paths, std::move(*prepared), false, [&] { report("ready"); },
        [&](const std::string& why) { report("error: " + why); });
  }

  // The parent: wait (bounded) for the daemon to report, then for the
  // socket to answer.
  ready_write.reset();
  prepared.reset();  // the daemon holds the lock, socket and logs now
  std::string report;
  const auto deadline = Clock::now() + kStartWait;
  while (Clock::now() < deadline && report.find('\n') == std::string::npos) {
    pollfd p{ready_read.get(), POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) continue;
    char buffer[512];
    const ssize_t got = ::read(ready_read.get(), buffer, sizeof buffer);
    if (got <= 0) break;
    report.append(buffer, static_cast<std::size_t>(got));
  }
  if (report.rfind("ready", 0) != 0) {
    if (report.empty()) {
      say("the hypervisor did not report ready within " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kStartWait).count()) +
          " s; see " + paths.log.string());
      ::kill(child, SIGKILL);
    } else {
      say(report.substr(0, report.find('\n')));
    }
    return 1;
  }
  while (Clock::now() < deadline) {
    if (answers(paths, std::chrono::milliseconds(1000))) {
      say("started (pid " + std::to_string(child) + ") under " + root.string());
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  say("the hypervisor (pid " + std::to_string(child) + ") does not answer on " +
      paths.socket.string());
  return 1;
}

int stop_command(const fs::path& root) {
  const Paths paths(root);
  if (!lock_held(paths)) {
    ::unlink(paths.pid.c_str());
    say("not running under " + root.string());
    return 0;
  }
  const auto pid = read_pid(paths);
  if (!pid) {
    say("running under " + root.string() + " but " + paths.pid.string() + " holds no pid");
    return 1;
  }
  UniqueFd pidfd(pidfd_open(*pid));
  if (!pidfd) {
    say("pid " + std::to_string(*pid) + ": " + errno_text(errno));
    return 1;
  }
  const auto wait_exit = [&](std::chrono::milliseconds limit) {
    pollfd p{pidfd.get(), POLLIN, 0};
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 1)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
    return false;
  };
  if (pidfd_send_signal(pidfd.get(), SIGTERM) != 0) {
    say("SIGTERM to pid " + std::to_string(*pid) + ": " + errno_text(errno));
    return 1;
  }
  if (!wait_exit(kStopWait)) {
    say("pid " + std::to_string(*pid) + " did not stop within " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kStopWait).count()) +
        " s; killing it");
    (void)pidfd_send_signal(pidfd.get(), SIGKILL);
    if (!wait_exit(kKillWait)) {
      say("pid " + std::to_string(*pid) + " survived SIGKILL");
      return 1;
    }
    ::unlink(paths.socket.c_str());
    ::unlink(paths.pid.c_str());
  }
  say("stopped (pid " + std::to_string(*pid) + ")");
  return 0;
}

int status_command(const fs::path& root) {
  const Paths paths(root);
  if (!lock_held(paths)) {
    say("not running under " + root.string());
    return 3;
  }
  const auto pid = read_pid(paths);
  if (!pid || ::kill(*pid, 0) != 0) {
    say("starting or stopping under " + root.string() + " (no live pid yet)");
    return 3;
  }
  auto connection = xc::Connection::open(root, kStatusWait);
  if (!connection) {
    say("pid " + std::to_string(*pid) + " runs but " + connection.error().to_string());
    return 3;
  }
  auto version = connection->version();
  if (!version) {
    say("pid " + std::to_string(*pid) + " runs but " + version.error().to_string());
    return 3;
  }
  say("running (pid " + std::to_string(*pid) + ") under " + root.string() + ", ABI " +
      std::to_string(version->major) + "." + std::to_string(version->minor) + ", " +
      version->extra);
  return 0;
}

}  // namespace shype::hv
