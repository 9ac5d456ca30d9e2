// The hypercall channel below hypercall(): framing, sequence numbers,
// waiting for one response while queuing notifications. Event-channel and
// grant helpers, and guest_rogue's protocol attacks, build on it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"

namespace shype::guest::channel {

// The next request sequence number (never 0, which notifications use).
[[nodiscard]] std::uint32_t next_seq();

// Sends one request: header (magic, version, kind request, op, subop, seq,
// payload_length, fd_count filled in) + payload, with `fds` attached.
// Returns 0 or -errno (-EMSGSIZE for an oversize payload or too many fds).
int send_request(abi::Op op, std::uint32_t subop, std::uint32_t seq, const void* payload,
                 std::size_t length, const int* fds, std::uint32_t fd_count);

// Sends `length` bytes as one datagram exactly as given, with `fds`
// attached (for tests of the hypervisor's decoder).
int send_raw(const void* bytes, std::size_t length, const int* fds, std::uint32_t fd_count);

// A response. payload points into the runtime's receive buffer and is valid
// until the next channel call; the descriptors belong to the caller.
struct Response {
  abi::MessageHeader header;
  const std::uint8_t* payload;
  std::uint32_t fd_count;
  int fds[abi::kMaxFds];
};

// Waits for the response to `seq` (any_seq: to any request) for up to
// timeout_ns (negative: no limit). Returns 0, or -ETIMEDOUT. Notifications
// are queued; responses to other requests are dropped.
inline constexpr std::uint32_t kAnySeq = 0;
int await_response(std::uint32_t seq, std::int64_t timeout_ns, Response* response);

// Receives whatever is waiting without blocking (notifications are queued).
void poll_incoming();

}  // namespace shype::guest::channel
