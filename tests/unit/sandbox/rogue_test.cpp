// guest_rogue against the sandbox and the fake hypervisor: every forbidden
// system call ends in SIGSYS while a second domain and the test process
// carry on; protocol abuse is refused or gets the domain destroyed.
#include <iostream>

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_harness.hpp"
#include "shype/console.hpp"
#include "unique_name.hpp"

namespace shype::sandbox::testing {
namespace {

DomainOptions domid_options(std::uint32_t domid) {
  DomainOptions options;
  options.domid = domid;
  return options;
}

std::string test_name(std::string attack) {
  for (char& c : attack) {
    if (c == '-') c = '_';
  }
  return attack;
}

// Whether this host routes int $0x80 to the i386 system call table at all
// (some virtual machines and kernels booted with ia32_emulation=0 do not:
// the instruction faults with SIGSEGV before seccomp sees anything).
bool host_has_int80() {
  const pid_t child = ::fork();
  if (child == 0) {
    // Default SIGSEGV (a sanitizer's handler would report the fault);
    // the kernel's struct sigaction: handler, flags, restorer, mask.
    const unsigned long default_action[4] = {0, 0, 0, 0};
    ::syscall(SYS_rt_sigaction, SIGSEGV, default_action, nullptr, sizeof(unsigned long));
    long result = 20;  // i386 getpid
    // SAFETY: the i386 system call gate in a throw-away child; eax in/out.
    asm volatile("int $0x80" : "+a"(result) : : "memory");
    ::_exit(result > 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The bystander echoes console input; prove it still does.
void expect_responsive(Domain& bystander, const std::string& token) {
  ASSERT_TRUE(bystander.alive());
  bystander.hv().send_notification(abi::Op::console_io,
                                   static_cast<std::uint32_t>(abi::ConsoleIoOp::read), token.data(),
                                   token.size());
  EXPECT_TRUE(bystander.hv().wait_for_console(token, 5s)) << "bystander stopped echoing";
}

TEST(Rogue, ForbiddenSystemCallsEndInSigsys) {
  auto bystander =
      start_domain(SHYPE_GUEST_HELLO, unique_name("bystander"), "watching", domid_options(2));
  ASSERT_TRUE(bystander) << bystander.error().message;
  ASSERT_TRUE((*bystander)->hv().wait_for_console("cmdline: watching\n", 5s));

  const bool int80 = host_has_int80();
  if (!int80)
    std::cout << "note: this host has no int $0x80 gate; int80 ends in SIGSEGV before seccomp\n";
  for (const char* attack : {"open", "socket", "fork", "clone", "execve", "ptrace", "kill",
                             "mprotect-exec", "mmap-exec", "setrlimit", "x32", "int80"}) {
    SCOPED_TRACE(attack);
    auto rogue = start_domain(SHYPE_GUEST_ROGUE, unique_name("rogue"), attack, domid_options(3));
    ASSERT_TRUE(rogue) << rogue.error().message;
    const auto status = (*rogue)->wait_exit(5s);
    ASSERT_TRUE(status) << "still running; console: " << (*rogue)->hv().console();
    EXPECT_TRUE(status->si_code == CLD_KILLED || status->si_code == CLD_DUMPED)
        << describe(*status);
    const int expected = std::string(attack) == "int80" && !int80 ? SIGSEGV : SIGSYS;
    EXPECT_EQ(status->si_status, expected)
        << describe(*status) << "; console: " << (*rogue)->hv().console();
    EXPECT_NE((*rogue)->hv().console().find(std::string("rogue: ") + attack + ": attempting"),
              std::string::npos)
        << (*rogue)->hv().console();
    EXPECT_EQ((*rogue)->hv().console().find("NOT BLOCKED"), std::string::npos);
    expect_responsive(**bystander, std::string("still here after ") + attack);
  }
}

struct Refusal {
  const char* attack;
  const char* console;  // expected on the console
};

class RogueRefused : public ::testing::TestWithParam<Refusal> {};

// Refused by an error answer: the rogue reports it and powers off.
TEST_P(RogueRefused, IsAnsweredWithAnError) {
  const Refusal& refusal = GetParam();
  auto rogue = start_domain(SHYPE_GUEST_ROGUE, unique_name("rogue"), refusal.attack);
  ASSERT_TRUE(rogue) << rogue.error().message;
  const auto status = (*rogue)->wait_exit(15s);
  ASSERT_TRUE(status) << "still running";
  EXPECT_EQ(describe(*status), "exited 0") << (*rogue)->hv().console().substr(0, 2000);
  EXPECT_EQ((*rogue)->hv().shutdown_reason(), 0u);
  EXPECT_NE((*rogue)->hv().console().find(refusal.console), std::string::npos)
      << (*rogue)->hv().console().substr(0, 2000);
  EXPECT_EQ((*rogue)->hv().framing_error(), "");
}

INSTANTIATE_TEST_SUITE_P(
    Attacks, RogueRefused,
    ::testing::Values(Refusal{"reexec", "rogue: reexec: refused -9\n"},
                      Refusal{"unknown-op", "rogue: unknown-op: refused -38 (expected -38)\n"},
                      Refusal{"privileged-op", "rogue: privileged-op: refused -1 (expected -1)\n"},
                      Refusal{"garbage-fds", "rogue: garbage-fds: refused -22\n"},
                      Refusal{"flood",
                              "rogue: flood: 100000 writes answered (100000 ok, 0 refused)\n"}),
    [](const ::testing::TestParamInfo<Refusal>& param) { return test_name(param.param.attack); });

class RogueDestroyed : public ::testing::TestWithParam<const char*> {};

// Garbage framing: the hypervisor destroys the domain.
TEST_P(RogueDestroyed, ByTheHypervisor) {
  auto rogue = start_domain(SHYPE_GUEST_ROGUE, unique_name("rogue"), GetParam());
  ASSERT_TRUE(rogue) << rogue.error().message;
  const auto status = (*rogue)->wait_exit(5s);
  ASSERT_TRUE(status) << "still running";
  EXPECT_EQ(describe(*status), "killed by SIGKILL") << (*rogue)->hv().console();
  EXPECT_NE((*rogue)->hv().framing_error(), "");
  EXPECT_EQ((*rogue)->hv().console().find("NO ANSWER"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Attacks, RogueDestroyed,
                         ::testing::Values("bad-magic", "truncated-header", "oversize",
                                           "length-lie"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return test_name(param.param);
                         });

TEST(Rogue, UnknownAttackCrashes) {
  auto rogue = start_domain(SHYPE_GUEST_ROGUE, unique_name("rogue"), "teleport");
  ASSERT_TRUE(rogue) << rogue.error().message;
  const auto status = (*rogue)->wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(describe(*status), "exited 3");
  EXPECT_EQ((*rogue)->hv().shutdown_reason(), 3u);
  EXPECT_NE((*rogue)->hv().console().find("rogue: teleport: unknown attack\n"), std::string::npos);
}

}  // namespace
}  // namespace shype::sandbox::testing
