// Property fuzzer for a driver domain's vif counters (STYLE.md rule 12;
// toolstack/devices/net/vif_statistics.cpp): the `statistics` node a guest
// writes into its backend directory and xend parses for xm network-list.
//
// Properties, for every input:
//  - nothing crashes or reads outside the text (ASan);
//  - an accepted text is at most 160 bytes of lower-case letters, digits,
//    '=' and single spaces, with exactly five fields;
//  - the accepted counters, written back in the canonical order, parse to
//    the same counters (nothing is read twice or lost).
// Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vif_statistics.hpp"

namespace {

using shype::devices::net::parse_vif_statistics;
using shype::devices::net::VifCounters;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_vif_statistics: property violated: %s\n", property);
  std::abort();
}

bool same(const VifCounters& a, const VifCounters& b) {
  return a.tx == b.tx && a.rx == b.rx && a.denied == b.denied && a.dropped == b.dropped &&
         a.errors == b.errors;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // SAFETY: a byte buffer viewed as characters.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_vif_statistics(text);
  if (!parsed) return 0;
  if (text.size() > 160) violated("accepted more than 160 bytes");
  std::size_t spaces = 0;
  char previous = ' ';
  for (const char c : text) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '=' || c == ' ';
    if (!allowed) violated("accepted a character outside [a-z0-9= ]");
    if (c == ' ' && previous == ' ') violated("accepted a leading or double space");
    if (c == ' ') ++spaces;
    previous = c;
  }
  if (previous == ' ') violated("accepted a trailing space");
  if (spaces != 4) violated("accepted other than five fields");
  const std::string canonical =
      "tx=" + std::to_string(parsed->tx) + " rx=" + std::to_string(parsed->rx) +
      " denied=" + std::to_string(parsed->denied) + " dropped=" + std::to_string(parsed->dropped) +
      " errors=" + std::to_string(parsed->errors);
  const auto again = parse_vif_statistics(canonical);
  if (!again || !same(*again, *parsed)) violated("the canonical form does not parse back");
  return 0;
}
