// The hypercall channel: framing (abi.hpp), the notification queue, and
// hypercall() on top.
#include "shype/guest/channel.hpp"

#include "shype/guest/event_channel.hpp"

#include "internal.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

namespace shype::guest {
namespace {

using abi::MessageHeader;

constexpr std::size_t kHeaderSize = sizeof(MessageHeader);
// Room for one SCM_RIGHTS message of kMaxFds descriptors (CMSG_SPACE).
constexpr std::size_t kControlSize = sizeof(sys::Cmsghdr) + abi::kMaxFds * sizeof(int);
static_assert(kControlSize % 8 == 0);

// Notifications waiting for next_notification. Full: the newest is dropped
// (and its descriptors closed) and counted.
constexpr std::size_t kQueueCapacity = 32;

struct Channel {
  std::uint32_t seq;
  std::uint32_t dropped_notifications;
  std::uint32_t dropped_messages;
  std::size_t queue_head;
  std::size_t queue_count;
};
constinit Channel g_channel{};
Notification g_queue[kQueueCapacity];

// One received datagram (+1 byte so that an oversize one is seen).
alignas(8) std::uint8_t g_receive_buffer[abi::kMaxMessageSize + 1];
alignas(8) std::uint8_t g_receive_control[2 * kControlSize];

struct Received {
  MessageHeader header;
  std::uint32_t fd_count;
  int fds[abi::kMaxFds];
};

void close_all(const int* fds, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i)
    sys::close(fds[i]);
}

enum class Got { message, nothing, dropped };

// Receives one datagram and checks its framing. A malformed message is
// dropped (and counted): the hypervisor is trusted, so that is a bug there,
// not a reason to stop the guest.
Got receive_one(bool block, Received* out) {
  sys::Iovec iov{g_receive_buffer, sizeof g_receive_buffer};
  sys::Msghdr message{};
  message.iov = &iov;
  message.iov_count = 1;
  message.control = g_receive_control;
  message.control_length = sizeof g_receive_control;
  long n;
  do {
    n = sys::recvmsg(abi::kChannelFd, &message, block ? 0 : sys::kMsgDontwait);
  } while (n == -sys::kEINTR);
  if (n == -sys::kEAGAIN) return Got::nothing;
  if (n <= 0) detail::channel_lost();

  out->fd_count = 0;
  bool malformed = (message.flags & (sys::kMsgTrunc | sys::kMsgCtrunc)) != 0;
  std::size_t offset = 0;
  while (offset + sizeof(sys::Cmsghdr) <= message.control_length) {
    sys::Cmsghdr cmsg{};
    memcpy(&cmsg, g_receive_control + offset, sizeof cmsg);
    if (cmsg.length < sizeof cmsg || cmsg.length > message.control_length - offset) break;
    if (cmsg.level == sys::kSolSocket && cmsg.type == sys::kScmRights) {
      const std::size_t count = (cmsg.length - sizeof cmsg) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd = -1;
        memcpy(&fd, g_receive_control + offset + sizeof cmsg + i * sizeof(int), sizeof fd);
        if (out->fd_count < abi::kMaxFds) {
          out->fds[out->fd_count++] = fd;
        } else {
          sys::close(fd);
          malformed = true;
        }
      }
    }
    offset += (cmsg.length + 7) & ~std::size_t{7};
  }

  const auto length = static_cast<std::size_t>(n);
  if (length < kHeaderSize) {
    malformed = true;
  } else {
    // SAFETY: copies the header bytes, checked to be present, out of the
    // receive buffer into a trivially copyable struct.
    memcpy(&out->header, g_receive_buffer, kHeaderSize);
    const MessageHeader& h = out->header;
    const bool kind_ok = h.kind == static_cast<std::uint16_t>(abi::MessageKind::response) ||
                         h.kind == static_cast<std::uint16_t>(abi::MessageKind::notification);
    if (h.magic != abi::kMagic || h.version_major != abi::kVersionMajor || !kind_ok ||
        h.payload_length != length - kHeaderSize || h.payload_length > abi::kMaxPayload ||
        h.fd_count != out->fd_count) {
      malformed = true;
    }
  }
  if (malformed) {
    close_all(out->fds, out->fd_count);
    ++g_channel.dropped_messages;
    return Got::dropped;
  }
  return Got::message;
}

