// domctl scheduler_op, setvcpuaffinity, getvcpuaffinity; CPU lists.
#include <cerrno>
#include <charconv>
#include <set>

#include "xenctrl/connection.hpp"

namespace shype::xc {

bool VcpuAffinity::any() const noexcept {
  if (nr_cpus == 0 || cpus.size() < nr_cpus) return false;
  for (std::uint32_t i = 0; i < nr_cpus; ++i) {
    if (cpus[i] != i) return false;
  }
  return true;
}

Result<std::vector<std::uint32_t>> parse_cpu_list(std::string_view text, std::uint32_t nr_cpus) {
  const std::string op = "parse_cpu_list";
  if (nr_cpus == 0 || nr_cpus > abi::kMaxCpus) {
    return make_error(
        EINVAL, op,
        "nr_cpus " + std::to_string(nr_cpus) + " outside 1.." + std::to_string(abi::kMaxCpus));
  }
  std::set<std::uint32_t> cpus;
  if (text == "all") {
    for (std::uint32_t cpu = 0; cpu < nr_cpus; ++cpu)
      cpus.insert(cpu);
    return std::vector<std::uint32_t>(cpus.begin(), cpus.end());
  }
  const auto number = [&](std::string_view item, std::string_view digits) -> Result<std::uint32_t> {
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      return make_error(EINVAL, op, "'" + std::string(item) + "' is not a CPU or a range of CPUs");
    }
    if (value >= nr_cpus) {
      return make_error(EINVAL, op,
                        "CPU " + std::to_string(value) + " in '" + std::string(item) +
                            "' does not exist (the host has " + std::to_string(nr_cpus) + ")");
    }
    return value;
  };
  std::set<std::uint32_t> removed;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) return make_error(EINVAL, op, "empty item in '" + std::string(text) + "'");
    if (item.front() == '^') {
      auto cpu = number(item, item.substr(1));
      if (!cpu) return tl::unexpected(cpu.error());
      removed.insert(*cpu);
      continue;
    }
    const std::size_t dash = item.find('-');
    auto first = number(item, item.substr(0, dash));
    if (!first) return tl::unexpected(first.error());
    auto last = dash == std::string_view::npos ? first : number(item, item.substr(dash + 1));
    if (!last) return tl::unexpected(last.error());
    if (*last < *first) {
      return make_error(EINVAL, op, "range '" + std::string(item) + "' runs backwards");
    }
    for (std::uint32_t cpu = *first; cpu <= *last; ++cpu)
      cpus.insert(cpu);
  }
  for (std::uint32_t cpu : removed)
    cpus.erase(cpu);
  if (cpus.empty()) return make_error(EINVAL, op, "'" + std::string(text) + "' leaves no CPU");
  return std::vector<std::uint32_t>(cpus.begin(), cpus.end());
}

std::string format_cpu_list(std::span<const std::uint32_t> cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1)
      ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

Result<SchedCredit> Connection::sched_credit_get(abi::domid_t domid) {
  hv::wire::SchedulerOp body;
  body.args.domid = domid;
  body.args.sched_id = abi::kSchedulerCredit;
  body.args.cmd = abi::kSchedOpGetInfo;
  auto message = call_ok("scheduler_op", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlSchedulerOp>(message->payload);
  if (!out) return make_error(EPROTO, "scheduler_op", "response is not a DomctlSchedulerOp");
  return SchedCredit{out->weight, out->cap};
}

Result<SchedCredit> Connection::sched_credit_set(abi::domid_t domid,
                                                 std::optional<std::uint16_t> weight,
                                                 std::optional<std::uint16_t> cap) {
  if (weight && *weight == abi::kCreditWeightKeep) {
    return make_error(EINVAL, "scheduler_op", "weight must be 1..65535");
  }
  if (cap && *cap == abi::kCreditCapKeep) {
    return make_error(EINVAL, "scheduler_op", "cap must be 0..65534");
  }
  hv::wire::SchedulerOp body;
  body.args.domid = domid;
  body.args.sched_id = abi::kSchedulerCredit;
  body.args.cmd = abi::kSchedOpPutInfo;
  body.args.weight = weight.value_or(abi::kCreditWeightKeep);
  body.args.cap = cap.value_or(abi::kCreditCapKeep);
  auto message = call_ok("scheduler_op", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlSchedulerOp>(message->payload);
  if (!out) return make_error(EPROTO, "scheduler_op", "response is not a DomctlSchedulerOp");
  return SchedCredit{out->weight, out->cap};
}

Result<VcpuAffinity> Connection::vcpu_affinity(abi::domid_t domid, std::uint32_t vcpu) {
  hv::wire::GetVcpuAffinity body;
  body.args.domid = domid;
  body.args.vcpu = vcpu;
  auto message = call_ok("getvcpuaffinity", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlVcpuAffinity>(message->payload);
  if (!out || out->nr_cpus > abi::kMaxCpus) {
    return make_error(EPROTO, "getvcpuaffinity", "response is not a DomctlVcpuAffinity");
  }
  VcpuAffinity affinity;
  affinity.nr_cpus = out->nr_cpus;
  affinity.cpu = out->cpu;
  for (std::uint32_t cpu = 0; cpu < abi::kMaxCpus; ++cpu) {
    if ((out->cpumap[cpu / 64] >> (cpu % 64)) & 1u) affinity.cpus.push_back(cpu);
  }
  return affinity;
}

Status Connection::set_vcpu_affinity(abi::domid_t domid, std::uint32_t vcpu,
                                     std::span<const std::uint32_t> cpus) {
  hv::wire::SetVcpuAffinity body;
  body.args.domid = domid;
  body.args.vcpu = vcpu;
  std::uint32_t highest = 0;
  for (std::uint32_t cpu : cpus) {
    if (cpu >= abi::kMaxCpus) {
      return make_error(
          EINVAL, "setvcpuaffinity",
          "CPU " + std::to_string(cpu) + " is beyond " + std::to_string(abi::kMaxCpus - 1));
    }
    body.args.cpumap[cpu / 64] |= std::uint64_t{1} << (cpu % 64);
    highest = std::max(highest, cpu);
  }
  if (cpus.empty()) return make_error(EINVAL, "setvcpuaffinity", "no CPU given");
  body.args.nr_cpus = highest + 1;
  auto message = call_ok("setvcpuaffinity", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

}  // namespace shype::xc
