// Domain life cycle through the sandbox: start stopped, shutdown requests,
// console input, guest memory (guest_counter), cgroups.
#include <cstring>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_harness.hpp"
#include "sandbox/limits.hpp"
#include "shype/console.hpp"
#include "shype/sched.hpp"
#include "unique_name.hpp"

namespace shype::sandbox::testing {
namespace {

TEST(Lifecycle, StartStoppedRunsOnlyAfterSigcont) {
  DomainOptions options;
  options.start_stopped = true;
  auto domain = start_domain(SHYPE_GUEST_HELLO, unique_name("paused"), "", options);
  ASSERT_TRUE(domain) << domain.error().message;
  EXPECT_EQ(process_state((*domain)->pid()), 'T');
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(process_state((*domain)->pid()), 'T');
  EXPECT_EQ((*domain)->hv().requests(), 0u);
  // Stopped before the exec: the sandbox is complete already.
  EXPECT_EQ(status_field((*domain)->pid(), "Seccomp"), "2");
  (*domain)->signal(SIGCONT);
  EXPECT_TRUE((*domain)->hv().wait_for_console(
      "Hello from shype domain 7 (" + unique_name("paused") + ")\n", 5s))
      << (*domain)->hv().console();
  EXPECT_NE(process_state((*domain)->pid()), 'T');
}

TEST(Lifecycle, PauseAndUnpauseWithSigstop) {
  auto domain = start_domain(SHYPE_GUEST_HELLO, unique_name("pausing"), "");
  ASSERT_TRUE(domain) << domain.error().message;
  ASSERT_TRUE((*domain)->hv().wait_for_console("Hello from", 5s));
  (*domain)->signal(SIGSTOP);
  for (int i = 0; i < 100 && process_state((*domain)->pid()) != 'T'; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(process_state((*domain)->pid()), 'T');
  const std::string input = "typed while paused\n";
  (*domain)->hv().send_notification(abi::Op::console_io,
                                    static_cast<std::uint32_t>(abi::ConsoleIoOp::read),
                                    input.data(), input.size());
  EXPECT_FALSE((*domain)->hv().wait_for_console(input, 200ms));
  (*domain)->signal(SIGCONT);
  EXPECT_TRUE((*domain)->hv().wait_for_console(input, 5s)) << (*domain)->hv().console();
}

TEST(Lifecycle, ShutdownRequestIsAnsweredWithThatReason) {
  auto domain = start_domain(SHYPE_GUEST_HELLO, unique_name("asked"), "");
  ASSERT_TRUE(domain) << domain.error().message;
  ASSERT_TRUE((*domain)->hv().wait_for_console("Hello from", 5s));
  const abi::SchedShutdown request{static_cast<std::uint32_t>(abi::ShutdownReason::reboot)};
  (*domain)->hv().send_notification(abi::Op::sched_op,
                                    static_cast<std::uint32_t>(abi::SchedOp::shutdown), &request,
                                    sizeof request);
  const auto status = (*domain)->wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(describe(*status), "exited 1");
  EXPECT_EQ((*domain)->hv().shutdown_reason(), 1u);
  EXPECT_NE((*domain)->hv().console().find("hello: shutting down (reason 1)\n"), std::string::npos);
}

TEST(Lifecycle, HypervisorGoneEndsTheGuest) {
  auto hv_gone = start_domain(SHYPE_GUEST_HELLO, unique_name("orphan"), "");
  ASSERT_TRUE(hv_gone) << hv_gone.error().message;
  ASSERT_TRUE((*hv_gone)->hv().wait_for_console("Hello from", 5s));
  (*hv_gone)->hv().disconnect();
  const auto status = (*hv_gone)->wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(describe(*status), "exited 125");
}

// guest_counter's state block at frame 0 (runtime.hpp state_block): the
// runtime's 32-byte header, then the counter.
struct CounterState {
  std::uint64_t magic;  // "SHYPSTAT"
  std::uint64_t tag;    // "SHYPCNTR"
  std::uint64_t size;
  std::uint64_t check;
  std::uint64_t value;
};
constexpr std::uint64_t kStateMagic = 0x5441545350594853ull;
constexpr std::uint64_t kCounterTag = 0x52544e4350594853ull;
constexpr std::uint64_t check_of(std::uint64_t tag, std::uint64_t size) {
  return ~(tag ^ (size * 0x9e3779b97f4a7c15ull) ^ kStateMagic);
}

CounterState read_frame0(const FakeHypervisor& hv) {
  CounterState state{};
  EXPECT_EQ(::pread(hv.memory_fd(), &state, sizeof state, 0), static_cast<ssize_t>(sizeof state));
  return state;
}

TEST(Lifecycle, CounterKeepsItsStateInGuestMemory) {
  auto domain = start_domain(SHYPE_GUEST_COUNTER, unique_name("counter"), "10");
  ASSERT_TRUE(domain) << domain.error().message;
  ASSERT_TRUE((*domain)->hv().wait_for_console("counter ", 3s)) << (*domain)->hv().console();
  const CounterState first = read_frame0((*domain)->hv());
  EXPECT_EQ(first.magic, kStateMagic);
  EXPECT_EQ(first.tag, kCounterTag);
  EXPECT_GE(first.value, 50u);  // about 100 after one second at 10 ms
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(read_frame0((*domain)->hv()).value, first.value);
  std::istringstream lines((*domain)->hv().console());
  std::string word;
  std::uint64_t printed = 0;
  lines >> word >> printed;
  EXPECT_EQ(word, "counter");
  EXPECT_GE(printed, 50u);
}

TEST(Lifecycle, CounterResumesFromGuestMemory) {
  auto hv = std::make_unique<FakeHypervisor>(9, 1024 * 1024);
  const CounterState saved{kStateMagic, kCounterTag, 8, check_of(kCounterTag, 8), 41000};
  ASSERT_EQ(::pwrite(hv->memory_fd(), &saved, sizeof saved, 0), static_cast<ssize_t>(sizeof saved));
  hv->set_resume_count(1);  // memory is only trusted when resuming
  const int kernel = ::open(SHYPE_GUEST_COUNTER, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(kernel, 0);
  SandboxSpec spec;
  spec.name = unique_name("restored");
  spec.kernel_fd = kernel;
  hv->fill(spec);
  auto process = launch(spec);
  ::close(kernel);
  ASSERT_TRUE(process) << process.error().message;
  hv->serve(process->pidfd);
  Domain domain(std::move(hv), std::move(*process));
  EXPECT_TRUE(domain.hv().wait_for_console("counter: resumed at 41000 (restore 1)\n", 5s))
      << domain.hv().console();
}

TEST(Lifecycle, OwnCgroupWithLimitsWhereSupported) {
  const HostSupport host = probe_host();
  if (!host.cgroup_v1 && !host.cgroup_v2) GTEST_SKIP() << "no usable cgroup: " << host.detail;
  DomainOptions options;
  options.cgroup_parent = "shype-test-" + std::to_string(::getpid());
  const std::string name = unique_name("grouped");
  std::vector<std::string> dirs;
  {
    auto domain = start_domain(SHYPE_GUEST_HELLO, name, "", options);
    ASSERT_TRUE(domain) << domain.error().message;
    ASSERT_TRUE((*domain)->hv().wait_for_console("Hello from", 5s));
    std::istringstream cgroup((*domain)->process().cgroup);
    for (std::string dir; std::getline(cgroup, dir);)
      dirs.push_back(dir);
    ASSERT_FALSE(dirs.empty());
    const std::string membership = read_text((*domain)->proc("cgroup"));
    const std::string memory_limit = std::to_string(cgroup_memory_limit(16 * kMiB));
    for (const std::string& dir : dirs) {
      SCOPED_TRACE(dir);
      EXPECT_EQ(dir.substr(dir.size() - name.size()), name);
      EXPECT_EQ(read_text(dir + "/cgroup.procs"), std::to_string((*domain)->pid()) + "\n");
      if (host.cgroup_v2) {
        EXPECT_EQ(read_text(dir + "/memory.max"), memory_limit + "\n");
        EXPECT_EQ(read_text(dir + "/pids.max"), "1\n");
      } else if (dir.find("/memory/") != std::string::npos) {
        EXPECT_EQ(read_text(dir + "/memory.limit_in_bytes"), memory_limit + "\n");
      } else if (dir.find("/pids/") != std::string::npos) {
        EXPECT_EQ(read_text(dir + "/pids.max"), "1\n");
      }
      // /proc/<pid>/cgroup names the same directory (relative to its hierarchy).
      const std::string relative = options.cgroup_parent.value() + "/" + name + "\n";
      EXPECT_NE(membership.find(relative), std::string::npos) << membership;
    }
  }
  // The Domain released its cgroup; remove the test's parent directories.
  for (const std::string& dir : dirs) {
    EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir << " was not removed";
    const std::string parent = dir.substr(0, dir.rfind('/'));
    EXPECT_EQ(::rmdir(parent.c_str()), 0) << parent;
  }
}

}  // namespace
}  // namespace shype::sandbox::testing
