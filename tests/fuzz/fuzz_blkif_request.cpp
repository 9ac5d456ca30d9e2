// Property fuzzer for blkback's request decoder (STYLE.md rules 5 and 12;
// toolstack/devices/blk/blkif_request.cpp). Input: 8 bytes of disk size,
// one flag byte (bit 0: read-only), 2 bytes of handle, then a ring slot's
// request (zero-padded to 112 bytes). For every input:
//  - decoding never crashes;
//  - an accepted request stays inside the disk, has 1..11 segments whose
//    byte ranges lie inside one page (0 for a flush), counts its sectors
//    right, is never a write on a read-only disk, and names this device;
//  - a refusal has a reason and answers with an error status.
// Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "devices/blkif_request.hpp"

namespace {

using namespace shype;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_blkif_request: property violated: %s\n", property);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kHeader = 11;
  if (size < kHeader) return 0;
  devices::BlkDiskGeometry disk;
  std::memcpy(&disk.sectors, data, 8);
  disk.readonly = (data[8] & 1u) != 0;
  std::memcpy(&disk.handle, data + 9, 2);
  abi::io::BlkifRequest raw{};
  const std::size_t body = size - kHeader < sizeof raw ? size - kHeader : sizeof raw;
  std::memcpy(&raw, data + kHeader, body);

  const auto decoded = devices::decode_blkif_request(raw, disk);
  if (!decoded) {
    if (devices::describe(decoded.error()).empty()) violated("a refusal without a reason");
    if (devices::response_status(decoded.error()) == abi::io::kBlkifRspOkay) {
      violated("a refusal answered with success");
    }
    return 0;
  }
  const devices::BlkRequest& r = *decoded;
  if (r.id != raw.id) violated("the id is not echoed");
  if (raw.handle != disk.handle) violated("a request for another device accepted");
  if (r.op == abi::io::BlkifOp::flush_diskcache) {
    if (r.nr_segments != 0 || r.sectors != 0) violated("a flush with segments");
    return 0;
  }
  if (r.op == abi::io::BlkifOp::write && disk.readonly) violated("a write on a read-only disk");
  if (r.nr_segments == 0 || r.nr_segments > abi::io::kBlkifMaxSegments) {
    violated("segment count out of range");
  }
  std::uint64_t sectors = 0;
  for (std::uint32_t i = 0; i < r.nr_segments; ++i) {
    const auto& s = r.segments[i];
    if (s.length == 0 || s.length % abi::io::kSectorSize != 0 || s.offset % abi::io::kSectorSize != 0 ||
        s.offset + s.length > abi::kPageSize) {
      violated("a segment outside its page");
    }
    if (s.gref != raw.seg[i].gref) violated("a segment names another grant");
    sectors += s.length / abi::io::kSectorSize;
  }
  if (sectors != r.sectors) violated("sector count does not add up");
  if (r.sector > disk.sectors || r.sectors > disk.sectors - r.sector) violated("beyond the disk");
  return 0;
}
