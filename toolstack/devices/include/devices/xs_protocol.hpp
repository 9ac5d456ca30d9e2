// xenstore's wire protocol on Domain-0's side (shype/io/xs_wire.hpp): the
// decoder that cuts a guest's request bytes into messages, the session that
// answers them from the store, and the encoder of replies and watch events.
// This is where a guest's store traffic crosses the trust boundary: every
// length and argument is checked here (fuzz target fuzz_xs_message).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "devices/xenstore.hpp"
#include "shype/io/xs_wire.hpp"

namespace shype::devices {

struct XsMessage {
  abi::io::XsMessageHeader header{};
  std::string payload;
};

// Header + payload bytes of one message.
[[nodiscard]] std::string encode_xs_message(abi::io::XsType type, std::uint32_t req_id,
                                            std::uint32_t tx_id, std::string_view payload);

// Reassembles messages from a byte stream fed in arbitrary pieces. A header
// announcing more than kXsPayloadMax bytes breaks the stream for good
// (broken(): the guest is disconnected). Holds at most one message.
class XsDecoder {
 public:
  // Takes up to `bytes.size()` bytes; returns how many it took (it stops
  // taking once a complete message waits in next()).
  std::size_t feed(std::string_view bytes);
  // The next complete message, if any.
  [[nodiscard]] std::optional<XsMessage> next();
  [[nodiscard]] bool broken() const { return broken_; }

 private:
  std::string buffer_;
  bool broken_ = false;
};

// One client's conversation with the store (a guest's connection):
// answers each request through `send` and forwards watch events the same
// way. Its watches and transactions end with it.
class XsSession {
 public:
  using Send = std::function<void(std::string bytes)>;
  XsSession(Xenstore& store, abi::domid_t domid, Send send);
  ~XsSession();
  XsSession(const XsSession&) = delete;
  XsSession& operator=(const XsSession&) = delete;

  // Handles one request: exactly one reply is sent (XS_ERROR for anything
  // malformed or refused), then the watch events it caused for this client.
  void handle(const XsMessage& message);

 private:
  void reply_error(const abi::io::XsMessageHeader& header, int error);

  Xenstore& store_;
  abi::domid_t domid_;
  Send send_;
  std::uint64_t owner_;
  bool handling_ = false;
  std::vector<std::string> held_events_;  // raised while handling, sent after the reply
};

}  // namespace shype::devices
