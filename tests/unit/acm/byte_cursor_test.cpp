#include "acm/byte_cursor.hpp"

#include <limits>

#include <gtest/gtest.h>

namespace shype::acm {
namespace {

constexpr std::uint8_t kBytes[] = {0x00, 0x01, 0xde, 0xbc, 0x11, 0x22,
                                   0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

TEST(ByteReader, ReadsBothByteOrders) {
  ByteReader r(kBytes);
  EXPECT_EQ(r.read_u32_be(), 0x0001debcu);
  EXPECT_EQ(r.read_u16_be(), 0x1122u);
  EXPECT_EQ(r.read_u16_le(), 0x4433u);
  EXPECT_EQ(r.position(), 8u);
  EXPECT_EQ(r.read_u32_le(), 0x88776655u);
  EXPECT_TRUE(r.at_end());

  ByteReader r64{std::span(kBytes).subspan(4)};
  EXPECT_EQ(r64.read_u64_le(), 0x8877665544332211u);
}

TEST(ByteReader, FailedReadLeavesCursorAndReportsNothing) {
  ByteReader r{std::span(kBytes).first(3)};
  EXPECT_EQ(r.read_u32_be(), std::nullopt);
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.read_u16_be(), 0x0001u);
  EXPECT_EQ(r.read_u16_le(), std::nullopt);
  EXPECT_EQ(r.read_u8(), 0xdeu);
  EXPECT_EQ(r.read_u8(), std::nullopt);
  EXPECT_FALSE(r.skip(1));
  EXPECT_TRUE(r.skip(0));
  EXPECT_EQ(r.read_bytes(1), std::nullopt);
}

TEST(ByteReader, EmptyInput) {
  ByteReader r(std::span<const std::uint8_t>{});
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(r.read_u8(), std::nullopt);
  EXPECT_EQ(r.read_u64_le(), std::nullopt);
  EXPECT_TRUE(r.rest_is_zero());
  EXPECT_TRUE(r.seek(0));
  EXPECT_FALSE(r.seek(1));
}

TEST(ByteReader, SubCursorsReportAbsoluteOffsets) {
  ByteReader r(kBytes, 100);
  auto sub = r.sub(4, 4);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->base(), 104u);
  EXPECT_EQ(sub->read_u32_be(), 0x11223344u);
  EXPECT_EQ(sub->absolute_position(), 108u);
  EXPECT_EQ(sub->read_u8(), std::nullopt);  // cannot read past its own end
  EXPECT_FALSE(r.sub(8, 5));
  EXPECT_FALSE(r.sub(13, 0));
  EXPECT_FALSE(r.sub(std::numeric_limits<std::size_t>::max(), 2));
  EXPECT_TRUE(r.sub(12, 0));
}

TEST(ByteReader, ReadBytesIsAView) {
  ByteReader r(kBytes);
  auto b = r.read_bytes(4);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->data(), kBytes);
  EXPECT_EQ(r.remaining(), 8u);
  EXPECT_TRUE(r.can_read(4, 2));
  EXPECT_FALSE(r.can_read(3, 3));
  EXPECT_FALSE(r.can_read(std::numeric_limits<std::size_t>::max(), 2));
}

TEST(ByteReader, RestIsZero) {
  const std::uint8_t padded[] = {1, 0, 0, 0};
  ByteReader r(padded);
  EXPECT_FALSE(r.rest_is_zero());
  ASSERT_TRUE(r.skip(1));
  EXPECT_TRUE(r.rest_is_zero());
}

TEST(CheckedArithmetic, DetectsOverflow) {
  constexpr auto max = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(checked_mul(max, 1), max);
  EXPECT_EQ(checked_mul(max / 2 + 1, 2), std::nullopt);
  EXPECT_EQ(checked_add(max, 1), std::nullopt);
  EXPECT_EQ(checked_add(max - 1, 1), max);
  EXPECT_TRUE(fits(0, max, 0));
  EXPECT_FALSE(fits(1u << 31, 1u << 31, max / 4));
  EXPECT_EQ(round_up(57, 8), 64u);
}

TEST(ByteWriter, WritesBothByteOrdersAndPads) {
  ByteWriter w;
  w.put_u32_be(0x0001debc);
  w.put_u16_be(0x1122);
  w.put_u16_le(0x4433);
  w.put_u32_le(0x88776655);
  w.put_u8(0x99);
  w.pad_to_multiple(8);
  EXPECT_EQ(w.size(), 16u);
  w.put_u64_le(0x0102030405060708);
  const std::vector<std::uint8_t> expected = {0x00, 0x01, 0xde, 0xbc, 0x11, 0x22, 0x33, 0x44,
                                              0x55, 0x66, 0x77, 0x88, 0x99, 0,    0,    0,
                                              8,    7,    6,    5,    4,    3,    2,    1};
  EXPECT_EQ(w.bytes(), expected);
}

TEST(ByteWriter, PadsRelativeToASectionStart) {
  ByteWriter w;
  w.put_zeros(4);
  const std::size_t start = w.size();
  w.put_u8(1);
  w.pad_to_multiple(8, start);
  EXPECT_EQ(w.size(), 12u);
  w.pad_to_multiple(8, start);  // already a multiple: nothing added
  EXPECT_EQ(w.size(), 12u);
}

TEST(ByteWriter, PatchesEarlierFields) {
  ByteWriter w;
  w.put_zeros(18);
  w.patch_u32_be(0, 0xaabbccdd);
  w.patch_u32_le(4, 0xaabbccdd);
  w.patch_u64_le(8, 1);
  w.patch_u16_be(16, 0x0102);
  const std::vector<std::uint8_t> expected = {0xaa, 0xbb, 0xcc, 0xdd, 0xdd, 0xcc, 0xbb, 0xaa, 1,
                                              0,    0,    0,    0,    0,    0,    0,    1,    2};
  EXPECT_EQ(w.bytes(), expected);
  const std::uint8_t two[] = {9, 9};
  w.patch_bytes(0, two);
  EXPECT_EQ(w.bytes()[1], 9);
  auto taken = std::move(w).take();
  EXPECT_EQ(taken.size(), 18u);
}

TEST(FormatHex, Lowercase) {
  EXPECT_EQ(format_hex(0), "0x0");
  EXPECT_EQ(format_hex(0x5c), "0x5c");
  EXPECT_EQ(format_hex(0xffffffffffffffff), "0xffffffffffffffff");
}

}  // namespace
}  // namespace shype::acm
