// decode_blkif_request: see devices/blkif_request.hpp.
#include "devices/blkif_request.hpp"

namespace shype::devices {

std::string_view describe(BlkRequestError error) {
  switch (error) {
    case BlkRequestError::bad_operation: return "unknown operation";
    case BlkRequestError::bad_segment_count: return "bad segment count";
    case BlkRequestError::bad_handle: return "request for another device";
    case BlkRequestError::bad_segment_range: return "bad segment sector range";
    case BlkRequestError::beyond_disk: return "sectors beyond the end of the disk";
    case BlkRequestError::read_only: return "write to a read-only disk";
  }
  return "invalid request";
}

tl::expected<BlkRequest, BlkRequestError> decode_blkif_request(const abi::io::BlkifRequest& raw,
                                                               const BlkDiskGeometry& disk) {
  using abi::io::BlkifOp;
  BlkRequest out;
  out.id = raw.id;
  out.sector = raw.sector_number;
  switch (raw.operation) {
    case static_cast<std::uint8_t>(BlkifOp::read): out.op = BlkifOp::read; break;
    case static_cast<std::uint8_t>(BlkifOp::write): out.op = BlkifOp::write; break;
    case static_cast<std::uint8_t>(BlkifOp::flush_diskcache): out.op = BlkifOp::flush_diskcache; break;
    default: return tl::unexpected(BlkRequestError::bad_operation);
  }
  if (raw.handle != disk.handle) return tl::unexpected(BlkRequestError::bad_handle);
  if (out.op == BlkifOp::flush_diskcache) {
    if (raw.nr_segments != 0) return tl::unexpected(BlkRequestError::bad_segment_count);
    return out;
  }
  if (raw.nr_segments == 0 || raw.nr_segments > abi::io::kBlkifMaxSegments) {
    return tl::unexpected(BlkRequestError::bad_segment_count);
  }
  if (out.op == BlkifOp::write && disk.readonly) return tl::unexpected(BlkRequestError::read_only);
  out.nr_segments = raw.nr_segments;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < out.nr_segments; ++i) {
    const abi::io::BlkifSegment& seg = raw.seg[i];
    if (seg.first_sect > seg.last_sect || seg.last_sect >= abi::io::kSectorsPerPage) {
      return tl::unexpected(BlkRequestError::bad_segment_range);
    }
    const std::uint32_t count = static_cast<std::uint32_t>(seg.last_sect - seg.first_sect) + 1u;
    out.segments[i] = BlkSegment{seg.gref, seg.first_sect * abi::io::kSectorSize,
                                 count * abi::io::kSectorSize};
    total += count;
  }
  out.sectors = total;
  // total <= 11 * 8, so only sector_number can overflow the sum.
  if (out.sector > disk.sectors || total > disk.sectors - out.sector) {
    return tl::unexpected(BlkRequestError::beyond_disk);
  }
  return out;
}

}  // namespace shype::devices
