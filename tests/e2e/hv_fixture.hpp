// The fixture of shype-hv's end-to-end tests: every test boots a real
// `shype-hv start --foreground` under a fresh temporary SHYPE_ROOT, as a
// child process it stops by pid in TearDown (SIGTERM, bounded wait, then
// SIGKILL), also when the test failed. Every wait is bounded.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xenctrl/connection.hpp"

namespace shype::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline const fs::path kHypervisor = SHYPE_HV_PATH;
inline const fs::path kGuestHello = GUEST_HELLO_PATH;
inline const fs::path kGuestCounter = GUEST_COUNTER_PATH;
inline const fs::path kGuestRogue = GUEST_ROGUE_PATH;
#ifdef GUEST_GRANTER_PATH
inline const fs::path kGuestGranter = GUEST_GRANTER_PATH;
#endif
inline const fs::path kSourceDir = SHYPE_SOURCE_DIR;

// Polls `ready` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds step = 10ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (ready()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A process that has exited, whether or not its parent has reaped it yet
// (a daemon's parent is whoever adopted it).
inline bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

class HypervisorTest : public ::testing::Test {
 protected:
  // What a test writes to etc/shype/boot.conf before the boot ("" = none).
  virtual std::string boot_conf() const { return ""; }
  // Files to place under the root before the boot.
  virtual void prepare_root() {}
  // RLIMIT_NOFILE (soft and hard) for the hypervisor; 0 = inherit.
  virtual rlim_t descriptor_limit() const { return 0; }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("shype-hv-e2e-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "etc/shype");
    if (const std::string conf = boot_conf(); !conf.empty()) {
      std::ofstream(root_ / "etc/shype/boot.conf") << conf;
    }
    prepare_root();
    if (!skip_boot_) boot();
  }

  void TearDown() override {
    if (pid_ > 0) {
      // A clean stop: exit status 0 (a sanitizer report at exit is not).
      const int status = stop_child();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "shype-hv ended with wait status " << status;
    }
    if (!::testing::Test::HasFailure()) {
      fs::remove_all(root_);
    } else {
      std::fprintf(stderr, "--- shype-hv output (%s) ---\n%s\n--- log ---\n%s\n", root_.c_str(),
                   slurp(root_ / "hv.out").c_str(),
                   slurp(root_ / "var/log/xen/shype-hv.log").c_str());
      fs::remove_all(root_);
    }
  }

  // Starts shype-hv --foreground and waits (bounded) until it answers.
  void boot() {
    const std::string out = (root_ / "hv.out").string();
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::setenv("SHYPE_ROOT", root_.c_str(), 1);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      // The test runner may block signals; the hypervisor sets up its own.
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (const rlim_t files = descriptor_limit(); files != 0) {
        const rlimit limit{files, files};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
      }
      ::execl(kHypervisor.c_str(), "shype-hv", "start", "--foreground", nullptr);
      ::_exit(127);
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    const bool up = eventually(
        [&] {
          if (exited()) return true;
          auto connection = xc::Connection::open(root_, 1000ms);
          return connection && connection->version().has_value();
        },
        20s);
    ASSERT_TRUE(up) << "shype-hv did not answer within 20 s";
    ASSERT_FALSE(exited()) << "shype-hv exited: " << slurp(root_ / "hv.out");
    auto connection = xc::Connection::open(root_, 30s);
    ASSERT_TRUE(connection) << connection.error().to_string();
    xc_.emplace(std::move(*connection));
  }

  bool exited() {
    if (pid_ <= 0) return true;
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  // SIGTERM, bounded wait, SIGKILL; reaps. Returns the wait status.
  int stop_child(std::chrono::milliseconds grace = 10s) {
    xc_.reset();
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(grace.count())) != 1) {
      ADD_FAILURE() << "shype-hv did not stop within " << grace.count() << " ms after SIGTERM";
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

  xc::Connection& xc() { return *xc_; }

  abi::domid_t create(const std::string& name, const fs::path& kernel,
                      const std::string& cmdline = "", std::uint32_t ssidref = 0,
                      bool paused = false) {
    xc::DomainSpec spec;
    spec.name = name;
    spec.kernel = kernel;
    spec.memory_mib = 8;
    spec.ssidref = ssidref;
    spec.cmdline = cmdline;
    spec.start_paused = paused;
    auto domid = xc().create_domain(spec);
    EXPECT_TRUE(domid) << domid.error().to_string();
    return domid ? *domid : abi::domid_t{0};
  }

  // The whole console of a domain so far.
  std::string console(abi::domid_t domid) {
    std::string text;
    std::uint64_t offset = 0;
    for (int i = 0; i < 64; ++i) {
      auto chunk = xc().console_read(domid, offset);
      if (!chunk) return text;
      text += chunk->bytes;
      if (chunk->bytes.empty()) break;
      offset = chunk->next_offset;
    }
    return text;
  }

  bool console_shows(abi::domid_t domid, const std::string& needle,
                     std::chrono::milliseconds timeout = 10s) {
    return eventually([&] { return console(domid).find(needle) != std::string::npos; }, timeout);
  }

  std::optional<xc::DomainInfo> info(abi::domid_t domid) {
    auto result = xc().domain_info(domid);
    if (!result) return std::nullopt;
    return *result;
  }

  bool state_becomes(abi::domid_t domid, const std::function<bool(const xc::DomainInfo&)>& state,
                     std::chrono::milliseconds timeout = 10s) {
    return eventually(
        [&] {
          const auto i = info(domid);
          return i && state(*i);
        },
        timeout);
  }

  fs::path root_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool skip_boot_ = false;
  std::optional<xc::Connection> xc_;
};

}  // namespace shype::testing
