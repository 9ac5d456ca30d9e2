#include "hv/domain.hpp"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "hv/proc_stat.hpp"

namespace shype::hv {
namespace {

std::uint64_t own_cpu_time_ns() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  const auto ns = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(t.tv_usec) * 1'000ull;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
}

std::uint64_t wall_clock_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace

void Domain::mark_started() {
  created_at = Clock::now();
  start_time_ns = wall_clock_ns();
}

abi::DomainInfo Domain::info() const {
  abi::DomainInfo info{};
  info.domid = id;
  info.start_time_ns = start_time_ns;
  const auto up = Clock::now() - created_at;
  info.uptime_ns = up.count() > 0
                       ? static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(up).count())
                       : 0;
  info.ssidref = ssidref;
  info.vcpus = vcpus;
  info.memory_kib = std::uint64_t{memory_mib} * 1024;
  std::memcpy(info.name, name.data(), std::min(name.size(), sizeof info.name - 1));

  if (is_domain0()) {
    // Domain-0 is the toolstack's side of the hypervisor: always running;
    // its CPU time is the hypervisor's own.
    info.flags = abi::kDomInfoRunning;
    info.cpu_time_ns = own_cpu_time_ns();
    return info;
  }

  if (dying) info.flags |= abi::kDomInfoDying;
  if (crashed) {
    info.flags |= abi::kDomInfoCrashed | abi::kDomInfoShutdown;
    info.shutdown_reason = static_cast<std::uint32_t>(abi::ShutdownReason::crash);
  } else if (shut_down) {
    info.flags |= abi::kDomInfoShutdown;
    info.shutdown_reason = static_cast<std::uint32_t>(shutdown_reason);
  }
  if (process_alive) {
    info.host_pid = static_cast<std::uint32_t>(pid);
    if (const auto sample = sample_process(pid)) {
      last_cpu_time_ns = sample->cpu_time_ns;
      if (!shut_down && !crashed && !dying) {
        if (paused || sample->state == 'T' || sample->state == 't') {
          info.flags |= abi::kDomInfoPaused;
        } else if (sample->state == 'R') {
          info.flags |= abi::kDomInfoRunning;
        } else {
          info.flags |= abi::kDomInfoBlocked;
        }
      }
    } else if (paused) {
      info.flags |= abi::kDomInfoPaused;
    }
  }
  info.cpu_time_ns = last_cpu_time_ns;
  return info;
}

}  // namespace shype::hv
