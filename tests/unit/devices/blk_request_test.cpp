// decode_blkif_request (toolstack/devices/blk/blkif_request.cpp): every
// field of an untrusted request is checked before anything is touched.
#include <gtest/gtest.h>

#include "devices/blkif_request.hpp"

namespace shype::devices {
namespace {

using abi::io::BlkifOp;
using abi::io::BlkifRequest;

constexpr std::uint16_t kHandle = 51712 & 0xffff;

BlkDiskGeometry disk(std::uint64_t sectors = 2048, bool readonly = false) {
  return BlkDiskGeometry{sectors, readonly, kHandle};
}

BlkifRequest request(BlkifOp op, std::uint64_t sector, std::uint8_t segments) {
  BlkifRequest r{};
  r.operation = static_cast<std::uint8_t>(op);
  r.nr_segments = segments;
  r.handle = kHandle;
  r.id = 0x1234'5678'9abc'def0;
  r.sector_number = sector;
  for (std::uint8_t i = 0; i < segments && i < abi::io::kBlkifMaxSegments; ++i) {
    r.seg[i].gref = 100u + i;
    r.seg[i].first_sect = 0;
    r.seg[i].last_sect = 7;
  }
  return r;
}

TEST(BlkRequest, AcceptsAWellFormedRead) {
  BlkifRequest r = request(BlkifOp::read, 16, 2);
  r.seg[1].first_sect = 2;
  r.seg[1].last_sect = 4;
  const auto decoded = decode_blkif_request(r, disk());
  ASSERT_TRUE(decoded) << describe(decoded.error());
  EXPECT_EQ(decoded->op, BlkifOp::read);
  EXPECT_EQ(decoded->id, r.id);
  EXPECT_EQ(decoded->sector, 16u);
  EXPECT_EQ(decoded->sectors, 8u + 3u);
  ASSERT_EQ(decoded->nr_segments, 2u);
  EXPECT_EQ(decoded->segments[0].gref, 100u);
  EXPECT_EQ(decoded->segments[0].offset, 0u);
  EXPECT_EQ(decoded->segments[0].length, 4096u);
  EXPECT_EQ(decoded->segments[1].gref, 101u);
  EXPECT_EQ(decoded->segments[1].offset, 1024u);
  EXPECT_EQ(decoded->segments[1].length, 1536u);
}

TEST(BlkRequest, AcceptsElevenSegmentsAndAFlush) {
  const auto eleven = decode_blkif_request(request(BlkifOp::write, 0, 11), disk());
  ASSERT_TRUE(eleven);
  EXPECT_EQ(eleven->sectors, 88u);
  const auto flush = decode_blkif_request(request(BlkifOp::flush_diskcache, 0, 0), disk());
  ASSERT_TRUE(flush);
  EXPECT_EQ(flush->nr_segments, 0u);
}

TEST(BlkRequest, RefusesUnknownOperationsAsNotSupported) {
  BlkifRequest r = request(BlkifOp::read, 0, 1);
  for (const int op : {2, 4, 5, 0x7f, 0xff}) {
    r.operation = static_cast<std::uint8_t>(op);
    const auto decoded = decode_blkif_request(r, disk());
    ASSERT_FALSE(decoded) << op;
    EXPECT_EQ(decoded.error(), BlkRequestError::bad_operation);
    EXPECT_EQ(response_status(decoded.error()), abi::io::kBlkifRspEopnotsupp);
  }
}

TEST(BlkRequest, RefusesBadSegmentCounts) {
  for (const int n : {0, 12, 200, 255}) {
    const auto decoded = decode_blkif_request(request(BlkifOp::read, 0, static_cast<std::uint8_t>(n)), disk());
    ASSERT_FALSE(decoded) << n;
    EXPECT_EQ(decoded.error(), BlkRequestError::bad_segment_count);
    EXPECT_EQ(response_status(decoded.error()), abi::io::kBlkifRspError);
  }
  const auto flush = decode_blkif_request(request(BlkifOp::flush_diskcache, 0, 1), disk());
  ASSERT_FALSE(flush);
  EXPECT_EQ(flush.error(), BlkRequestError::bad_segment_count);
}

TEST(BlkRequest, RefusesBadSectorRangesInAPage) {
  BlkifRequest r = request(BlkifOp::read, 0, 1);
  r.seg[0].first_sect = 5;
  r.seg[0].last_sect = 4;
  EXPECT_EQ(decode_blkif_request(r, disk()).error(), BlkRequestError::bad_segment_range);
  r.seg[0].first_sect = 0;
  r.seg[0].last_sect = 8;
  EXPECT_EQ(decode_blkif_request(r, disk()).error(), BlkRequestError::bad_segment_range);
  r.seg[0].first_sect = 200;
  r.seg[0].last_sect = 255;
  EXPECT_EQ(decode_blkif_request(r, disk()).error(), BlkRequestError::bad_segment_range);
}

TEST(BlkRequest, KeepsEveryRequestInsideTheDisk) {
  // The last 8 sectors: fine; one further: refused.
  EXPECT_TRUE(decode_blkif_request(request(BlkifOp::read, 2040, 1), disk()));
  EXPECT_EQ(decode_blkif_request(request(BlkifOp::read, 2041, 1), disk()).error(),
            BlkRequestError::beyond_disk);
  EXPECT_EQ(decode_blkif_request(request(BlkifOp::read, 2048, 1), disk()).error(),
            BlkRequestError::beyond_disk);
  // sector_number + count wrapping around 2^64.
  EXPECT_EQ(decode_blkif_request(request(BlkifOp::read, ~std::uint64_t{0} - 3, 1), disk()).error(),
            BlkRequestError::beyond_disk);
  // An empty disk has no sector at all.
  EXPECT_EQ(decode_blkif_request(request(BlkifOp::read, 0, 1), disk(0)).error(),
            BlkRequestError::beyond_disk);
}

TEST(BlkRequest, RefusesWritesOnReadOnlyDisks) {
  EXPECT_EQ(decode_blkif_request(request(BlkifOp::write, 0, 1), disk(2048, true)).error(),
            BlkRequestError::read_only);
  EXPECT_TRUE(decode_blkif_request(request(BlkifOp::read, 0, 1), disk(2048, true)));
  EXPECT_TRUE(decode_blkif_request(request(BlkifOp::flush_diskcache, 0, 0), disk(2048, true)));
}

TEST(BlkRequest, RefusesRequestsForAnotherDevice) {
  BlkifRequest r = request(BlkifOp::read, 0, 1);
  r.handle = kHandle + 16;
  EXPECT_EQ(decode_blkif_request(r, disk()).error(), BlkRequestError::bad_handle);
}

TEST(BlkRequest, EveryErrorHasAReason) {
  for (const auto e : {BlkRequestError::bad_operation, BlkRequestError::bad_segment_count,
                       BlkRequestError::bad_handle, BlkRequestError::bad_segment_range,
                       BlkRequestError::beyond_disk, BlkRequestError::read_only}) {
    EXPECT_FALSE(describe(e).empty());
    EXPECT_NE(response_status(e), abi::io::kBlkifRspOkay);
  }
}

}  // namespace
}  // namespace shype::devices
