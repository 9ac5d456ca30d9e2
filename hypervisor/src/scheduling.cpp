// domctl scheduler_op, setvcpuaffinity and getvcpuaffinity: Xen's credit
// scheduler parameters and VCPU pinning, carried out by the host's
// scheduler on the domain's process (docs/hypercall-abi.md).
//
//  - weight and cap go to the domain's cpu cgroup (sandbox/cgroup.hpp says
//    how they map); a domain without one (no `cgroup =` in boot.conf, or no
//    cpu controller on the host) keeps the defaults, and anything else is
//    -EOPNOTSUPP rather than a setting that would silently do nothing;
//  - the affinity of VCPU 0 is the CPU affinity of every thread of the
//    guest process (sched_setaffinity).
// There is no XSM hook for either (ACM had no opinion on scheduling; the
// hook list has none): they are Domain-0 operations like pause.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <sched.h>
#include <unistd.h>

#include "hv/cpu_placement.hpp"
#include "hv/hypervisor.hpp"
#include "hv/proc_stat.hpp"
#include "hv/errno_text.hpp"
#include "sandbox/cgroup.hpp"

namespace shype::hv {
namespace {

// The threads of a process (host tids), from /proc/<pid>/task.
std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> tids;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    const std::string name = entry.path().filename().string();
    pid_t tid = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (ec == std::errc() && end == name.data() + name.size() && tid > 0) tids.push_back(tid);
  }
  if (tids.empty()) tids.push_back(pid);
  return tids;
}

void to_cpu_set(const std::uint64_t* map, std::uint32_t bits, cpu_set_t& set) {
  CPU_ZERO(&set);
  for (std::uint32_t cpu = 0; cpu < bits && cpu < CPU_SETSIZE; ++cpu) {
    if ((map[cpu / 64] >> (cpu % 64)) & 1u) CPU_SET(cpu, &set);
  }
}

void from_cpu_set(const cpu_set_t& set, std::uint64_t* map) {
  for (std::uint32_t cpu = 0; cpu < abi::kMaxCpus && cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) map[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
  }
}

static_assert(abi::kMaxCpus <= CPU_SETSIZE, "a cpumap must fit a cpu_set_t");

// Every thread of `pid` on `set`; 0 or the errno of the first refusal (a
// thread that ends meanwhile is no refusal).
int set_threads_affinity(pid_t pid, const cpu_set_t& set) {
  for (const pid_t tid : threads_of(pid)) {
    if (::sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) return errno;
  }
  return 0;
}

}  // namespace

std::uint32_t host_cpu_count() {
  const long cpus = ::sysconf(_SC_NPROCESSORS_CONF);
  if (cpus < 1) return 1;
  return static_cast<std::uint32_t>(std::min<long>(cpus, abi::kMaxCpus));
}

CpuList other_cpus(const CpuList& taken, std::uint32_t nr_cpus) {
  CpuList rest;
  for (std::uint32_t cpu = 0; cpu < nr_cpus; ++cpu) {
    if (std::find(taken.begin(), taken.end(), cpu) == taken.end()) rest.push_back(cpu);
  }
  return rest;
}

