// The XML policy version "major.minor" (manual 10.3.5: an update must
// increment it; FromPolicy names the version it updates).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "acm/error.hpp"

namespace shype::acm {

struct PolicyVersion {
  std::uint32_t major = 0;
  std::uint32_t minor = 0;

  // Accepts exactly 1-8 decimal digits, '.', 1-8 decimal digits ("1.0", "2.17").
  [[nodiscard]] static Result<PolicyVersion> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;  // "major.minor"

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads defaulted <=>.
  friend auto operator<=>(const PolicyVersion&, const PolicyVersion&) = default;
  friend bool operator==(const PolicyVersion&, const PolicyVersion&) = default;
};

}  // namespace shype::acm
