// shared_info: the page the hypervisor shares with each guest (kSharedInfoFd,
// mapped at kSharedInfoAddress). The hypervisor sets event-channel pending
// bits and upcall_pending with atomic operations and then signals kUpcallFd;
// the guest clears them with atomic operations. Time is written by the
// hypervisor on every delivery and when the domain starts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi {

inline constexpr std::uint32_t kMaxEventChannels = 1024;
inline constexpr std::uint32_t kSharedInfoMagic = 0x53484946u;  // "FIHS"

struct SharedInfo {
  std::uint32_t magic;        // kSharedInfoMagic
  std::uint32_t domid;        // the guest's own domain id
  std::uint64_t system_time_ns;    // CLOCK_MONOTONIC at the last update
  std::uint64_t wallclock_sec;     // CLOCK_REALTIME at the last update
  std::uint32_t wallclock_nsec;
  std::uint32_t upcall_pending;    // nonzero: look at evtchn_pending
  std::uint64_t memory_bytes;      // size of the guest's memory (kMemoryFd)
  std::uint64_t evtchn_pending[kMaxEventChannels / 64];
  std::uint64_t evtchn_mask[kMaxEventChannels / 64];
  // ABI 1.1: how often this domain was restored from a saved image; 0 on a
  // fresh start. Nonzero: the guest is resuming, its memory holds what it
  // had when it suspended (shype::guest::resumed()).
  std::uint32_t resume_count;
  std::uint32_t pad;
  // ABI 1.2: set by Domain-0 before the guest first runs (domctl
  // set_start_info; shype/io/xenbus.hpp): kStartDevices when the two ports
  // below are event channels bound to Domain-0 for the console ring and
  // xenstore. Zero otherwise.
  std::uint32_t start_flags;
  std::uint32_t console_evtchn;
  std::uint32_t store_evtchn;
  std::uint32_t pad2;
  std::uint8_t reserved[kPageSize - 64 - 2 * std::size_t{kMaxEventChannels / 8}];
};
static_assert(sizeof(SharedInfo) == kPageSize);
static_assert(offsetof(SharedInfo, resume_count) == 40 + 2 * std::size_t{kMaxEventChannels / 8});

}  // namespace shype::abi
