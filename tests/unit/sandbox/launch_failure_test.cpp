// launch() failures are clean errors that name what was wrong, and no
// launch - failed or not - leaves a descriptor or a process behind.
#include <cerrno>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_harness.hpp"

namespace shype::sandbox::testing {
namespace {

std::size_t open_descriptors() {
  return list_dir("/proc/self/fd").size();
}

bool has_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) == 0;
}

class LaunchFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    descriptors_ = open_descriptors();
    spec_.name = "failing-" + std::to_string(::getpid());
    hv_.fill(spec_);
    kernel_ = ::open(SHYPE_GUEST_HELLO, O_RDONLY | O_CLOEXEC);
    ASSERT_GE(kernel_, 0);
    spec_.kernel_fd = kernel_;
  }
  void TearDown() override {
    ::close(kernel_);
    EXPECT_FALSE(has_children()) << "a launch left a process behind";
  }
  // Expects launch(spec_) to fail with `text` in the message, leaving no
  // descriptor behind.
  void expect_failure(const std::string& text) {
    const std::size_t before = open_descriptors();
    const auto process = launch(spec_);
    ASSERT_FALSE(process) << "launched pid " << process->pid;
    EXPECT_NE(process.error().message.find(text), std::string::npos) << process.error().message;
    EXPECT_EQ(open_descriptors(), before) << "descriptors leaked";
  }

  FakeHypervisor hv_{5, 1024 * 1024};
  SandboxSpec spec_;
  int kernel_ = -1;
  std::size_t descriptors_ = 0;
};

TEST_F(LaunchFailure, BadKernelDescriptor) {
  spec_.kernel_fd = -1;
  expect_failure("kernel_fd: not an open descriptor");
  spec_.kernel_fd = 1000;  // not open
  expect_failure("kernel_fd: not an open descriptor");
  spec_.kernel_fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  expect_failure("kernel_fd: not a regular file");
  ::close(spec_.kernel_fd);
}

TEST_F(LaunchFailure, NonElfKernel) {
  const int script = ::memfd_create("not-a-kernel", MFD_CLOEXEC);
  const std::string text =
      "#!/bin/sh\necho this is not a static ELF kernel, whatever its mode says\n";
  ASSERT_EQ(::write(script, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  spec_.kernel_fd = script;
  expect_failure("kernel image: not an ELF file");
  ::close(script);
}

TEST_F(LaunchFailure, InvalidSpecs) {
  const SandboxSpec good = spec_;
  for (const std::string& name : {std::string(""), std::string("a/b"), std::string(64, 'n')}) {
    spec_ = good;
    spec_.name = name;
    expect_failure("name '");
  }
  spec_ = good;
  spec_.cmdline = std::string("a\0b", 3);
  expect_failure("cmdline");
  spec_ = good;
  spec_.memory_bytes = 4097;
  expect_failure("memory_bytes");
  spec_ = good;
  spec_.memory_bytes = 64 * 1024 * 1024;  // the memfd holds 1 MiB
  expect_failure("memory_fd: not a file of at least memory_bytes");
  spec_ = good;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  spec_.channel_fd = pipe_fds[0];
  expect_failure("channel_fd: not a SOCK_SEQPACKET socket");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  spec_ = good;
  spec_.upcall_fd = -1;
  expect_failure("upcall_fd: not an open descriptor");
  spec_ = good;
  spec_.cgroup_parent = "../escape";
  expect_failure("cgroup_parent '../escape'");
}

// A step inside the child fails: the child reports "step: error" through
// its socket and launch() returns that, after reaping the child. Provoked by
// filling every descriptor slot the child may use above kKernelExecFd, in a
// forked helper so that the lowered RLIMIT_NOFILE dies with it.
TEST_F(LaunchFailure, ChildStepFailureIsReported) {
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t helper = ::fork();
  if (helper == 0) {
    const rlimit tight{2064, 2064};
    if (::setrlimit(RLIMIT_NOFILE, &tight) != 0) ::_exit(2);
    for (int fd = 2049; fd < 2064; ++fd) {
      if (::dup3(kernel_, fd, O_CLOEXEC) != fd) ::_exit(3);
    }
    const auto process = launch(spec_);
    const std::string message = process ? std::string("launched") : process.error().message;
    const bool reaped = ::waitid(P_ALL, 0, nullptr, WEXITED | WNOHANG) != 0 && errno == ECHILD;
    const std::string line = message + (reaped ? "" : " (child not reaped)");
    ::_exit(::write(report[1], line.data(), line.size()) > 0 ? 0 : 4);
  }
  ::close(report[1]);
  char buffer[512] = {};
  const ssize_t n = ::read(report[0], buffer, sizeof buffer - 1);
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(helper, &status, 0), helper);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "helper status " << status;
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer), "fcntl: F_DUPFD: Too many open files");
}

TEST(LaunchLeaks, SuccessfulLaunchesLeaveNothingBehind) {
  const std::size_t before = open_descriptors();
  for (int round = 0; round < 3; ++round) {
    auto domain = start_domain(SHYPE_GUEST_HELLO, "leaks-" + std::to_string(::getpid()), "");
    ASSERT_TRUE(domain) << domain.error().message;
    ASSERT_TRUE((*domain)->hv().wait_for_console("Hello from", 5s));
  }
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_FALSE(has_children());
}

}  // namespace
}  // namespace shype::sandbox::testing
