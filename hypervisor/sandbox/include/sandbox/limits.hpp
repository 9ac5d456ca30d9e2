// The resources a sandboxed guest may use, as numbers (sandbox.hpp applies
// them). Everything a guest legitimately holds is either its memory (which
// the hypervisor sized) or small and fixed, so each limit is "memory size +
// a documented overhead" or a constant.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/domctl.hpp"
#include "shype/grant_table.hpp"

namespace shype::sandbox {

inline constexpr std::uint64_t kMiB = std::uint64_t{1024} * 1024;

// RLIMIT_NOFILE (soft = hard). The guest holds fds 3..6 plus the doorbells
// and grant frames it is given (at most 2 per event channel and one per
// grant), so this is far above what a well-behaved guest needs and still
// small.
inline constexpr std::uint64_t kGuestOpenFiles = 2048;

// The descriptor the kernel image occupies in the child between the fd
// shuffle and execveat. It is >= kGuestOpenFiles, so once it has been closed
// (it is close-on-exec) the guest can never hold a descriptor with this
// number again: the seccomp rule "execveat only on this fd" can be used
// exactly once, by the launcher.
inline constexpr int kKernelExecFd = 2048;
static_assert(kKernelExecFd >= static_cast<int>(kGuestOpenFiles));

// RLIMIT_STACK (soft = hard): fixed, so that the address-space overhead
// below does not depend on the launcher's own stack limit.
inline constexpr std::uint64_t kGuestStackBytes = 8 * kMiB;

// RLIMIT_AS = memory + this. What the guest maps besides its memory: the
// kernel image (a few hundred KiB for the sample kernels), its stack (at
// most kGuestStackBytes), the vDSO and vvar pages, the shared_info page and
// up to kMaxMapsPerDomain mapped grant frames (4 MiB); 64 MiB leaves room
// for a larger kernel image.
inline constexpr std::uint64_t kAddressSpaceOverheadBytes = 64 * kMiB;
static_assert(kAddressSpaceOverheadBytes >=
              kGuestStackBytes + abi::kMaxMapsPerDomain * abi::kPageSize + 16 * kMiB);

// Memory cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) = memory +
// this. Guest memory pages are charged to the guest when it first touches
// them; the overhead covers its resident stack, image and bss, page tables
// for the memory mapping (2 MiB per GiB) and kernel objects charged to it
// (socket buffers of its channel).
inline constexpr std::uint64_t kCgroupMemoryOverheadBytes = 32 * kMiB;

// pids.max: the guest is one single-threaded process (seccomp refuses clone
// and fork anyway; this and RLIMIT_NPROC = 0 are the second and third line).
inline constexpr std::uint64_t kCgroupPidsMax = 1;

// Largest guest memory the sandbox accepts (the ABI's limit).
inline constexpr std::uint64_t kMaxGuestMemoryBytes = std::uint64_t{abi::kMaxMemoryMib} * kMiB;

// Largest kernel image accepted (it is copied into a sealed memfd).
inline constexpr std::uint64_t kMaxKernelImageBytes = 64 * kMiB;

[[nodiscard]] constexpr std::uint64_t address_space_limit(std::uint64_t memory_bytes) noexcept {
  return memory_bytes + kAddressSpaceOverheadBytes;  // memory_bytes <= kMaxGuestMemoryBytes
}
[[nodiscard]] constexpr std::uint64_t cgroup_memory_limit(std::uint64_t memory_bytes) noexcept {
  return memory_bytes + kCgroupMemoryOverheadBytes;
}

}  // namespace shype::sandbox
