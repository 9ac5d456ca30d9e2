// parse_vif_statistics: a driver domain's counters for a vif, as text it
// wrote into xenstore; anything but the exact form is refused.
#include "vif_statistics.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

namespace shype::devices::net {
namespace {

// The parsed counters in the order tx, rx, denied, dropped, errors.
std::array<std::uint64_t, 5> values(const std::optional<VifCounters>& c) {
  if (!c) return {~0ull, ~0ull, ~0ull, ~0ull, ~0ull};
  return {c->tx, c->rx, c->denied, c->dropped, c->errors};
}

TEST(VifStatistics, ReadsTheFiveCounters) {
  EXPECT_EQ(values(parse_vif_statistics("tx=12 rx=10 denied=3 dropped=1 errors=0")),
            (std::array<std::uint64_t, 5>{12, 10, 3, 1, 0}));
}

TEST(VifStatistics, AnyOrderAndFullRange) {
  EXPECT_EQ(values(parse_vif_statistics("errors=7 dropped=6 denied=5 rx=18446744073709551615 tx=4")),
            (std::array<std::uint64_t, 5>{4, 18446744073709551615u, 5, 6, 7}));
}

TEST(VifStatistics, RefusesAnythingElse) {
  for (const std::string& bad : std::initializer_list<std::string>{
           "",
           "tx=1 rx=2 denied=3 dropped=4",                      // one missing
           "tx=1 rx=2 denied=3 dropped=4 errors=5 tx=1",        // repeated
           "tx=1 rx=2 denied=3 dropped=4 errors=5 mtu=1500",    // unknown
           "tx=1 rx=2 denied=3 dropped=4 errors=18446744073709551616",  // 2^64
           "tx=-1 rx=2 denied=3 dropped=4 errors=5",            // sign
           "tx=+1 rx=2 denied=3 dropped=4 errors=5",
           "tx=1x rx=2 denied=3 dropped=4 errors=5",            // trailing text
           "tx= rx=2 denied=3 dropped=4 errors=5",              // no number
           "tx=1  rx=2 denied=3 dropped=4 errors=5",            // two spaces
           "tx=1 rx=2 denied=3 dropped=4 errors=5 ",            // trailing space
           " tx=1 rx=2 denied=3 dropped=4 errors=5",            // leading space
           "tx 1 rx=2 denied=3 dropped=4 errors=5",
           "tx=1 rx=2 denied=3 dropped=4 errors=5" + std::string(140, '0'),  // too long
       }) {
    EXPECT_FALSE(parse_vif_statistics(bad)) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace shype::devices::net
