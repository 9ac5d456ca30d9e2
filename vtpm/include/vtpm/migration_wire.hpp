// What two vtpm_migratord peers say to each other over mutually
// authenticated TLS (docs/vtpm.md, "Migration"). Each message is a frame: a
// 4-byte big-endian length (1..kMaxPeerFrameBytes), then that many bytes of
// one JSON object with a "type":
//   source -> destination            destination -> source
//   {"type":"hello"}                 {"type":"recipient","public_key":hex(32),
//                                     "challenge":hex(16)}
//   {"type":"import","package":{..}} {"type":"imported","instance","name","uuid"}
//   {"type":"commit","uuid"}         {"type":"done","uuid"}
//   {"type":"abort","uuid"}          {"type":"done","uuid"}
//   either side: {"type":"error","message"}
// Everything a peer sends is decoded here, and only here (STYLE.md rule 5):
// the length is checked before the payload is read, then the JSON, the
// type and every field it needs (a package with package_from_json).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "acm/error.hpp"

namespace shype::vtpm {

// A package of kMaxMigrationFiles files of kMaxMigrationFileBytes in base64
// fits, with room for the rest of the message.
inline constexpr std::uint32_t kMaxPeerFrameBytes = 8u << 20;

// The length a frame header announces; refuses 0 and more than the limit.
[[nodiscard]] acm::Result<std::uint32_t> peer_frame_length(
    const std::array<std::uint8_t, 4>& header);

// Header + compact JSON. The message must be one decode_peer_message accepts.
[[nodiscard]] std::string encode_peer_frame(const nlohmann::json& message);

// Validates one payload; the result is the message as sent. Errors name the
// field that was bad.
[[nodiscard]] acm::Result<nlohmann::json> decode_peer_message(std::string_view payload);

}  // namespace shype::vtpm
