// The guest's seccomp allow-list, as data (STYLE.md rule 9). Every system
// call a guest kernel built on the guest runtime (hypervisor/guest) makes is
// listed once with the reason it needs it and, where the arguments decide
// whether the call is harmless, the condition on them. Anything else, and
// any call made through another system call ABI (i386 int 0x80, x32), kills
// the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS).
//
// The table is compiled once per process with libseccomp into a classic BPF
// program (guest_filter()); the launcher's child loads that program with the
// seccomp system call, so nothing after clone() allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <linux/filter.h>

#include "acm/error.hpp"

namespace shype::sandbox {

enum class ArgTest : std::uint8_t {
  equals,         // arg == value (all 64 bits)
  masked_equals,  // (arg & mask) == value
};

struct ArgCondition {
  unsigned index = 0;  // 0..5
  ArgTest test = ArgTest::equals;
  std::uint64_t mask = 0;  // masked_equals only
  std::uint64_t value = 0;
};

inline constexpr std::size_t kMaxArgConditions = 2;

struct SyscallRule {
  const char* name;  // as in the x86-64 system call table
  std::array<ArgCondition, kMaxArgConditions> conditions;
  std::size_t condition_count;  // all must hold
  const char* why;              // why the guest runtime needs it
};

// The guest allow-list (seccomp_policy.cpp).
[[nodiscard]] std::span<const SyscallRule> guest_allow_list() noexcept;

struct BpfProgram {
  std::vector<sock_filter> instructions;
  // The view the seccomp system call takes; valid while *this lives.
  [[nodiscard]] sock_fprog fprog() const noexcept;
};

// Compiles rules for x86-64 with default action SECCOMP_RET_KILL_PROCESS and
// bad-architecture action SECCOMP_RET_KILL_PROCESS. Errors name the rule.
[[nodiscard]] acm::Result<BpfProgram> compile_filter(std::span<const SyscallRule> rules);

// libseccomp's pseudo-code listing of the same filter (for reviews and tests).
[[nodiscard]] acm::Result<std::string> describe_filter(std::span<const SyscallRule> rules);

// guest_allow_list() compiled; compiled on first use, then the same object
// for the life of the process (thread-safe).
[[nodiscard]] const acm::Result<BpfProgram>& guest_filter();

}  // namespace shype::sandbox
