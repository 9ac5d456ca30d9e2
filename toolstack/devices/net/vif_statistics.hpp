// The counters a driver domain publishes for a vif it serves (node
// `statistics` of its backend directory, written by the guest runtime's
// netback: shype/guest/netback.hpp, publish_vif_stats). The text comes from
// a guest: parsed strictly, never trusted beyond being shown.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace shype::devices::net {

struct VifCounters {
  std::uint64_t tx = 0;       // frames from the client
  std::uint64_t rx = 0;       // frames delivered to it
  std::uint64_t denied = 0;   // its frames the hypervisor refused
  std::uint64_t dropped = 0;  // frames for it that found no rx page
  std::uint64_t errors = 0;   // its tx requests answered with an error
};

// "tx=N rx=N denied=N dropped=N errors=N": each key once, in any order,
// separated by single spaces, decimal numbers that fit 64 bits. Anything
// else (an unknown or repeated key, a missing one, a sign, extra text, more
// than 160 bytes) is nullopt.
[[nodiscard]] std::optional<VifCounters> parse_vif_statistics(std::string_view text);

}  // namespace shype::devices::net
