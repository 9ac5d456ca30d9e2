// One end of a SOCK_SEQPACKET conversation the hypervisor serves (a guest's
// hypercall channel or a Domain-0 connection), with its outbound queue.
//
// Back-pressure instead of unbounded buffering: when the peer does not read
// its responses and the socket is full, replies wait in a bounded queue and
// the event loop stops reading that peer's requests until the queue drains
// (EPOLLOUT). A peer that lets the queue overflow is a peer that is not
// following the protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "hv/unique_fd.hpp"

namespace shype::hv {

class Channel {
 public:
  // More than this many queued messages: push() reports overflow.
  static constexpr std::size_t kMaxQueued = 256;

  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

  enum class Push { sent, queued, overflow, gone };
  // Sends at once if nothing is queued, else queues. The descriptors are
  // sent with the message and closed by the channel afterwards.
  Push push(std::vector<std::uint8_t> bytes, std::vector<UniqueFd> fds = {});

  enum class Flush { drained, pending, gone };
  Flush flush();

  [[nodiscard]] bool open() const noexcept { return fd_.valid(); }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] bool has_backlog() const noexcept { return !queue_.empty(); }
  [[nodiscard]] std::size_t backlog() const noexcept { return queue_.size(); }
  // Closes the socket and drops anything queued.
  void close() noexcept;

 private:
  struct Outbound {
    std::vector<std::uint8_t> bytes;
    std::vector<UniqueFd> fds;
  };
  enum class Attempt { sent, would_block, gone };
  Attempt try_send(const Outbound& message) const;

  UniqueFd fd_;
  std::deque<Outbound> queue_;
};

}  // namespace shype::hv
