// What the hypervisor benchmarks share: a real `shype-hv start --foreground`
// under a temporary SHYPE_ROOT, stopped by pid (SIGTERM, bounded wait,
// SIGKILL) when it goes out of scope, also on failure; and the memory
// figures of a process from /proc/<pid>/smaps_rollup.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xenctrl/connection.hpp"

namespace shype::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A fresh directory under the temporary directory, unique to this process.
inline fs::path temp_root(const std::string& tag) {
  fs::path root =
      fs::temp_directory_path() / ("shype-hv-bench-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "run/shype");
  fs::create_directories(root / "var/log/xen/console");
  fs::create_directories(root / "etc/shype");
  return root;
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Resident and proportional set sizes of one process, in KiB.
struct MemoryUse {
  std::uint64_t rss_kib = 0;
  std::uint64_t pss_kib = 0;
};

// nullopt if the process is gone or /proc is unreadable.
inline std::optional<MemoryUse> memory_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!in) return std::nullopt;
  MemoryUse use;
  bool found = false;
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (in >> key) {
    if (key == "Rss:" || key == "Pss:") {
      if (!(in >> value >> unit)) break;
      (key == "Rss:" ? use.rss_kib : use.pss_kib) = value;
      found = true;
    } else {
      in.ignore(1 << 20, '\n');
    }
  }
  if (!found) return std::nullopt;
  return use;
}

// One line of /proc/meminfo in KiB (0 if absent).
inline std::uint64_t meminfo_kib(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (in >> key >> value) {
    in.ignore(1 << 10, '\n');
    if (key == field + ":") return value;
  }
  return 0;
}

// `shype-hv start --foreground` under a fresh root; stdout and stderr go to
// ROOT/hv.out. The constructor returns once the hypervisor answers
// xen_version (bounded: 20 s) and throws otherwise, having stopped it.
class HypervisorProcess {
 public:
  explicit HypervisorProcess(const std::string& tag, const std::string& boot_conf = "",
                             const std::function<void(const fs::path&)>& prepare = {})
      : root_(temp_root(tag)) {
    if (!boot_conf.empty()) std::ofstream(root_ / "etc/shype/boot.conf") << boot_conf;
    if (prepare) prepare(root_);
    const std::string out = (root_ / "hv.out").string();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setenv("SHYPE_ROOT", root_.c_str(), 1);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execl(SHYPE_HV_PATH, "shype-hv", "start", "--foreground", nullptr);
      ::_exit(127);
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline && !exited()) {
      auto connection = xc::Connection::open(root_, 1s);
      if (connection && connection->version()) return;
      std::this_thread::sleep_for(10ms);
    }
    const std::string output = slurp(root_ / "hv.out");
    stop();
    throw std::runtime_error("shype-hv did not answer within 20 s: " + output);
  }
  ~HypervisorProcess() {
    stop();
    fs::remove_all(root_);
  }
  HypervisorProcess(const HypervisorProcess&) = delete;
  HypervisorProcess& operator=(const HypervisorProcess&) = delete;

  [[nodiscard]] const fs::path& root() const { return root_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  [[nodiscard]] bool exited() const {
    if (pidfd_ < 0) return true;
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  // SIGTERM, up to `grace` for it to stop (it kills its guests first),
  // then SIGKILL; reaps. Returns the wait status (-1 if not running).
  int stop(std::chrono::milliseconds grace = 15s) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(grace.count())) != 1) {
      ::kill(pid_, SIGKILL);
      (void)::poll(&p, 1, 5000);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(pidfd_);
    pid_ = -1;
    pidfd_ = -1;
    return status;
  }

 private:
  fs::path root_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
};

}  // namespace shype::bench
