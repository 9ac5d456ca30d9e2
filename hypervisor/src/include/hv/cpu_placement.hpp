// Where Domain-0 and the guests run on the host's CPUs.
//
// By default the host's scheduler places everything. `dom0_cpus` in
// boot.conf (the analogue of Xen's dom0_max_vcpus + dom0_vcpus_pin) sets
// CPUs apart for Domain-0: the hypervisor process runs on them (and xend,
// which asks for Domain-0's affinity when it starts, runs its device
// backends there), and every guest starts on the other CPUs unless its
// configuration pins it (`cpus =`). A backend and its frontend then never
// take turns on one CPU; docs/devices-block.md says what that is worth.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <vector>

#include "hv/errno.hpp"
#include "shype/domctl.hpp"

namespace shype::hv {

using CpuList = std::vector<std::uint32_t>;  // CPU numbers, ascending

// The host's CPUs (configured), at most abi::kMaxCpus.
[[nodiscard]] std::uint32_t host_cpu_count();

// The CPUs of 0 .. nr_cpus-1 not in `taken`.
[[nodiscard]] CpuList other_cpus(const CpuList& taken, std::uint32_t nr_cpus);

// Sets the CPU affinity of every thread of process `pid` to `cpus`.
// Errno::ok, or why not (a thread that ends meanwhile is no error).
[[nodiscard]] Errno set_process_affinity(pid_t pid, const CpuList& cpus);

// `cpus` as a cpumap (bit n = CPU n).
[[nodiscard]] std::array<std::uint64_t, abi::kMaxCpus / 64> cpumap_of(const CpuList& cpus);

}  // namespace shype::hv
