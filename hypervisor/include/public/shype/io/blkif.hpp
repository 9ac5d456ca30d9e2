// The block device protocol (after Xen's io/blkif.h): blkfront in a guest,
// blkback in Domain-0 or a driver domain, one request ring (ring.hpp) in a
// page the frontend grants to the backend.
//
// xenstore (xenbus.hpp), class "vbd":
//   backend writes:  params (the image or device), mode ("r" or "w"),
//                    sectors (size in 512-byte sectors), sector-size (512),
//                    info (kVdiskReadonly if read-only), feature-persistent ("1"),
//                    state
//   frontend writes: ring-ref, event-channel, protocol ("x86_64-abi"),
//                    feature-persistent ("1"), state
// Data pages are granted by the frontend, each segment naming a grant and
// the sectors of that page it covers. With persistent grants (the only
// mode here) the frontend reuses a fixed pool of granted pages and the
// backend keeps each mapping until the device disconnects, so a request
// costs no hypercall on either side.
//
// The backend checks every request: operation, segment count (1 ..
// kBlkifMaxSegments; 0 for flush), first_sect <= last_sect < 8, every
// sector inside the disk, writes refused on a read-only disk, grants that
// the frontend really gave (a read-only grant cannot receive a read's
// data). A bad request gets kBlkifRspError; nothing else is affected.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/io/ring.hpp"

namespace shype::abi::io {

enum class BlkifOp : std::uint8_t {
  read = 0,
  write = 1,
  flush_diskcache = 3,
};

inline constexpr std::uint32_t kBlkifMaxSegments = 11;
inline constexpr std::uint32_t kSectorSize = 512;
inline constexpr std::uint32_t kSectorsPerPage = kPageSize / kSectorSize;
inline constexpr std::uint32_t kVdiskReadonly = 1u << 2;  // VDISK_READONLY

inline constexpr std::int16_t kBlkifRspOkay = 0;
inline constexpr std::int16_t kBlkifRspError = -1;
inline constexpr std::int16_t kBlkifRspEopnotsupp = -2;

struct BlkifSegment {
  grant_ref_t gref;          // a page granted to the backend
  std::uint8_t first_sect;   // first sector of the page (0..7)
  std::uint8_t last_sect;    // last sector of the page (first..7)
  std::uint16_t pad;
};
static_assert(sizeof(BlkifSegment) == 8);

struct BlkifRequest {
  std::uint8_t operation;     // BlkifOp
  std::uint8_t nr_segments;   // 1..kBlkifMaxSegments; 0 for flush_diskcache
  std::uint16_t handle;       // devid
  std::uint32_t pad;
  std::uint64_t id;           // echoed in the response
  std::uint64_t sector_number;  // first sector on the disk
  BlkifSegment seg[kBlkifMaxSegments];
};
static_assert(sizeof(BlkifRequest) == 112);

struct BlkifResponse {
  std::uint64_t id;
  std::uint8_t operation;
  std::uint8_t pad;
  std::int16_t status;  // kBlkifRsp*
  std::uint32_t pad2;
};
static_assert(sizeof(BlkifResponse) == 16);

using BlkifSharedRing = SharedRing<BlkifRequest, BlkifResponse>;
using BlkifFrontRing = FrontRing<BlkifRequest, BlkifResponse>;
using BlkifBackRing = BackRing<BlkifRequest, BlkifResponse>;
static_assert(BlkifSharedRing::kSlots == 32);
static_assert(sizeof(BlkifSharedRing) <= kPageSize);

}  // namespace shype::abi::io
