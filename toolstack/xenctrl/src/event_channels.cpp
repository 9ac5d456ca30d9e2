// event_channel_op for Domain-0: ports that belong to this connection,
// their doorbells, and the notices the hypervisor sends about them.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include <poll.h>
#include <unistd.h>

#include "xenctrl/connection.hpp"

namespace shype::xc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t sub(abi::EvtchnOp op) {
  return static_cast<std::uint32_t>(op);
}

// Polls one descriptor for `events` until `deadline`: 1 ready, 0 timeout,
// -errno.
int poll_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, 60'000)));
    if (ready > 0) return 1;
    if (ready < 0 && errno != EINTR) return -errno;
    if (ready == 0 && left <= 0) return 0;
  }
}

}  // namespace

Result<abi::evtchn_port_t> Connection::evtchn_alloc_unbound(abi::domid_t remote, abi::domid_t dom) {
  hv::wire::EvtchnAllocUnbound body;
  body.args.dom = dom;
  body.args.remote_dom = remote;
  auto message = call_ok("alloc_unbound", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::EvtchnAllocUnbound>(message->payload);
  if (!out) return make_error(EPROTO, "alloc_unbound", "response is not an EvtchnAllocUnbound");
  return out->port;
}

Result<Connection::EventChannelBinding> Connection::evtchn_bind_interdomain(
    abi::domid_t remote, abi::evtchn_port_t remote_port) {
  hv::wire::EvtchnBindInterdomain body;
  body.args.remote_dom = remote;
  body.args.remote_port = remote_port;
  auto message = call_ok("bind_interdomain", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::EvtchnBindInterdomain>(message->payload);
  if (!out || message->fds.size() != 2) {
    return make_error(EPROTO, "bind_interdomain",
                      "response is not an EvtchnBindInterdomain with two doorbells");
  }
  EventChannelBinding binding;
  binding.port = out->local_port;
  binding.own = std::move(message->fds[0]);
  binding.peer = std::move(message->fds[1]);
  return binding;
}

Result<Connection::VirqBinding> Connection::evtchn_bind_virq(abi::Virq virq) {
  hv::wire::EvtchnBindVirq body;
  body.args.virq = static_cast<std::uint32_t>(virq);
  auto message = call_ok("bind_virq", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::EvtchnBindVirq>(message->payload);
  if (!out || message->fds.size() != 1) {
    return make_error(EPROTO, "bind_virq", "response is not an EvtchnBindVirq with a doorbell");
  }
  VirqBinding binding;
  binding.port = out->port;
  binding.doorbell = std::move(message->fds[0]);
  return binding;
}

Status Connection::evtchn_close(abi::evtchn_port_t port) {
  hv::wire::EvtchnClose body;
  body.args.port = port;
  auto message = call_ok("evtchn_close", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

Status Connection::evtchn_send(abi::evtchn_port_t port) {
  hv::wire::EvtchnSend body;
  body.args.port = port;
  auto message = call_ok("evtchn_send", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

Result<abi::EvtchnStatus> Connection::evtchn_status(abi::evtchn_port_t port, abi::domid_t dom) {
  hv::wire::EvtchnStatus body;
  body.args.dom = dom;
  body.args.port = port;
  auto message = call_ok("evtchn_status", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::EvtchnStatus>(message->payload);
  if (!out) return make_error(EPROTO, "evtchn_status", "response is not an EvtchnStatus");
  return *out;
}

Result<std::optional<hv::wire::Message>> Connection::next_notification(
    std::chrono::milliseconds wait) {
  const std::string name = "next_notification";
  const auto deadline = Clock::now() + wait;
  while (notifications_.empty()) {
    if (!fd_) return make_error(ENOTCONN, name, "the connection is closed");
    const int ready = poll_until(fd_.get(), POLLIN, deadline);
    if (ready < 0) return make_error(-ready, name, "poll");
    if (ready == 0) return std::optional<hv::wire::Message>{};
    auto received = receive_message(name);
    if (!received) return tl::unexpected(received.error());
    // Anything but a notification is a late answer to a call that timed out.
    if (*received) (void)keep_if_notification(**received);
  }
  hv::wire::Message oldest = std::move(notifications_.front());
  notifications_.pop_front();
  return std::optional<hv::wire::Message>(std::move(oldest));
}

std::optional<Connection::EventChannelNotice> Connection::event_channel_notice(
    hv::wire::Message& message) {
  if (message.header.op != static_cast<std::uint32_t>(abi::Op::event_channel_op)) {
    return std::nullopt;
  }
  EventChannelNotice notice;
  if (message.header.subop == sub(abi::EvtchnOp::bound_notice)) {
    const auto body = hv::wire::load_exact<abi::EvtchnBoundNotice>(message.payload);
    if (!body || message.fds.size() != 2) return std::nullopt;
    notice.kind = abi::EvtchnOp::bound_notice;
    notice.local_port = body->local_port;
    notice.remote_dom = body->remote_dom;
    notice.remote_port = body->remote_port;
    notice.own = std::move(message.fds[0]);
    notice.peer = std::move(message.fds[1]);
    return notice;
  }
  if (message.header.subop == sub(abi::EvtchnOp::closed_notice)) {
    const auto body = hv::wire::load_exact<abi::EvtchnClosedNotice>(message.payload);
    if (!body || !message.fds.empty()) return std::nullopt;
    notice.kind = abi::EvtchnOp::closed_notice;
    notice.local_port = body->local_port;
    return notice;
  }
  return std::nullopt;
}

Status Connection::notify_doorbell(int doorbell) {
  const std::uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(doorbell, &one, sizeof one);
  } while (n < 0 && errno == EINTR);
  // EAGAIN: the counter is at its maximum; the other end has been rung.
  if (n == static_cast<ssize_t>(sizeof one) || (n < 0 && errno == EAGAIN)) return {};
  return make_error(n < 0 ? errno : EIO, "notify_doorbell");
}

bool Connection::wait_doorbell(int doorbell, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (poll_until(doorbell, POLLIN, deadline) != 1) return false;
    std::uint64_t count = 0;
    // Non-blocking: another reader may have cleared it since the poll.
    if (::read(doorbell, &count, sizeof count) == static_cast<ssize_t>(sizeof count)) return true;
    if (errno != EAGAIN && errno != EINTR) return false;
  }
}

}  // namespace shype::xc
