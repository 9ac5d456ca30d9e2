// Process entry, the startup protocol (runtime.hpp) and the domain's
// identity.
#include "internal.hpp"
#include "shype/guest/channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

// SAFETY: the ELF entry point. The kernel starts a static executable with
// rsp pointing at argc, then argv[], NULL, envp[], NULL, auxv. rbp is
// cleared to end frame-pointer walks; the stack is aligned to 16 bytes
// before the call as the ABI requires; shype_guest_start never returns
// (ud2 traps if it did).
asm(R"(
  .text
  .globl _start
  .type _start, @function
_start:
  xor %ebp, %ebp
  mov %rsp, %rdi
  and $-16, %rsp
  call shype_guest_start
  ud2
  .size _start, . - _start
)");

extern "C" {
// Provided by the linker's default script around .init_array (names fixed
// by the linker, hence reserved identifiers).
// NOLINTNEXTLINE(bugprone-reserved-identifier)
extern void (*const __init_array_start[])() __attribute__((visibility("hidden")));
// NOLINTNEXTLINE(bugprone-reserved-identifier)
extern void (*const __init_array_end[])() __attribute__((visibility("hidden")));
[[noreturn]] void shype_guest_start(std::uint64_t* stack);
}

namespace shype::guest {
namespace {

struct RuntimeState {
  std::uint32_t domid;
  const char* name;
  std::uint64_t memory_bytes;
  abi::SharedInfo* shared_info;
};
constinit RuntimeState g_runtime{0, "", 0, nullptr};

[[noreturn]] void fatal(const char* message) {
  console_printf("shype guest runtime: %s\n", message);
  shutdown(abi::ShutdownReason::crash);
}

void map_shared_info() {
  const long address =
      sys::mmap(abi::kSharedInfoAddress, abi::kPageSize, sys::kProtRead | sys::kProtWrite,
                sys::kMapShared | sys::kMapFixedNoReplace, abi::kSharedInfoFd, 0);
  if (address < 0 || static_cast<std::uint64_t>(address) != abi::kSharedInfoAddress) {
    fatal("cannot map shared_info");
  }
  // SAFETY: the page at kSharedInfoAddress was just mapped from the
  // shared_info memfd; SharedInfo is exactly one page (shared_info.hpp).
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the ABI fixes the address.
  g_runtime.shared_info = reinterpret_cast<abi::SharedInfo*>(abi::kSharedInfoAddress);
  if (__atomic_load_n(&g_runtime.shared_info->magic, __ATOMIC_ACQUIRE) != abi::kSharedInfoMagic) {
    fatal("shared_info has a bad magic");
  }
  const std::uint64_t bytes =
      __atomic_load_n(&g_runtime.shared_info->memory_bytes, __ATOMIC_ACQUIRE);
  // Guest memory must end below the grant mapping area.
  if (bytes == 0 || bytes % abi::kPageSize != 0 ||
      bytes > abi::kGrantMapBase - abi::kGuestMemoryBase) {
    fatal("shared_info has a bad memory_bytes");
  }
  g_runtime.memory_bytes = bytes;
}

void map_memory() {
  const long address =
      sys::mmap(abi::kGuestMemoryBase, g_runtime.memory_bytes, sys::kProtRead | sys::kProtWrite,
                sys::kMapShared | sys::kMapFixedNoReplace, abi::kMemoryFd, 0);
  if (address < 0 || static_cast<std::uint64_t>(address) != abi::kGuestMemoryBase) {
    fatal("cannot map guest memory");
  }
}

void handshake() {
  abi::VersionInfo info{};
  std::size_t length = 0;
  const int status = hypercall(abi::Op::xen_version, 0, nullptr, 0, &info, sizeof info, &length,
                               nullptr, 0, nullptr);
  if (status != 0 || length != sizeof info) fatal("xen_version handshake failed");
  if (info.major != abi::kVersionMajor) fatal("hypervisor speaks another ABI major version");
  g_runtime.domid = info.domid;
}

}  // namespace

std::uint32_t domid() {
  return g_runtime.domid;
}
const char* name() {
  return g_runtime.name;
}
std::uint64_t memory_bytes() {
  return g_runtime.memory_bytes;
}
std::uint64_t frame_count() {
  return g_runtime.memory_bytes / abi::kPageSize;
}

void* frame_address(std::uint64_t frame) {
  if (frame >= frame_count()) return nullptr;
  // SAFETY: frame < frame_count(), so the address lies inside the guest
  // memory mapping made at startup.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the ABI fixes the address.
  return reinterpret_cast<void*>(abi::kGuestMemoryBase + frame * abi::kPageSize);
}

abi::SharedInfo* shared_info() {
  return g_runtime.shared_info;
}

void shutdown(abi::ShutdownReason reason) {
  const abi::SchedShutdown request{static_cast<std::uint32_t>(reason)};
  // No response comes; the hypervisor reads the request before it sees the
  // process exit.
  (void)channel::send_request(abi::Op::sched_op, static_cast<std::uint32_t>(abi::SchedOp::shutdown),
                              channel::next_seq(), &request, sizeof request, nullptr, 0);
  sys::exit_group(static_cast<int>(reason));
}

}  // namespace shype::guest

void shype_guest_start(std::uint64_t* stack) {
  using namespace shype::guest;
  const auto argc = static_cast<int>(stack[0]);
  // SAFETY: argv[] follows argc on the initial stack (see _start).
  char** argv = reinterpret_cast<char**>(stack + 1);
  g_runtime.name = argc > 0 && argv[0] != nullptr ? argv[0] : "";
  // The runtime has no constructors of its own; a kernel's run here.
  for (auto* init = __init_array_start; init != __init_array_end; ++init)
    (*init)();
  map_shared_info();
  map_memory();
  handshake();
  if (const char* failed = detail::start_devices(); failed != nullptr) fatal(failed);
  const int result = guest_main(argc, argv);
  shutdown(result == 0 ? shype::abi::ShutdownReason::poweroff : shype::abi::ShutdownReason::crash);
}
