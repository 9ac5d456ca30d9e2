// Ethernet MAC addresses as vifs and the bridge use them: parsing the
// "00:16:3e:12:34:56" form of xenstore and vif = [...] entries, printing,
// the multicast bit, and Xen's generated addresses (00:16:3e:xx:xx:xx, the
// XenSource OUI, random in the low three bytes).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace shype::devices::net {

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  // Group bit of the first octet: broadcast and multicast frames are flooded.
  [[nodiscard]] bool is_multicast() const noexcept { return (bytes[0] & 0x01u) != 0; }
  [[nodiscard]] bool is_broadcast() const noexcept {
    for (const auto b : bytes)
      if (b != 0xffu) return false;
    return true;
  }
  [[nodiscard]] bool is_zero() const noexcept {
    for (const auto b : bytes)
      if (b != 0) return false;
    return true;
  }
  // "00:16:3e:0a:0b:0c" (lower case).
  [[nodiscard]] std::string to_string() const;
  // Six two-digit hexadecimal octets separated by ':' (either case);
  // nullopt for anything else.
  [[nodiscard]] static std::optional<MacAddress> parse(std::string_view text);
  [[nodiscard]] std::uint64_t key() const noexcept {
    std::uint64_t k = 0;
    for (const auto b : bytes)
      k = (k << 8) | b;
    return k;
  }

  friend bool operator==(const MacAddress&, const MacAddress&) = default;
  friend auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

inline constexpr std::array<std::uint8_t, 3> kXenOui{0x00, 0x16, 0x3e};

// A random 00:16:3e:xx:xx:xx for which `taken` is false (unicast, locally
// unique); nullopt if 64 draws all collided (the space is 2^24).
[[nodiscard]] std::optional<MacAddress> generate_mac(
    std::mt19937_64& rng, const std::function<bool(const MacAddress&)>& taken);

}  // namespace shype::devices::net
