// domctl and sysctl: Domain-0's domain management (the decoder admits
// these from Domain-0 connections only).
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include "hv/cpu_placement.hpp"
#include "hv/pidfd.hpp"
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "acm/ssidref.hpp"
#include "hv/guest_builder.hpp"
#include "hv/shared_info_page.hpp"
#include "hv/hypervisor.hpp"
#include "hv/proc_stat.hpp"
#include "hv/sealed_memfd.hpp"
#include "hv/errno_text.hpp"

namespace shype::hv {
namespace {

constexpr std::size_t kMaxConsoleInput = 64 * 1024;
// pausedomain returns once the process is really stopped (bounded).
constexpr auto kPauseWait = std::chrono::milliseconds(500);

// MemAvailable of /proc/meminfo (kB), or 0.
std::uint64_t available_memory_kib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit) {
    if (key == "MemAvailable:") return value;
  }
  return 0;
}

const char* reason_name(std::uint32_t reason) {
  switch (static_cast<abi::ShutdownReason>(reason)) {
    case abi::ShutdownReason::poweroff: return "poweroff";
    case abi::ShutdownReason::reboot: return "reboot";
    case abi::ShutdownReason::suspend: return "suspend";
    case abi::ShutdownReason::crash: return "crash";
  }
  return "unknown";
}

}  // namespace

Hypervisor::Target Hypervisor::target(const Domain& caller, abi::domid_t domid,
                                      bool allow_domain0) {
  const abi::domid_t id = domid == abi::kDomidSelf ? caller.id : domid;
  Target result;
  result.domain = domains_.find(id);
  if (result.domain == nullptr) {
    result.failure = Reply::error(Errno::srch, "no domain " + std::to_string(id));
  } else if (result.domain->is_domain0() && !allow_domain0) {
    result.domain = nullptr;
    result.failure = Reply::error(Errno::inval, "not an operation on Domain-0");
  }
  return result;
}

std::string Hypervisor::refusal_text(const std::string& name, acm::Ssidref ssidref,
                                     std::uint64_t audited_before) const {
  const std::string label = xsm_->label_of(ssidref);
  std::string text = "domain '" + name + "' with ssidref " + acm::hex32(ssidref) +
                     (label.empty() ? "" : " (" + label + ")") + " refused by the " +
                     std::string(xsm_->module_name()) + " module";
  // The audit record of the denial says which rule decided.
  std::uint64_t next = 0;
  for (const std::string& line : audit_.read_since(audited_before + 1, 4, next)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.contains("reason") && record["reason"].is_string()) {
      text += ": " + record["reason"].get<std::string>();
      if (record.contains("seq")) text += " (audit record " + record["seq"].dump() + ")";
      break;
    }
  }
  return text;
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::CreateDomain& body, Fds& fds) {
  const std::string name(body.name());
  if (domains_.find_by_name(name) != nullptr) {
    return Reply::error(Errno::exist, "a domain named '" + name + "' exists");
  }
  const auto domid = domains_.next_domid();
  if (!domid) return Reply::error(Errno::nospc, "every domain id is in use");

  auto domain =
      std::make_unique<Domain>(*domid, domains_.next_serial(), name, body.args.ssidref);
  domain->mark_started();
  const xsm::DomainRef created = ref(*domain);
  const std::uint64_t audited_before = audit_.records_written();
  if (const int rc = xsm_->domain_create(created); rc != 0) {
    const std::string text = refusal_text(name, body.args.ssidref, audited_before);
    log_.warning("createdomain: " + text);
    return Reply::error(from_negative_errno(rc), text);
  }

  // The kernel is read once; the sandbox gets a sealed copy of exactly
  // these bytes, which a save carries later (kernel_store.hpp).
  const auto refuse_built = [&](Errno status, const std::string& why) {
    xsm_->domain_create_failed(created);
    log_.error("createdomain '" + name + "': " + why);
    return Reply::error(status, why);
  };
  auto kernel = kernels_.read(fds.at(0).get(), abi::kSaveMaxKernelBytes);
  if (!kernel) return refuse_built(kernel.error().status, kernel.error().reason);
  fds.clear();  // Domain-0's descriptor is not needed any more
  domain->kernel_image = *kernel;
  domain->cmdline = std::string(body.cmdline());
  if (Reply failed_start = start_domain(*domain, created, body.args.memory_mib,
                                        (body.args.flags & abi::kCreateStartPaused) != 0, {});
      failed(failed_start.status)) {
    return failed_start;
  }
  Domain& stored = domains_.insert(std::move(domain));
  update_interest(stored);
  watch_process(stored);
  const std::string label = xsm_->label_of(stored.ssidref);
  log_.info(describe(stored) + " created: ssidref " + acm::hex32(stored.ssidref) +
            (label.empty() ? "" : " (" + label + ")") + ", " + std::to_string(stored.memory_mib) +
            " MiB, pid " + std::to_string(stored.pid) + (stored.paused ? ", paused" : ""));

  abi::DomctlCreateDomain out = body.args;
  out.domid = stored.id;
  return Reply::of(out);
}

