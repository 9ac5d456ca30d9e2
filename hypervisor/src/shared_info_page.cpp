#include "hv/shared_info_page.hpp"

#include <time.h>

#include <atomic>
#include <cstring>

#include "shype/shared_info.hpp"

namespace shype::hv {
namespace {

abi::SharedInfo* page_of(const Mapping& page) {
  // SAFETY: the mapping is page-aligned (mmap) and at least
  // sizeof(SharedInfo) == kPageSize bytes (precondition); SharedInfo is a
  // standard-layout struct of integers, so any bytes are a valid value.
  return reinterpret_cast<abi::SharedInfo*>(page.data());
}

std::uint64_t to_ns(const timespec& t) {
  return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(t.tv_nsec);
}

}  // namespace

void init_shared_info(const Mapping& page, abi::domid_t domid, std::uint64_t memory_bytes,
                      std::uint32_t resume_count) {
  std::memset(page.data(), 0, sizeof(abi::SharedInfo));
  abi::SharedInfo* info = page_of(page);
  info->domid = domid;
  info->memory_bytes = memory_bytes;
  info->resume_count = resume_count;
  publish_time(page);
  // The magic last: a guest that sees it sees the rest.
  std::atomic_ref<std::uint32_t>(info->magic).store(abi::kSharedInfoMagic,
                                                    std::memory_order_release);
}

void publish_time(const Mapping& page) {
  abi::SharedInfo* info = page_of(page);
  timespec mono{};
  timespec real{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  ::clock_gettime(CLOCK_REALTIME, &real);
  // The guest may read concurrently; each field is written atomically.
  std::atomic_ref<std::uint64_t>(info->system_time_ns).store(to_ns(mono), std::memory_order_relaxed);
  std::atomic_ref<std::uint64_t>(info->wallclock_sec)
      .store(static_cast<std::uint64_t>(real.tv_sec), std::memory_order_relaxed);
  std::atomic_ref<std::uint32_t>(info->wallclock_nsec)
      .store(static_cast<std::uint32_t>(real.tv_nsec), std::memory_order_release);
}

void set_start_info(const Mapping& page, std::uint32_t flags, std::uint32_t console_evtchn,
                    std::uint32_t store_evtchn) {
  abi::SharedInfo* info = page_of(page);
  std::atomic_ref<std::uint32_t>(info->console_evtchn).store(console_evtchn, std::memory_order_relaxed);
  std::atomic_ref<std::uint32_t>(info->store_evtchn).store(store_evtchn, std::memory_order_relaxed);
  std::atomic_ref<std::uint32_t>(info->start_flags).store(flags, std::memory_order_release);
}

}  // namespace shype::hv
