#include "hv/console_ring.hpp"

#include <gtest/gtest.h>

namespace shype::hv {
namespace {

TEST(ConsoleRing, ReadsWhatWasWrittenByOffset) {
  ConsoleRing ring(16);
  ring.append("hello ");
  ring.append("world");
  auto chunk = ring.read(0, 100);
  EXPECT_EQ(chunk.bytes, "hello world");
  EXPECT_EQ(chunk.next_offset, 11u);
  EXPECT_EQ(chunk.lost, 0u);
  chunk = ring.read(6, 3);
  EXPECT_EQ(chunk.bytes, "wor");
  EXPECT_EQ(chunk.next_offset, 9u);
}

TEST(ConsoleRing, ReportsLostBytesWhenTheReaderFellBehind) {
  ConsoleRing ring(8);
  ring.append("0123456789abcdef");  // 16 bytes into 8
  EXPECT_EQ(ring.begin_offset(), 8u);
  EXPECT_EQ(ring.end_offset(), 16u);
  auto chunk = ring.read(2, 100);
  EXPECT_EQ(chunk.lost, 6u);
  EXPECT_EQ(chunk.bytes, "89abcdef");
  EXPECT_EQ(chunk.next_offset, 16u);
}

TEST(ConsoleRing, WrapsAcrossTheEnd) {
  ConsoleRing ring(8);
  ring.append("abcdef");
  ring.append("ghij");  // wraps: ring holds cdefghij
  auto chunk = ring.read(2, 8);
  EXPECT_EQ(chunk.bytes, "cdefghij");
  EXPECT_EQ(chunk.lost, 0u);
  chunk = ring.read(5, 4);
  EXPECT_EQ(chunk.bytes, "fghi");
}

TEST(ConsoleRing, OffsetAtOrBeyondTheEndReturnsNothing) {
  ConsoleRing ring(8);
  ring.append("abc");
  auto chunk = ring.read(3, 10);
  EXPECT_TRUE(chunk.bytes.empty());
  EXPECT_EQ(chunk.next_offset, 3u);
  chunk = ring.read(1000, 10);
  EXPECT_TRUE(chunk.bytes.empty());
  EXPECT_EQ(chunk.next_offset, 3u);
}

TEST(ConsoleRing, DefaultCapacityIsTheAbiRingSize) {
  ConsoleRing ring;
  EXPECT_EQ(ring.capacity(), abi::kConsoleRingSize);
  const std::string big(abi::kConsoleRingSize + 100, 'x');
  ring.append(big);
  const auto chunk = ring.read(0, abi::kConsoleRingSize * 2);
  EXPECT_EQ(chunk.lost, 100u);
  EXPECT_EQ(chunk.bytes.size(), abi::kConsoleRingSize);
}

}  // namespace
}  // namespace shype::hv
