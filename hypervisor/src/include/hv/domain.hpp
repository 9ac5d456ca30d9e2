// A domain: Domain-0 (no process, id 0) or a guest, a sandboxed process
// running a paravirtual guest kernel, with everything the hypervisor owns
// for it (ARCHITECTURE 2).
//
// Life cycle, as Xen's:
//   running/blocked <-> paused          (pausedomain / unpausedomain: SIGSTOP / SIGCONT)
//   -> shut down (reason)               (the guest's SCHEDOP_shutdown; the process then exits)
//   -> crashed                          (killed by a signal, a sandbox violation, a
//                                        protocol violation, or exit without SCHEDOP_shutdown)
//   -> dying -> gone                    (destroydomain: SIGKILL, reap, release)
// A shut down or crashed domain keeps its id, name, label, console and
// memory until Domain-0 destroys it.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acm/ssidref.hpp"
#include "hv/channel.hpp"
#include "hv/console_ring.hpp"
#include "hv/event_channels.hpp"
#include "hv/grant_table.hpp"
#include "hv/mapping.hpp"
#include "hv/unique_fd.hpp"
#include "shype/abi.hpp"
#include "shype/domctl.hpp"
#include "shype/sched.hpp"

namespace shype::hv {

using Clock = std::chrono::steady_clock;

// The memory and pages a guest shares with the hypervisor.
struct GuestMemory {
  UniqueFd memory_fd;  // pseudo-physical memory (memfd, sealed against resizing)
  Mapping memory;      // the hypervisor's mapping of it
  UniqueFd shared_info_fd;
  Mapping shared_info;
  UniqueFd upcall_fd;  // eventfd the guest waits on
};

struct Domain {
  Domain(abi::domid_t domid, std::uint32_t serial_number, std::string domain_name,
         acm::Ssidref label)
      : id(domid), serial(serial_number), name(std::move(domain_name)), ssidref(label) {}

  // Identity.
  abi::domid_t id;
  std::uint32_t serial;  // unique per hypervisor run: tells epoll events of a domain from a later one
  std::string name;
  acm::Ssidref ssidref;
  std::uint32_t memory_mib = 0;
  std::uint32_t vcpus = 1;

  // What a save needs besides memory: the kernel exactly as it runs (one
  // shared copy per distinct image, kernel_store.hpp), its cmdline, and how
  // often the domain was restored before (shared_info.resume_count).
  std::shared_ptr<const std::vector<std::uint8_t>> kernel_image;
  std::string cmdline;
  std::uint32_t resume_count = 0;

  // Scheduling (scheduler_op, vcpu affinity): what Domain-0 set last.
  std::uint16_t credit_weight = abi::kCreditDefaultWeight;
  std::uint16_t credit_cap = 0;
  std::optional<std::array<std::uint64_t, abi::kMaxCpus / 64>> affinity;  // unset: any CPU

  // The process (none for Domain-0, and after it was reaped).
  pid_t pid = -1;
  UniqueFd pidfd;
  std::string cgroup;
  bool process_alive = false;
  std::uint32_t pidfd_events = 0;  // EPOLL* bits registered for the pidfd

  // The hypercall channel (the hypervisor's end) and whether epoll watches it.
  Channel channel;
  std::uint32_t channel_events = 0;  // EPOLL* bits registered (0: not registered)

  GuestMemory guest;
  EventChannels event_channels;  // event_channels.cpp
  GrantTable grants;             // grant_table.cpp

  // Console: output ring + log file, input waiting for the guest.
  ConsoleRing console;
  UniqueFd console_log;
  std::string console_input;

  // State.
  bool paused = false;
  bool shut_down = false;  // SCHEDOP_shutdown received (or crash)
  bool crashed = false;
  bool dying = false;      // destroydomain sent SIGKILL; released when reaped
  abi::ShutdownReason shutdown_reason = abi::ShutdownReason::poweroff;
  std::optional<Clock::time_point> kill_deadline;  // shut down but still running
  std::uint64_t rejected_requests = 0;             // for rate-limited logging
  mutable std::uint64_t last_cpu_time_ns = 0;      // kept after the process is gone

  // Timing (createdomain or restore_domain received, on the monotonic and
  // on the wall clock; the guest's first xen_version).
  Clock::time_point created_at{};
  std::uint64_t start_time_ns = 0;  // CLOCK_REALTIME, ns since the Unix epoch
  std::optional<Clock::time_point> connected_at;

  [[nodiscard]] bool is_domain0() const noexcept { return id == abi::kDomain0; }
  // Can still run (has a live process and is neither shut down nor dying).
  [[nodiscard]] bool active() const noexcept {
    return process_alive && !shut_down && !crashed && !dying;
  }
  // Records the start (created_at, start_time_ns) as now.
  void mark_started();
  // The XEN_DOMINF_* view Domain-0 gets (samples /proc for running/blocked
  // and CPU time).
  [[nodiscard]] abi::DomainInfo info() const;
};

}  // namespace shype::hv
