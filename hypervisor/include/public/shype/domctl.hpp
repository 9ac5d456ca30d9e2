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
  setvcpuaffinity = 9,   // DomctlVcpuAffinity (XEN_DOMCTL_setvcpuaffinity)
  scheduler_op = 16,     // DomctlSchedulerOp (XEN_DOMCTL_scheduler_op)
  getvcpuaffinity = 25,  // DomctlVcpuAffinity -> DomctlVcpuAffinity
  request_shutdown = 100,  // DomctlShutdown: ask the guest (a notification)
  console_read = 101,    // DomctlConsoleRead -> DomctlConsoleData + bytes
  console_write = 102,   // DomctlDomain + bytes (console input)
  // ABI 1.1: save and restore (shype/save_image.hpp is the image format).
  save_domain = 103,     // DomctlSaveDomain + fd (record) -> DomctlSaveDomain + fd (image)
  restore_domain = 104,  // DomctlRestoreDomain + fd (image) -> DomctlRestoreDomain
  // ABI 1.2: where a guest finds its console ring and xenstore.
  set_start_info = 105,  // DomctlStartInfo
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

// ABI 1.1 added start_time_ns and uptime_ns (1.0's DomainInfo was the first
// 104 bytes).
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
  // When the domain was created or restored (Domain-0: when the hypervisor
  // started): CLOCK_REALTIME in ns since the Unix epoch (xend's start_time).
  std::uint64_t start_time_ns;
  // CLOCK_MONOTONIC time since then, as of this answer (xm uptime).
  std::uint64_t uptime_ns;
};
static_assert(sizeof(DomainInfo) == 40 + 64 + 16);

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

// --- scheduler_op (16): the credit scheduler's weight and cap ----------------
// (Xen's xen_domctl_scheduler_op with XEN_SCHEDULER_CREDIT). Enforced through
// the domain's cpu cgroup (cgroup v1: cpu.shares = weight * 4, cap as
// cpu.cfs_quota_us per 100 ms cpu.cfs_period_us; v2: cpu.weight, cpu.max).
inline constexpr std::uint32_t kSchedulerCredit = 5;  // XEN_SCHEDULER_CREDIT
inline constexpr std::uint32_t kSchedOpPutInfo = 0;   // XEN_DOMCTL_SCHEDOP_putinfo
inline constexpr std::uint32_t kSchedOpGetInfo = 1;   // XEN_DOMCTL_SCHEDOP_getinfo
inline constexpr std::uint16_t kCreditDefaultWeight = 256;
inline constexpr std::uint16_t kCreditWeightKeep = 0;    // putinfo: leave the weight as it is
inline constexpr std::uint16_t kCreditCapKeep = 0xffff;  // putinfo: leave the cap as it is

struct DomctlSchedulerOp {
  domid_t domid;
  std::uint16_t pad;
  std::uint32_t sched_id;  // kSchedulerCredit
  std::uint32_t cmd;       // kSchedOpPutInfo / kSchedOpGetInfo
  std::uint16_t weight;    // 1..65535 (default 256); putinfo: kCreditWeightKeep keeps it
  std::uint16_t cap;       // percent of one CPU, 0 = no cap; putinfo: kCreditCapKeep keeps it
};
static_assert(sizeof(DomctlSchedulerOp) == 16);

// --- setvcpuaffinity (9) / getvcpuaffinity (25) -------------------------------
// The host CPUs a VCPU (the guest process) may run on: bit n of cpumap is
// CPU n (Xen's xenctl_cpumap, inline).
inline constexpr std::uint32_t kMaxCpus = 1024;

struct DomctlVcpuAffinity {
  domid_t domid;
  std::uint16_t pad;
  std::uint32_t vcpu;     // 0 (one VCPU per domain)
  std::uint32_t nr_cpus;  // set: bits of cpumap given (1..kMaxCpus); get OUT: the host's CPUs
  std::int32_t cpu;       // get OUT: the CPU the VCPU last ran on, -1 if none; set: 0
  std::uint64_t cpumap[kMaxCpus / 64];
};
static_assert(sizeof(DomctlVcpuAffinity) == 16 + kMaxCpus / 8);

// --- save_domain (103) / restore_domain (104) --------------------------------
inline constexpr std::uint32_t kMaxToolstackRecordBytes = 16u * 1024u * 1024u;
inline constexpr std::uint32_t kRestorePaused = 1u << 0;

// save_domain: the domain must be shut down with reason suspend (its
// process gone). Request fd: the toolstack record (a sealed memfd of
// record_size bytes, possibly empty). Response: image_size and one fd, the
// image (a sealed memfd). The domain is destroyed once the image is made.
struct DomctlSaveDomain {
  domid_t domid;  // IN
  std::uint16_t pad;
  std::uint32_t record_size;  // IN: 0..kMaxToolstackRecordBytes
  std::uint64_t image_size;   // OUT
};
static_assert(sizeof(DomctlSaveDomain) == 16);

// restore_domain: request fd: the image (a sealed memfd of image_size
// bytes). ssidref is the label's ssidref under the active policy, as the
// toolstack looked it up by the label name the image records.
struct DomctlRestoreDomain {
  std::uint32_t ssidref;     // IN
  std::uint32_t flags;       // IN: kRestorePaused
  std::uint64_t image_size;  // IN
  domid_t domid;             // OUT: the restored domain's new id
  std::uint16_t pad;
  std::uint32_t pad2;
};
static_assert(sizeof(DomctlRestoreDomain) == 24);

// --- set_start_info (105) ------------------------------------------------------
// Writes the device bootstrap fields of a paused guest's shared_info
// (start_flags, console_evtchn, store_evtchn; shype/io/xenbus.hpp). With
// kStartDevices both ports must be ports of the domain whose remote end is
// Domain-0 (unbound for it or bound to it). flags 0 clears them.
struct DomctlStartInfo {
  domid_t domid;
  std::uint16_t pad;
  std::uint32_t flags;           // 0 or io::kStartDevices
  std::uint32_t console_evtchn;  // with kStartDevices: 1 .. kMaxEventChannels - 1
  std::uint32_t store_evtchn;    // likewise, another port
};
static_assert(sizeof(DomctlStartInfo) == 16);

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