Reply Hypervisor::start_domain(Domain& domain, const xsm::DomainRef& admitted,
                               std::uint32_t memory_mib, bool paused,
                               std::span<const std::uint8_t> initial_memory) {
  const char* op = initial_memory.empty() ? "createdomain" : "restore_domain";
  auto kernel_fd = make_sealed_memfd("shype-kernel", *domain.kernel_image);
  if (!kernel_fd) {
    xsm_->domain_create_failed(admitted);
    log_.error(std::string(op) + " '" + domain.name + "': kernel copy: " + kernel_fd.error());
    return Reply::error(Errno::nomem, "kernel copy: " + kernel_fd.error());
  }
  GuestSpec spec;
  spec.cmdline = domain.cmdline;
  spec.memory_mib = memory_mib;
  spec.start_paused = paused;
  spec.kernel_fd = kernel_fd->get();
  spec.cgroup_parent = config_.cgroup_parent;
  spec.console_log = console_log_dir(config_.root) / (domain.name + ".log");
  spec.initial_memory = initial_memory;
  spec.resume_count = domain.resume_count;
  if (auto built = build_guest(domain, spec); !built) {
    if (domain.process_alive) (void)pidfd_send_signal(domain.pidfd.get(), SIGKILL);
    xsm_->domain_create_failed(admitted);
    log_.error(std::string(op) + " '" + domain.name + "': " + built.error().message);
    return Reply::error(built.error().status, built.error().message);
  }
  if (!config_.guest_cpus.empty()) {
    // Off Domain-0's CPUs (boot.conf dom0_cpus); a configuration's `cpus`
    // comes later through setvcpuaffinity.
    if (const Errno placed = set_process_affinity(domain.pid, config_.guest_cpus); placed != Errno::ok) {
      log_.warning(std::string(op) + " '" + domain.name + "': not placed off Domain-0's CPUs: " +
                   errno_name(placed));
    } else {
      domain.affinity = cpumap_of(config_.guest_cpus);
    }
  }
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::DestroyDomain& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/false);
  if (t.domain == nullptr) return std::move(t.failure);
  if (const int rc = xsm_->domain_control(xsm::Hook::domain_destroy, ref(*t.domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "denied by the security policy");
  }
  destroy_domain(*t.domain);  // may erase it
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::PauseDomain& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  if (const int rc = xsm_->domain_control(xsm::Hook::domain_pause, ref(domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "denied by the security policy");
  }
  if (domain.paused) return Reply::ok();
  if (pidfd_send_signal(domain.pidfd.get(), SIGSTOP) != 0) {
    return Reply::error(from_errno(errno), "SIGSTOP: " + errno_text(errno));
  }
  domain.paused = true;
  // Xen's pause is synchronous: answer once the process has stopped.
  const auto deadline = Clock::now() + kPauseWait;
  while (Clock::now() < deadline) {
    const auto sample = sample_process(domain.pid);
    if (!sample || sample->state == 'T' || sample->state == 't' || sample->state == 'Z') break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  log_.info(describe(domain) + " paused");
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::UnpauseDomain& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  if (const int rc = xsm_->domain_control(xsm::Hook::domain_unpause, ref(domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "denied by the security policy");
  }
  if (!domain.paused) return Reply::ok();
  if (pidfd_send_signal(domain.pidfd.get(), SIGCONT) != 0) {
    return Reply::error(from_errno(errno), "SIGCONT: " + errno_text(errno));
  }
  domain.paused = false;
  log_.info(describe(domain) + " unpaused");
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::SetStartInfo& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  // The guest reads these fields once, at start: only a paused domain may
  // still be given them.
  if (!domain.paused) return Reply::error(Errno::busy, describe(domain) + " is not paused");
  if (!domain.guest.shared_info.valid()) {
    return Reply::error(Errno::inval, describe(domain) + " has no shared_info");
  }
  if (body.args.flags != 0) {
    for (const auto port : {body.args.console_evtchn, body.args.store_evtchn}) {
      const EventChannels::Port* p = domain.event_channels.find(port);
      const bool to_domain0 =
          p != nullptr && p->remote_dom == abi::kDomain0 &&
          (p->state == abi::EvtchnState::unbound || p->state == abi::EvtchnState::interdomain);
      if (!to_domain0) {
        return Reply::error(Errno::inval, "port " + std::to_string(port) + " of " +
                                              describe(domain) +
                                              " is not a channel to Domain-0");
      }
    }
  }
  set_start_info(domain.guest.shared_info, body.args.flags, body.args.console_evtchn,
                 body.args.store_evtchn);
  log_.info(describe(domain) + " start info: flags " + std::to_string(body.args.flags) +
            ", console port " + std::to_string(body.args.console_evtchn) + ", store port " +
            std::to_string(body.args.store_evtchn));
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::GetDomainInfo& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/true);
  if (t.domain == nullptr) return std::move(t.failure);
  if (const int rc = xsm_->domain_control(xsm::Hook::domain_getinfo, ref(*t.domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "denied by the security policy");
  }
  return Reply::of(t.domain->info());
}

Reply Hypervisor::handle(Domain& caller, wire::RequestShutdown& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  abi::SchedShutdown request{};
  request.reason = body.args.reason;
  const Errno sent = notify(domain, abi::Op::sched_op, wire::sub(abi::SchedOp::shutdown),
                            wire::bytes_of(request));
  if (failed(sent)) return Reply::error(sent, "cannot notify " + describe(domain));
  if (request.reason == static_cast<std::uint32_t>(abi::ShutdownReason::suspend)) {
    send_virq(domain, abi::Virq::suspend);  // for kernels that wait on VIRQ_SUSPEND
  }
  log_.info("asked " + describe(domain) + " to shut down (" + reason_name(request.reason) + ")");
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::DomainConsoleRead& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/true);
  if (t.domain == nullptr) return std::move(t.failure);
  const ConsoleRing::Chunk chunk = t.domain->console.read(body.args.offset, body.args.max_bytes);
  abi::DomctlConsoleData data{};
  data.next_offset = chunk.next_offset;
  data.lost = chunk.lost;
  Reply reply = Reply::of(data);
  reply.payload.insert(reply.payload.end(), chunk.bytes.begin(), chunk.bytes.end());
  return reply;
}

Reply Hypervisor::handle(Domain& caller, wire::DomainConsoleWrite& body, Fds& /*fds*/) {
  Target t = target(caller, body.args.domid, false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (!domain.active()) return Reply::error(Errno::inval, describe(domain) + " is not running");
  if (domain.console_input.size() + body.bytes.size() > kMaxConsoleInput) {
    return Reply::error(Errno::again, "console input of " + describe(domain) + " is full");
  }
  domain.console_input += body.bytes;
  flush_console_input(domain);
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::Physinfo& /*body*/, Fds& /*fds*/) {
  abi::SysctlPhysinfo info{};
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  info.nr_cpus = cpus > 0 ? static_cast<std::uint32_t>(cpus) : 1;
  struct sysinfo system {};
  if (::sysinfo(&system) == 0) {
    info.total_memory_kib = std::uint64_t{system.totalram} * system.mem_unit / 1024;
    info.free_memory_kib = std::uint64_t{system.freeram} * system.mem_unit / 1024;
  }
  if (const std::uint64_t available = available_memory_kib(); available > 0) {
    info.free_memory_kib = available;
  }
  return Reply::of(info);
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::DomainList& body, Fds& /*fds*/) {
  abi::SysctlDomainList header = body.args;
  std::vector<abi::DomainInfo> infos;
  const auto& all = domains_.all();
  for (auto it = all.lower_bound(body.args.first_domid);
       it != all.end() && infos.size() < body.args.max_domains; ++it) {
    if (xsm_->domain_control(xsm::Hook::domain_getinfo, ref(*it->second)) != 0) continue;
    infos.push_back(it->second->info());
  }
  header.count = static_cast<std::uint32_t>(infos.size());
  Reply reply = Reply::of(header);
  for (const auto& info : infos) wire::append_bytes(reply.payload, wire::bytes_of(info));
  return reply;
}

}  // namespace shype::hv
