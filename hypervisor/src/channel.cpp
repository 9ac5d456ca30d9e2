#include "hv/channel.hpp"

#include "hv/wire.hpp"

namespace shype::hv {

Channel::Attempt Channel::try_send(const Outbound& message) const {
  std::vector<int> raw;
  raw.reserve(message.fds.size());
  for (const auto& fd : message.fds) raw.push_back(fd.get());
  switch (wire::send_datagram(fd_.get(), message.bytes, raw, /*dontwait=*/true)) {
    case wire::SendStatus::sent:
      return Attempt::sent;
    case wire::SendStatus::would_block:
      return Attempt::would_block;
    case wire::SendStatus::peer_gone:
    case wire::SendStatus::error:
      break;
  }
  return Attempt::gone;
}

Channel::Push Channel::push(std::vector<std::uint8_t> bytes, std::vector<UniqueFd> fds) {
  if (!fd_) return Push::gone;
  Outbound message{std::move(bytes), std::move(fds)};
  if (queue_.empty()) {
    switch (try_send(message)) {
      case Attempt::sent:
        return Push::sent;
      case Attempt::gone:
        return Push::gone;
      case Attempt::would_block:
        break;
    }
  }
  if (queue_.size() >= kMaxQueued) return Push::overflow;
  queue_.push_back(std::move(message));
  return Push::queued;
}

Channel::Flush Channel::flush() {
  while (!queue_.empty()) {
    switch (try_send(queue_.front())) {
      case Attempt::sent:
        queue_.pop_front();
        break;
      case Attempt::would_block:
        return Flush::pending;
      case Attempt::gone:
        return Flush::gone;
    }
  }
  return Flush::drained;
}

void Channel::close() noexcept {
  queue_.clear();
  fd_.reset();
}

}  // namespace shype::hv