std::array<std::uint64_t, abi::kMaxCpus / 64> cpumap_of(const CpuList& cpus) {
  std::array<std::uint64_t, abi::kMaxCpus / 64> map{};
  for (const std::uint32_t cpu : cpus) {
    if (cpu < abi::kMaxCpus) map[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
  }
  return map;
}

Errno set_process_affinity(pid_t pid, const CpuList& cpus) {
  const auto map = cpumap_of(cpus);
  cpu_set_t set;
  to_cpu_set(map.data(), abi::kMaxCpus, set);
  const int err = set_threads_affinity(pid, set);
  return err == 0 ? Errno::ok : from_errno(err);
}

Reply Hypervisor::handle(Domain& caller, wire::SchedulerOp& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/true);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  abi::DomctlSchedulerOp out = body.args;
  if (body.args.cmd == abi::kSchedOpGetInfo) {
    if (const int rc = xsm_->domain_control(xsm::Hook::domain_getinfo, ref(domain)); rc != 0) {
      return Reply::error(from_negative_errno(rc), "denied by the security policy");
    }
    out.weight = domain.credit_weight;
    out.cap = domain.credit_cap;
    return Reply::of(out);
  }
  if (domain.is_domain0()) {
    return Reply::error(Errno::inval, "Domain-0 is the hypervisor itself; the host schedules it");
  }
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  if (body.args.weight == abi::kCreditWeightKeep && body.args.cap == abi::kCreditCapKeep) {
    out.weight = domain.credit_weight;
    out.cap = domain.credit_cap;
    return Reply::of(out);
  }
  sandbox::CpuLimits limits{domain.credit_weight, domain.credit_cap};
  if (body.args.weight != abi::kCreditWeightKeep) limits.weight = body.args.weight;
  if (body.args.cap != abi::kCreditCapKeep) limits.cap = body.args.cap;
  const std::string cpu_dir = sandbox::cpu_cgroup_dir(domain.cgroup);
  if (cpu_dir.empty()) {
    if (limits == sandbox::CpuLimits{}) {  // the defaults need no cgroup
      domain.credit_weight = limits.weight;
      domain.credit_cap = limits.cap;
      out.weight = limits.weight;
      out.cap = limits.cap;
      return Reply::of(out);
    }
    return Reply::error(
        Errno::opnotsupp,
        describe(domain) +
            " has no cpu cgroup to enforce a weight or cap in (set 'cgroup = <parent>' in boot.conf; the host needs the cpu controller)");
  }
  if (auto applied = sandbox::apply_cpu_limits(cpu_dir, limits); !applied) {
    return Reply::error(Errno::io, applied.error().message);
  }
  domain.credit_weight = limits.weight;
  domain.credit_cap = limits.cap;
  log_.info(describe(domain) + " scheduling: weight " + std::to_string(limits.weight) + ", cap " +
            std::to_string(limits.cap));
  out.weight = limits.weight;
  out.cap = limits.cap;
  return Reply::of(out);
}

Reply Hypervisor::handle(Domain& caller, wire::SetVcpuAffinity& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  cpu_set_t set;
  to_cpu_set(body.args.cpumap, body.args.nr_cpus, set);
  if (const int err = set_threads_affinity(domain.pid, set); err != 0) {
    return Reply::error(from_errno(err),
                        "sched_setaffinity: " + errno_text(err) +
                            (err == EINVAL ? " (no CPU of the map is online and allowed)" : ""));
  }
  std::array<std::uint64_t, abi::kMaxCpus / 64> map{};
  std::copy(std::begin(body.args.cpumap), std::end(body.args.cpumap), map.begin());
  domain.affinity = map;
  log_.info(describe(domain) + ": VCPU 0 affinity set");
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::GetVcpuAffinity& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/true);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (const int rc = xsm_->domain_control(xsm::Hook::domain_getinfo, ref(domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "denied by the security policy");
  }
  abi::DomctlVcpuAffinity out{};
  out.domid = body.args.domid;
  out.vcpu = 0;
  out.nr_cpus = host_cpu_count();
  out.cpu = -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  bool known = false;
  if (domain.is_domain0()) {
    // Domain-0 is the hypervisor process (as for its CPU time).
    known = ::sched_getaffinity(0, sizeof set, &set) == 0;
    out.cpu = ::sched_getcpu();
  } else if (domain.process_alive) {
    known = ::sched_getaffinity(domain.pid, sizeof set, &set) == 0;
    if (const auto sample = sample_process(domain.pid)) out.cpu = sample->processor;
  }
  if (known) {
    from_cpu_set(set, out.cpumap);
  } else if (domain.affinity) {
    std::copy(domain.affinity->begin(), domain.affinity->end(), std::begin(out.cpumap));
  } else {
    for (std::uint32_t cpu = 0; cpu < out.nr_cpus; ++cpu) {
      out.cpumap[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
    }
  }
  return Reply::of(out);
}

}  // namespace shype::hv
