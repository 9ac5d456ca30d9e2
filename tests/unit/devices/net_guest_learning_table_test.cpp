// The address table of a driver domain's bridge
// (hypervisor/guest/runtime/include/shype/guest/learning_table.hpp): a
// freestanding header, tested here on the host.
#include <gtest/gtest.h>

#include <cstdint>

#include "shype/guest/learning_table.hpp"

namespace shype::guest::netback {
namespace {

constexpr std::uint64_t kAgeing = 1000;

struct Mac {
  std::uint8_t bytes[6];
};
constexpr Mac mac(std::uint8_t last, std::uint8_t first = 0x00) {
  return Mac{{first, 0x16, 0x3e, 0x00, 0x00, last}};
}

TEST(GuestLearningTable, LearnsUnicastSourcesAndForgetsThemWithTheirPort) {
  LearningTable<4> table(kAgeing);
  const Mac a = mac(1);
  const Mac b = mac(2);
  EXPECT_EQ(table.lookup(a.bytes, 0), kNoPort);
  table.learn(a.bytes, 3, 10);
  table.learn(b.bytes, 5, 10);
  EXPECT_EQ(table.lookup(a.bytes, 20), 3u);
  EXPECT_EQ(table.lookup(b.bytes, 20), 5u);
  // Moving to another port is followed.
  table.learn(a.bytes, 4, 30);
  EXPECT_EQ(table.lookup(a.bytes, 40), 4u);
  EXPECT_EQ(table.size(), 2u);
  table.forget_port(4);
  EXPECT_EQ(table.lookup(a.bytes, 40), kNoPort);
  EXPECT_EQ(table.lookup(b.bytes, 40), 5u);
}

TEST(GuestLearningTable, MulticastIsNeverLearnedNorLookedUp) {
  LearningTable<4> table(kAgeing);
  const Mac group = mac(1, 0x01);
  table.learn(group.bytes, 1, 0);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.lookup(group.bytes, 0), kNoPort);
  const Mac broadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  EXPECT_TRUE(is_multicast_mac(broadcast.bytes));
  EXPECT_EQ(table.lookup(broadcast.bytes, 0), kNoPort);
}

TEST(GuestLearningTable, EntriesExpireAndAFullTableLearnsNothingNew) {
  LearningTable<2> table(kAgeing);
  const Mac a = mac(1);
  const Mac b = mac(2);
  const Mac c = mac(3);
  table.learn(a.bytes, 1, 0);
  table.learn(b.bytes, 2, 500);
  table.learn(c.bytes, 3, 600);  // full of fresh entries: flooded to instead
  EXPECT_EQ(table.lookup(c.bytes, 600), kNoPort);
  EXPECT_EQ(table.lookup(a.bytes, 600), 1u);
  EXPECT_EQ(table.lookup(a.bytes, kAgeing), kNoPort);  // expired
  table.learn(c.bytes, 3, kAgeing + 1);                 // takes a's expired slot
  EXPECT_EQ(table.lookup(c.bytes, kAgeing + 1), 3u);
  EXPECT_EQ(table.lookup(b.bytes, kAgeing + 1), 2u);
  EXPECT_EQ(table.size(), 2u);
}

// Pure enough to run at compile time.
constexpr bool learns_at_compile_time() {
  LearningTable<2> table(kAgeing);
  const Mac a = mac(7);
  table.learn(a.bytes, 9, 1);
  return table.lookup(a.bytes, 2) == 9u && table.lookup(mac(8).bytes, 2) == kNoPort;
}
static_assert(learns_at_compile_time());

}  // namespace
}  // namespace shype::guest::netback
