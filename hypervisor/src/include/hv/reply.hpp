// What a hypercall handler answers: a status (the ABI's negative errno), a
// payload, descriptors to pass, and for Domain-0 a readable reason.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "hv/errno.hpp"
#include "hv/unique_fd.hpp"
#include "hv/wire.hpp"

namespace shype::hv {

struct [[nodiscard]] Reply {
  Errno status = Errno::ok;
  std::vector<std::uint8_t> payload;
  std::vector<UniqueFd> fds;
  // Why it failed, for Domain-0 (sent as the error payload when there is no
  // other payload; guests get the errno only).
  std::string error_text;
  bool respond = true;  // false: the op has no response (SCHEDOP_shutdown)

  static Reply ok() { return {}; }
  static Reply error(Errno status, std::string text = {}) {
    Reply reply;
    reply.status = status;
    reply.error_text = std::move(text);
    return reply;
  }
  static Reply none() {
    Reply reply;
    reply.respond = false;
    return reply;
  }
  template <typename T>
  static Reply of(const T& value) {
    Reply reply;
    const auto bytes = wire::bytes_of(value);
    reply.payload.assign(bytes.begin(), bytes.end());
    return reply;
  }
};

}  // namespace shype::hv
