#include "acm/policy_version.hpp"

namespace shype::acm {
namespace {

// Parses 1-8 decimal digits; 8 digits always fit in 32 bits.
bool parse_part(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 8) return false;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  out = value;
  return true;
}

}  // namespace

Result<PolicyVersion> PolicyVersion::parse(std::string_view text) {
  const auto dot = text.find('.');
  PolicyVersion v;
  if (dot == std::string_view::npos || !parse_part(text.substr(0, dot), v.major) ||
      !parse_part(text.substr(dot + 1), v.minor)) {
    return make_error(Errc::semantic_error,
                      "malformed version '" + std::string(text) +
                          "': expected <major>.<minor>, each 1 to 8 decimal digits");
  }
  return v;
}

std::string PolicyVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace shype::acm
