#include "sandbox/seccomp_policy.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/limits.hpp"
#include "shype/abi.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {
namespace {

constexpr ArgCondition arg_equals(unsigned index, std::uint64_t value) {
  return ArgCondition{index, ArgTest::equals, 0, value};
}
constexpr ArgCondition arg_lacks_bits(unsigned index, std::uint64_t bits) {
  return ArgCondition{index, ArgTest::masked_equals, bits, 0};
}

constexpr std::uint64_t kChannel = static_cast<std::uint64_t>(abi::kChannelFd);
constexpr std::uint64_t kProtExec = PROT_EXEC;
constexpr std::uint64_t kEmptyPath = AT_EMPTY_PATH;
constexpr std::uint64_t kKernelFd = static_cast<std::uint64_t>(kKernelExecFd);

// The guest allow-list. A guest's descriptors all come from the hypervisor
// (fds 3..6 at start, doorbells and grant frames later), so calls that only
// operate on descriptors it already holds need no fd condition; calls that
// could create something new (executable memory, another program) do.
constexpr SyscallRule kGuestRules[] = {
    {"read",
     {},
     0,
     "clears the upcall eventfd (kUpcallFd) and event-channel doorbells after ppoll reports them"},
    {"write",
     {},
     0,
     "rings a peer's event-channel doorbell (eventfd); the launcher's last steps before the kernel runs report to the parent with it"},
    {"close",
     {},
     0,
     "drops descriptors it no longer needs: closed event channels' doorbells, unmapped grant frames, descriptors attached to notifications it does not handle"},
    {"mmap",
     {arg_lacks_bits(2, kProtExec)},
     1,
     "maps shared_info, guest memory and grant frames; never PROT_EXEC, so the only code a guest runs is its kernel image"},
    {"munmap", {}, 0, "unmaps grant frames (grant_table.hpp: unmap_grant_ref, end_access)"},
    {"sendmsg",
     {arg_equals(0, kChannel)},
     1,
     "sends hypercall requests; only on the hypercall channel (kChannelFd)"},
    {"recvmsg",
     {arg_equals(0, kChannel)},
     1,
     "receives responses and notifications with their descriptors; only on the hypercall channel"},
    {"ppoll",
     {},
     0,
     "wait_for_events and sleep_ns: blocks on the upcall eventfd, the channel and doorbells, with a timeout"},
    {"clock_gettime", {}, 0, "now_ns (the runtime does not use the vDSO)"},
    {"restart_syscall",
     {},
     0,
     "the kernel resumes a blocking call interrupted by SIGSTOP/SIGCONT (pause/unpause) through it; it can only continue a call that was itself allowed"},
    {"exit_group",
     {},
     0,
     "ends the process after sched_op shutdown, or when the hypervisor closed the channel"},
    {"execveat",
     {arg_equals(0, kKernelFd), arg_equals(4, kEmptyPath)},
     2,
     "the launcher's final step runs under the filter: it executes the kernel image from kKernelExecFd; that fd is close-on-exec and above RLIMIT_NOFILE, so the guest can never use this rule"},
};

struct CtxDeleter {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

acm::Result<Ctx> build(std::span<const SyscallRule> rules) {
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
    return acm::make_error(acm::Errc::unsupported,
                           "seccomp: the guest filter is for x86-64 hosts only");
  }
  Ctx ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) return acm::make_error(acm::Errc::io_error, "seccomp_init failed");
  // Calls through the i386 (int 0x80) or x32 ABI carry another
  // architecture (or the x32 bit) and are killed like unknown calls.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc != 0) {
    return acm::make_error(acm::Errc::io_error, "seccomp: bad-arch action: " + errno_text(-rc));
  }
  for (const SyscallRule& rule : rules) {
    const int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, rule.name);
    if (nr == __NR_SCMP_ERROR) {
      return acm::make_error(acm::Errc::invalid_argument,
                             std::string("seccomp: unknown system call '") + rule.name + "'");
    }
    if (rule.condition_count > kMaxArgConditions) {
      return acm::make_error(acm::Errc::invalid_argument,
                             std::string("seccomp: too many conditions for '") + rule.name + "'");
    }
    std::array<scmp_arg_cmp, kMaxArgConditions> cmps{};
    for (std::size_t i = 0; i < rule.condition_count; ++i) {
      const ArgCondition& c = rule.conditions[i];
      if (c.index > 5) {
        return acm::make_error(acm::Errc::invalid_argument,
                               std::string("seccomp: bad argument index for '") + rule.name + "'");
      }
      cmps[i].arg = c.index;
      if (c.test == ArgTest::equals) {
        cmps[i].op = SCMP_CMP_EQ;
        cmps[i].datum_a = c.value;
        cmps[i].datum_b = 0;
      } else {
        cmps[i].op = SCMP_CMP_MASKED_EQ;
        cmps[i].datum_a = c.mask;
        cmps[i].datum_b = c.value;
      }
    }
    const int rc = seccomp_rule_add_exact_array(
        ctx.get(), SCMP_ACT_ALLOW, nr, static_cast<unsigned>(rule.condition_count), cmps.data());
    if (rc != 0) {
      return acm::make_error(acm::Errc::invalid_argument, std::string("seccomp: rule for '") +
                                                              rule.name + "': " + errno_text(-rc));
    }
  }
  return ctx;
}

