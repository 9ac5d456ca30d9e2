// Digests through OpenSSL: SHA-1 of XML policies (the Xen v4 header field)
// and SHA-256 fingerprints of compiled binaries (audit records, acmtool).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace shype::acm {

using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

[[nodiscard]] Sha1Digest sha1(std::span<const std::uint8_t> data);
[[nodiscard]] Sha256Digest sha256(std::span<const std::uint8_t> data);
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace shype::acm
