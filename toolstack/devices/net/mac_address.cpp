#include "mac_address.hpp"

#include <cstdio>

namespace shype::devices::net {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string MacAddress::to_string() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddress mac;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    const int high = hex_digit(text[at]);
    const int low = hex_digit(text[at + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    if (i < 5 && text[at + 2] != ':') return std::nullopt;
    mac.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return mac;
}

std::optional<MacAddress> generate_mac(std::mt19937_64& rng,
                                       const std::function<bool(const MacAddress&)>& taken) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::uint64_t draw = rng();
    MacAddress mac;
    mac.bytes = {kXenOui[0], kXenOui[1], kXenOui[2], static_cast<std::uint8_t>(draw >> 16),
                 static_cast<std::uint8_t>(draw >> 8), static_cast<std::uint8_t>(draw)};
    if (!taken(mac)) return mac;
  }
  return std::nullopt;
}

}  // namespace shype::devices::net