// libseccomp 2.5 exports to a descriptor only; a memfd keeps it in memory.
acm::Result<std::string> export_to_memory(const Ctx& ctx, bool bpf) {
  UniqueFd fd(::memfd_create("shype-seccomp", MFD_CLOEXEC));
  if (!fd)
    return acm::make_error(acm::Errc::io_error, "seccomp: memfd_create: " + errno_text(errno));
  const int rc =
      bpf ? seccomp_export_bpf(ctx.get(), fd.get()) : seccomp_export_pfc(ctx.get(), fd.get());
  if (rc != 0) return acm::make_error(acm::Errc::io_error, "seccomp: export: " + errno_text(-rc));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return acm::make_error(acm::Errc::io_error, "seccomp: fstat: " + errno_text(errno));
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  if (!read_exact_at(fd.get(), bytes.data(), bytes.size(), 0)) {
    return acm::make_error(acm::Errc::io_error, "seccomp: reading the exported filter failed");
  }
  return bytes;
}

}  // namespace

std::span<const SyscallRule> guest_allow_list() noexcept {
  return kGuestRules;
}

sock_fprog BpfProgram::fprog() const noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(instructions.size());
  // The kernel only reads the program; sock_fprog's pointer is non-const.
  prog.filter = const_cast<sock_filter*>(instructions.data());
  return prog;
}

acm::Result<BpfProgram> compile_filter(std::span<const SyscallRule> rules) {
  auto ctx = build(rules);
  if (!ctx) return tl::unexpected(ctx.error());
  auto exported = export_to_memory(*ctx, true);
  if (!exported) return tl::unexpected(exported.error());
  const std::string bytes = std::move(*exported);
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0 ||
      bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return acm::make_error(acm::Errc::limit_exceeded, "seccomp: exported program has a bad size");
  }
  BpfProgram program;
  program.instructions.resize(bytes.size() / sizeof(sock_filter));
  // SAFETY: sock_filter is a trivially copyable struct; the size was checked
  // to be a whole number of instructions.
  std::memcpy(program.instructions.data(), bytes.data(), bytes.size());
  return program;
}

acm::Result<std::string> describe_filter(std::span<const SyscallRule> rules) {
  auto ctx = build(rules);
  if (!ctx) return tl::unexpected(ctx.error());
  return export_to_memory(*ctx, false);
}

const acm::Result<BpfProgram>& guest_filter() {
  static const acm::Result<BpfProgram> program = compile_filter(guest_allow_list());
  return program;
}

}  // namespace shype::sandbox
