// The block backend's one decoder of untrusted requests (shype/io/blkif.hpp).
// A request is copied out of the shared ring first (BackRing::take_request),
// then checked here field by field, before any grant is mapped or any byte
// of the disk is touched: range checks first, then the action. Pure: no
// I/O, no state, so it is fuzzed on its own (tests/fuzz/fuzz_blkif_request).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

#include "shype/io/blkif.hpp"

namespace shype::devices {

// What the backend knows about the disk the request is for.
struct BlkDiskGeometry {
  std::uint64_t sectors = 0;   // size in 512-byte sectors
  bool readonly = false;       // mode "r": writes are refused
  std::uint16_t handle = 0;    // the device id as the frontend writes it (devid & 0xffff)
};

// One checked segment: a granted page and the byte range of it to move.
struct BlkSegment {
  abi::grant_ref_t gref = 0;
  std::uint32_t offset = 0;  // first_sect * 512
  std::uint32_t length = 0;  // (last_sect - first_sect + 1) * 512
};

struct BlkRequest {
  abi::io::BlkifOp op = abi::io::BlkifOp::read;
  std::uint64_t id = 0;
  std::uint64_t sector = 0;      // first sector on the disk
  std::uint64_t sectors = 0;     // how many (the segments' sum; 0 for a flush)
  std::uint32_t nr_segments = 0;
  std::array<BlkSegment, abi::io::kBlkifMaxSegments> segments{};
};

enum class BlkRequestError : std::uint8_t {
  bad_operation,       // not read, write or flush_diskcache
  bad_segment_count,   // 0 or > kBlkifMaxSegments for read/write, not 0 for flush
  bad_handle,          // not this device
  bad_segment_range,   // first_sect > last_sect or last_sect >= 8
  beyond_disk,         // sector_number + sectors past the end (or overflowing)
  read_only,           // a write on a read-only disk
};

// A short reason for logs and the error counters ("bad segment range").
[[nodiscard]] std::string_view describe(BlkRequestError error);

// The status a refused request is answered with.
[[nodiscard]] constexpr std::int16_t response_status(BlkRequestError error) {
  return error == BlkRequestError::bad_operation ? abi::io::kBlkifRspEopnotsupp
                                                 : abi::io::kBlkifRspError;
}

// Checks every field of a request copied out of the ring.
[[nodiscard]] tl::expected<BlkRequest, BlkRequestError> decode_blkif_request(
    const abi::io::BlkifRequest& raw, const BlkDiskGeometry& disk);

}  // namespace shype::devices
