// The guest allow-list as data, and the compiled filter's behaviour on
// arguments (checked in a forked child, outside the sandbox).
#include "sandbox/seccomp_policy.hpp"

#include <set>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/limits.hpp"

namespace shype::sandbox {
namespace {

TEST(SeccompPolicy, EveryRuleIsUniqueAndSaysWhy) {
  std::set<std::string> names;
  for (const SyscallRule& rule : guest_allow_list()) {
    EXPECT_TRUE(names.insert(rule.name).second) << rule.name << " listed twice";
    EXPECT_NE(rule.why, nullptr);
    EXPECT_GT(std::string(rule.why).size(), 20u) << rule.name;
    EXPECT_LE(rule.condition_count, kMaxArgConditions);
  }
}

TEST(SeccompPolicy, AllowsNothingThatCreatesProcessesFilesOrCode) {
  std::set<std::string> names;
  for (const SyscallRule& rule : guest_allow_list())
    names.insert(rule.name);
  for (const char* forbidden : {"open",         "openat",
                                "openat2",      "creat",
                                "socket",       "socketpair",
                                "connect",      "clone",
                                "clone3",       "fork",
                                "vfork",        "execve",
                                "ptrace",       "kill",
                                "tkill",        "tgkill",
                                "mprotect",     "pkey_mprotect",
                                "mremap",       "setrlimit",
                                "prlimit64",    "mount",
                                "unshare",      "setns",
                                "bpf",          "io_uring_setup",
                                "memfd_create", "process_vm_writev",
                                "userfaultfd",  "perf_event_open",
                                "seccomp",      "prctl",
                                "personality",  "ioctl",
                                "sendto",       "recvfrom"}) {
    EXPECT_EQ(names.count(forbidden), 0u) << forbidden;
  }
}

TEST(SeccompPolicy, CompilesOnceForX8664) {
  const auto& first = guest_filter();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_GT(first->instructions.size(), guest_allow_list().size());
  EXPECT_LT(first->instructions.size(), 4096u);
  EXPECT_EQ(&guest_filter(), &first);
  const auto listing = describe_filter(guest_allow_list());
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_NE(listing->find("# default action\n  action KILL_PROCESS;"), std::string::npos)
      << *listing;
  EXPECT_NE(listing->find("# invalid architecture action\naction KILL_PROCESS;"),
            std::string::npos);
}

TEST(SeccompPolicy, UnknownSystemCallNameIsAnError) {
  const SyscallRule rules[] = {{"no_such_call", {}, 0, "a rule for a call that does not exist"}};
  const auto program = compile_filter(rules);
  ASSERT_FALSE(program);
  EXPECT_NE(program.error().message.find("no_such_call"), std::string::npos);
}

// Runs `body` in a forked child under the guest filter; returns the signal
// that killed it, or 0 if it exited normally.
template <typename Body>
int signal_under_filter(Body body) {
  const auto& filter = guest_filter();
  if (!filter) return -1;
  const sock_fprog prog = filter->fprog();
  const pid_t child = ::fork();
  if (child == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      ::_exit(99);
    }
    body();
    ::syscall(SYS_exit_group, 0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) return WTERMSIG(status);
  return WEXITSTATUS(status) == 0 ? 0 : -WEXITSTATUS(status);
}

TEST(SeccompPolicy, ArgumentConditionsHold) {
  // mmap: fine without PROT_EXEC, fatal with it.
  EXPECT_EQ(signal_under_filter([] {
              ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            }),
            0);
  EXPECT_EQ(signal_under_filter([] {
              ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
            }),
            SIGSYS);
  // sendmsg/recvmsg: the channel (fd 3) only.
  EXPECT_EQ(signal_under_filter([] {
              msghdr message{};
              ::syscall(SYS_sendmsg, 3, &message, MSG_DONTWAIT);
            }),
            0);
  EXPECT_EQ(signal_under_filter([] {
              msghdr message{};
              ::syscall(SYS_sendmsg, 5, &message, MSG_DONTWAIT);
            }),
            SIGSYS);
  EXPECT_EQ(signal_under_filter([] {
              msghdr message{};
              ::syscall(SYS_recvmsg, 4, &message, MSG_DONTWAIT);
            }),
            SIGSYS);
  // execveat: only kKernelExecFd with AT_EMPTY_PATH (not open here: EBADF).
  EXPECT_EQ(signal_under_filter([] {
              char* const argv[] = {nullptr};
              ::syscall(SYS_execveat, kKernelExecFd, "", argv, argv, AT_EMPTY_PATH);
            }),
            0);
  EXPECT_EQ(signal_under_filter([] {
              char* const argv[] = {nullptr};
              ::syscall(SYS_execveat, kKernelExecFd, "/bin/true", argv, argv, 0);
            }),
            SIGSYS);
  EXPECT_EQ(signal_under_filter([] {
              char* const argv[] = {nullptr};
              ::syscall(SYS_execveat, 5, "", argv, argv, AT_EMPTY_PATH);
            }),
            SIGSYS);
  // Everything else.
  EXPECT_EQ(signal_under_filter([] { ::syscall(SYS_getpid); }), SIGSYS);
  EXPECT_EQ(signal_under_filter([] { ::syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY); }), SIGSYS);
  EXPECT_EQ(signal_under_filter([] { ::syscall(SYS_getpid | 0x40000000); }), SIGSYS);  // x32
}

}  // namespace
}  // namespace shype::sandbox