void enqueue(const Received& received) {
  if (g_channel.queue_count == kQueueCapacity) {
    close_all(received.fds, received.fd_count);
    ++g_channel.dropped_notifications;
    return;
  }
  Notification& slot = g_queue[(g_channel.queue_head + g_channel.queue_count) % kQueueCapacity];
  slot.op = static_cast<abi::Op>(received.header.op);
  slot.subop = received.header.subop;
  slot.length = received.header.payload_length;
  slot.fd_count = received.fd_count;
  for (std::uint32_t i = 0; i < received.fd_count; ++i)
    slot.fds[i] = received.fds[i];
  memcpy(slot.payload, g_receive_buffer + kHeaderSize, slot.length);
  ++g_channel.queue_count;
}

// Handles one valid message; true if it is the response being waited for
// (`waiting`: a response is expected; wanted_seq kAnySeq: any response).
bool dispatch(const Received& received, bool waiting, std::uint32_t wanted_seq) {
  if (received.header.kind == static_cast<std::uint16_t>(abi::MessageKind::notification)) {
    enqueue(received);
    return false;
  }
  if (waiting && (wanted_seq == channel::kAnySeq || received.header.seq == wanted_seq)) return true;
  close_all(received.fds, received.fd_count);  // a response to nothing we wait for
  ++g_channel.dropped_messages;
  return false;
}

}  // namespace

namespace detail {

void channel_lost() {
  sys::exit_group(kExitChannelLost);
}

std::uint32_t absorb_event_notifications() {
  channel::poll_incoming();
  std::uint32_t handled = 0;
  std::size_t kept = 0;
  const std::size_t count = g_channel.queue_count;
  for (std::size_t i = 0; i < count; ++i) {
    Notification& n = g_queue[(g_channel.queue_head + i) % kQueueCapacity];
    if (n.op == abi::Op::event_channel_op) {
      (void)evtchn::handle_event_notification(&n);
      ++handled;
      continue;
    }
    if (kept != i) {
      Notification& to = g_queue[(g_channel.queue_head + kept) % kQueueCapacity];
      to.op = n.op;
      to.subop = n.subop;
      to.length = n.length;
      to.fd_count = n.fd_count;
      for (std::uint32_t f = 0; f < n.fd_count; ++f)
        to.fds[f] = n.fds[f];
      memcpy(to.payload, n.payload, n.length);
    }
    ++kept;
  }
  g_channel.queue_count = kept;
  return handled;
}

bool notification_pending() {
  return g_channel.queue_count != 0;
}

}  // namespace detail

