// See vif_statistics.hpp.
#include "vif_statistics.hpp"

#include <array>
#include <charconv>

namespace shype::devices::net {

std::optional<VifCounters> parse_vif_statistics(std::string_view text) {
  constexpr std::size_t kMaxText = 160;
  if (text.empty() || text.size() > kMaxText) return std::nullopt;
  VifCounters counters;
  struct Field {
    std::string_view key;
    std::uint64_t VifCounters::*value;
  };
  constexpr std::array<Field, 5> kFields = {{{"tx", &VifCounters::tx},
                                             {"rx", &VifCounters::rx},
                                             {"denied", &VifCounters::denied},
                                             {"dropped", &VifCounters::dropped},
                                             {"errors", &VifCounters::errors}}};
  std::array<bool, kFields.size()> seen{};
  while (!text.empty()) {
    const auto end = text.find(' ');
    const std::string_view item = text.substr(0, end);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = item.substr(0, eq);
    const std::string_view digits = item.substr(eq + 1);
    if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
    std::size_t index = 0;
    while (index < kFields.size() && kFields[index].key != key) ++index;
    if (index == kFields.size() || seen[index]) return std::nullopt;
    std::uint64_t number = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    counters.*kFields[index].value = number;
    seen[index] = true;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
    if (text.empty()) return std::nullopt;  // a trailing space
  }
  for (const bool s : seen) {
    if (!s) return std::nullopt;
  }
  return counters;
}

}  // namespace shype::devices::net
