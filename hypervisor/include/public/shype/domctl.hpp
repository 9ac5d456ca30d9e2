// domctl and sysctl (Op::domctl, Op::sysctl): domain management, for
// Domain-0 only (-EPERM for anyone else). Sub-command numbers follow Xen's
// XEN_DOMCTL_* / XEN_SYSCTL_* where Xen had the operation.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi {

enum class DomctlOp : std::uint32_t {
  createdomain = 1,      // DomctlCreateDomain; request fd: the kernel (a static ELF)
  destroydomain = 2,     // DomctlDomain
  pausedomain = 3,       // DomctlDomain
  unpausedomain = 4,     // DomctlDomain
  getdomaininfo = 5,     // DomctlDomain -> DomainInfo
  request_shutdown = 100,  // DomctlShutdown: ask the guest (a notification)
  console_read = 101,    // DomctlConsoleRead -> DomctlConsoleData + bytes
  console_write = 102,   // DomctlDomain + bytes (console input)
};

enum class SysctlOp : std::uint32_t {
  physinfo = 3,           // -> SysctlPhysinfo
  getdomaininfolist = 6,  // SysctlDomainList -> SysctlDomainList + DomainInfo[count]
};

inline constexpr std::size_t kDomainNameSize = 64;
inline constexpr std::size_t kCmdlineSize = 1024;
inline constexpr std::uint32_t kMaxMemoryMib = 64 * 1024;

inline constexpr std::uint32_t kCreateStartPaused = 1u << 0;

struct DomctlCreateDomain {
  std::uint32_t ssidref;     // IN: the domain's label (XSM checks it)
  std::uint32_t memory_mib;  // IN: 1 .. kMaxMemoryMib
  std::uint32_t vcpus;       // IN: 1
  std::uint32_t flags;       // IN: kCreateStartPaused
  char name[kDomainNameSize];    // IN: NUL-terminated, unique among domains
  char cmdline[kCmdlineSize];    // IN: NUL-terminated, the kernel's argv[1]
  domid_t domid;             // OUT
  std::uint16_t pad;
  std::uint32_t pad2;
};
static_assert(sizeof(DomctlCreateDomain) == 16 + 64 + 1024 + 8);

struct DomctlDomain {
  domid_t domid;
  std::uint16_t pad;
};

struct DomctlShutdown {
  domid_t domid;
  std::uint16_t pad;
  std::uint32_t reason;  // ShutdownReason
};

// Xen's XEN_DOMINF_* bits.
inline constexpr std::uint32_t kDomInfoDying = 1u << 0;
inline constexpr std::uint32_t kDomInfoShutdown = 1u << 2;
inline constexpr std::uint32_t kDomInfoPaused = 1u << 3;
inline constexpr std::uint32_t kDomInfoBlocked = 1u << 4;
inline constexpr std::uint32_t kDomInfoRunning = 1u << 5;
// shype: the domain was killed (signal, sandbox violation) - `c` in xm list.
inline constexpr std::uint32_t kDomInfoCrashed = 1u << 16;

struct DomainInfo {
  domid_t domid;
  std::uint16_t pad;
  std::uint32_t flags;            // kDomInfo*
  std::uint32_t ssidref;
  std::uint32_t shutdown_reason;  // ShutdownReason, when kDomInfoShutdown
  std::uint32_t vcpus;
  std::uint32_t host_pid;         // the process running the domain (0 if none)
  std::uint64_t memory_kib;
  std::uint64_t cpu_time_ns;
  char name[kDomainNameSize];
};
static_assert(sizeof(DomainInfo) == 40 + 64);

struct DomctlConsoleRead {
  domid_t domid;          // IN
  std::uint16_t pad;
  std::uint32_t max_bytes;  // IN: <= kMaxPayload - sizeof(DomctlConsoleData)
  std::uint64_t offset;     // IN: total bytes already read
};
struct DomctlConsoleData {
  std::uint64_t next_offset;  // OUT: offset after the returned bytes
  std::uint64_t lost;         // OUT: bytes overwritten before they were read
};
static_assert(sizeof(DomctlConsoleRead) == 16 && sizeof(DomctlConsoleData) == 16);

struct SysctlPhysinfo {
  std::uint32_t nr_cpus;
  std::uint32_t pad;
  std::uint64_t total_memory_kib;
  std::uint64_t free_memory_kib;
};

struct SysctlDomainList {
  domid_t first_domid;     // IN
  std::uint16_t pad;
  std::uint32_t max_domains;  // IN
  std::uint32_t count;        // OUT: DomainInfo records following
  std::uint32_t pad2;
};
static_assert(sizeof(SysctlDomainList) == 16);
inline constexpr std::uint32_t kMaxDomainInfoPerMessage =
    static_cast<std::uint32_t>((kMaxPayload - sizeof(SysctlDomainList)) / sizeof(DomainInfo));

}  // namespace shype::abi