namespace channel {

std::uint32_t next_seq() {
  if (++g_channel.seq == 0) g_channel.seq = 1;
  return g_channel.seq;
}

int send_raw(const void* bytes, std::size_t length, const int* fds, std::uint32_t fd_count) {
  if (fd_count > abi::kMaxFds) return -sys::kEMSGSIZE;
  sys::Iovec iov{bytes, length};
  alignas(8) std::uint8_t control[kControlSize] = {};
  sys::Msghdr message{};
  message.iov = &iov;
  message.iov_count = 1;
  if (fd_count > 0) {
    sys::Cmsghdr cmsg{sizeof(sys::Cmsghdr) + fd_count * sizeof(int), sys::kSolSocket,
                      sys::kScmRights};
    memcpy(control, &cmsg, sizeof cmsg);
    memcpy(control + sizeof cmsg, fds, fd_count * sizeof(int));
    message.control = control;
    message.control_length =
        sizeof(sys::Cmsghdr) + ((fd_count * sizeof(int) + 7) & ~std::size_t{7});
  }
  long n;
  do {
    n = sys::sendmsg(abi::kChannelFd, &message, sys::kMsgNosignal);
  } while (n == -sys::kEINTR);
  if (n == -sys::kEPIPE) detail::channel_lost();
  return n < 0 ? static_cast<int>(n) : 0;
}

int send_request(abi::Op op, std::uint32_t subop, std::uint32_t seq, const void* payload,
                 std::size_t length, const int* fds, std::uint32_t fd_count) {
  if (length > abi::kMaxPayload || fd_count > abi::kMaxFds) return -sys::kEMSGSIZE;
  // The datagram is assembled in one buffer so that send_raw stays the one
  // place that talks to the socket.
  alignas(8) static std::uint8_t datagram[abi::kMaxMessageSize];
  MessageHeader header{};
  header.magic = abi::kMagic;
  header.version_major = abi::kVersionMajor;
  header.kind = static_cast<std::uint16_t>(abi::MessageKind::request);
  header.op = static_cast<std::uint32_t>(op);
  header.subop = subop;
  header.seq = seq;
  header.status = 0;
  header.payload_length = static_cast<std::uint32_t>(length);
  header.fd_count = fd_count;
  memcpy(datagram, &header, kHeaderSize);
  if (length > 0) memcpy(datagram + kHeaderSize, payload, length);
  return send_raw(datagram, kHeaderSize + length, fds, fd_count);
}

int await_response(std::uint32_t seq, std::int64_t timeout_ns, Response* response) {
  const std::uint64_t deadline =
      timeout_ns >= 0 ? now_ns() + static_cast<std::uint64_t>(timeout_ns) : 0;
  for (;;) {
    bool block = true;
    if (timeout_ns >= 0) {
      const std::uint64_t now = now_ns();
      if (now >= deadline) return -sys::kETIMEDOUT;
      const std::uint64_t left = deadline - now;
      sys::Timespec ts{static_cast<std::int64_t>(left / 1'000'000'000u),
                       static_cast<std::int64_t>(left % 1'000'000'000u)};
      sys::Pollfd pfd{abi::kChannelFd, sys::kPollIn, 0};
      const long ready = sys::ppoll(&pfd, 1, &ts);
      if (ready <= 0) continue;  // timeout or EINTR: the loop re-checks the time
      block = false;
    }
    Received received{};
    const Got got = receive_one(block, &received);
    if (got != Got::message || !dispatch(received, true, seq)) continue;
    response->header = received.header;
    response->payload = g_receive_buffer + kHeaderSize;
    response->fd_count = received.fd_count;
    for (std::uint32_t i = 0; i < received.fd_count; ++i)
      response->fds[i] = received.fds[i];
    return 0;
  }
}

void poll_incoming() {
  for (;;) {
    Received received{};
    const Got got = receive_one(false, &received);
    if (got == Got::nothing) return;
    if (got == Got::message) (void)dispatch(received, false, 0);
  }
}

}  // namespace channel

int hypercall(abi::Op op, std::uint32_t subop, const void* payload, std::size_t length, void* out,
              std::size_t out_capacity, std::size_t* out_length, int* fds_out,
              std::uint32_t max_fds, std::uint32_t* fd_count) {
  const std::uint32_t seq = channel::next_seq();
  if (const int sent = channel::send_request(op, subop, seq, payload, length, nullptr, 0);
      sent < 0) {
    return sent;
  }
  channel::Response response{};
  (void)channel::await_response(seq, -1, &response);
  const std::uint32_t got_length = response.header.payload_length;
  if ((got_length > 0 && (out == nullptr || got_length > out_capacity)) ||
      (response.fd_count > 0 && (fds_out == nullptr || response.fd_count > max_fds))) {
    close_all(response.fds, response.fd_count);
    return -sys::kEMSGSIZE;
  }
  if (got_length > 0) memcpy(out, response.payload, got_length);
  if (out_length != nullptr) *out_length = got_length;
  for (std::uint32_t i = 0; i < response.fd_count; ++i)
    fds_out[i] = response.fds[i];
  if (fd_count != nullptr) *fd_count = response.fd_count;
  return response.header.status;
}

int hypercall(abi::Op op, std::uint32_t subop, const void* payload, std::size_t length) {
  alignas(8) static std::uint8_t ignored[abi::kMaxPayload];
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  const int status = hypercall(op, subop, payload, length, ignored, sizeof ignored, nullptr, fds,
                               abi::kMaxFds, &fd_count);
  close_all(fds, fd_count);
  return status;
}

bool next_notification(Notification* out) {
  if (g_channel.queue_count == 0) channel::poll_incoming();
  if (g_channel.queue_count == 0) return false;
  const Notification& head = g_queue[g_channel.queue_head];
  out->op = head.op;
  out->subop = head.subop;
  out->length = head.length;
  out->fd_count = head.fd_count;
  for (std::uint32_t i = 0; i < head.fd_count; ++i)
    out->fds[i] = head.fds[i];
  memcpy(out->payload, head.payload, head.length);
  g_channel.queue_head = (g_channel.queue_head + 1) % kQueueCapacity;
  --g_channel.queue_count;
  return true;
}

void discard_notification(Notification* notification) {
  close_all(notification->fds, notification->fd_count);
  notification->fd_count = 0;
}

bool is_shutdown_request(const Notification& notification, abi::ShutdownReason* reason) {
  if (notification.op != abi::Op::sched_op ||
      notification.subop != static_cast<std::uint32_t>(abi::SchedOp::shutdown) ||
      notification.length != sizeof(abi::SchedShutdown)) {
    return false;
  }
  abi::SchedShutdown request{};
  memcpy(&request, notification.payload, sizeof request);
  if (request.reason > static_cast<std::uint32_t>(abi::ShutdownReason::crash)) return false;
  *reason = static_cast<abi::ShutdownReason>(request.reason);
  return true;
}

std::uint32_t dropped_notifications() {
  return g_channel.dropped_notifications;
}
std::uint32_t dropped_messages() {
  return g_channel.dropped_messages;
}

}  // namespace shype::guest
