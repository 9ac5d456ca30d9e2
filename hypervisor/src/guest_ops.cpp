// Dispatch and the hypercalls every domain may make: xen_version,
// console_io, sched_op. event_channel_op and grant_table_op have their own
// files (event_channels.cpp, grant_table.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "hv/hypervisor.hpp"
#include "hv/shared_info_page.hpp"

namespace shype::hv {
namespace {

constexpr const char* kBuildId = "shype-hv 0.1.0";

bool privileged(abi::Op op) {
  return op == abi::Op::domctl || op == abi::Op::sysctl || op == abi::Op::xsm_op;
}

}  // namespace

Reply Hypervisor::dispatch(Domain& caller, wire::Request& request) {
  // The decoder already refused these for guests; checked again here so a
  // future decoder change cannot open them.
  if (privileged(static_cast<abi::Op>(request.header.op)) && !caller.is_domain0() &&
      !std::holds_alternative<wire::AcmResourceAccess>(request.body) &&
      !std::holds_alternative<wire::AcmFrameAccess>(request.body)) {
    return Reply::error(Errno::perm);
  }
  return std::visit([&](auto& body) { return handle(caller, body, request.fds); }, request.body);
}

void Hypervisor::respond(Domain& caller, ControlConnection* connection,
                         const abi::MessageHeader& request, Reply reply) {
  if (!reply.respond) return;
  const bool to_domain0 = connection != nullptr;
  if (failed(reply.status) && reply.payload.empty() && !reply.error_text.empty() && to_domain0) {
    // Domain-0 error responses carry the reason (docs/hypercall-abi.md "Errors").
    std::string text = reply.error_text.substr(0, wire::kMaxErrorText - 1);
    reply.payload.assign(text.begin(), text.end());
    reply.payload.push_back(0);
  }
  std::vector<std::uint8_t> bytes = wire::encode_response(
      request, reply.status, reply.payload, static_cast<std::uint32_t>(reply.fds.size()));
  if (to_domain0) {
    const std::uint64_t id = connection->id;
    switch (connection->channel.push(std::move(bytes), std::move(reply.fds))) {
      case Channel::Push::sent:
      case Channel::Push::queued:
        break;
      case Channel::Push::overflow:
        close_connection(id, "not reading its responses");
        break;
      case Channel::Push::gone:
        close_connection(id, {});
        break;
    }
    return;
  }
  // A guest whose end is gone is noticed by the next receive (or its exit);
  // its queue cannot overflow with responses because it is not read from
  // while replies wait.
  (void)caller.channel.push(std::move(bytes), std::move(reply.fds));
}

Reply Hypervisor::handle(Domain& caller, wire::XenVersion& /*body*/, Fds& /*fds*/) {
  abi::VersionInfo version{};
  version.major = abi::kVersionMajor;
  version.minor = abi::kVersionMinor;
  version.domid = caller.id;
  std::strncpy(version.extra, kBuildId, sizeof version.extra - 1);
  if (!caller.is_domain0() && !caller.connected_at) {
    caller.connected_at = Clock::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*caller.connected_at -
                                                                          caller.created_at);
    log_.info(describe(caller) + " connected " + std::to_string(us.count()) +
              " us after createdomain");
  }
  return Reply::of(version);
}

Reply Hypervisor::handle(Domain& caller, wire::ConsoleWrite& body, Fds& /*fds*/) {
  if (const int rc = xsm_->domain_control(xsm::Hook::console_io, ref(caller)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "console_io denied by the security policy");
  }
  caller.console.append(body.bytes);
  if (caller.console_log) {
    // The log is best effort: a full disk must not stop the console.
    std::string_view rest = body.bytes;
    while (!rest.empty()) {
      const ssize_t n = ::write(caller.console_log.get(), rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::ConsoleRead& /*body*/, Fds& /*fds*/) {
  Reply reply;
  const std::size_t n = std::min(caller.console_input.size(), abi::kMaxPayload);
  reply.payload.assign(caller.console_input.begin(),
                       caller.console_input.begin() + static_cast<std::ptrdiff_t>(n));
  caller.console_input.erase(0, n);
  return reply;
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::SchedYield& /*body*/, Fds& /*fds*/) {
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::SchedBlock& /*body*/, Fds& /*fds*/) {
  return Reply::ok();  // the guest blocks on its own descriptors
}

Reply Hypervisor::handle(Domain& caller, wire::SchedShutdown& body, Fds& /*fds*/) {
  if (caller.is_domain0()) {
    return Reply::error(Errno::perm, "Domain-0 is stopped with 'shype-hv stop'");
  }
  if (caller.shut_down || caller.crashed || caller.dying) return Reply::none();
  caller.shut_down = true;
  caller.shutdown_reason = body.reason();
  // It exits by itself; if it does not, it is killed after the grace time.
  if (caller.process_alive && !caller.kill_deadline) {
    caller.kill_deadline = Clock::now() + config_.shutdown_grace;
    ++pending_deadlines_;
  }
  update_interest(caller);  // nothing more is read from it
  return Reply::none();
}

}  // namespace shype::hv
