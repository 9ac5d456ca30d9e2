// The network device protocol (after Xen's io/netif.h): netfront in a
// guest, netback in Domain-0 or a driver domain; two rings (ring.hpp), each
// in a page the frontend grants: tx (guest sends) and rx (guest receives).
//
// xenstore (xenbus.hpp), class "vif":
//   backend writes:  mac, bridge, feature-persistent ("1"), state
//   frontend writes: tx-ring-ref, rx-ring-ref, event-channel, mac, state
//
// One frame is one Ethernet frame of at most kNetifMaxFrame bytes in one
// granted page (no fragments). Buffers are persistent grants, as for
// blkif: the frontend posts rx requests naming pages of its rx pool; the
// backend copies each frame it delivers into one of them and answers with
// its length; tx requests name a page of the tx pool holding the frame.
//
// Frames between domains are shares: the bridge passes a frame from one
// domain to another only if the policy lets the two share (an STE type in
// common). A refused frame gets no delivery; the sender's tx response is
// still kNetifRspOkay (as on a wire, the sender cannot tell), and the
// bridge counts and audits the refusal.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/io/ring.hpp"

namespace shype::abi::io {

inline constexpr std::uint32_t kNetifMaxFrame = 1514;  // Ethernet without FCS
inline constexpr std::uint32_t kNetifMinFrame = 14;    // an Ethernet header

inline constexpr std::int16_t kNetifRspOkay = 0;
inline constexpr std::int16_t kNetifRspError = -1;
inline constexpr std::int16_t kNetifRspDropped = -2;

struct NetifTxRequest {
  grant_ref_t gref;      // the page holding the frame
  std::uint16_t offset;  // of the frame in the page
  std::uint16_t flags;   // 0
  std::uint16_t id;      // echoed in the response
  std::uint16_t size;    // frame length, kNetifMinFrame..kNetifMaxFrame, offset + size <= page
};
static_assert(sizeof(NetifTxRequest) == 12);

struct NetifTxResponse {
  std::uint16_t id;
  std::int16_t status;  // kNetifRsp*
};
static_assert(sizeof(NetifTxResponse) == 4);

struct NetifRxRequest {
  std::uint16_t id;     // echoed in the response
  std::uint16_t pad;
  grant_ref_t gref;     // a page to receive one frame into (writable grant)
};
static_assert(sizeof(NetifRxRequest) == 8);

struct NetifRxResponse {
  std::uint16_t id;
  std::uint16_t offset;  // of the frame in the page (0)
  std::uint16_t flags;   // 0
  std::int16_t status;   // > 0: the frame's length; < 0: kNetifRsp*
};
static_assert(sizeof(NetifRxResponse) == 8);

using NetifTxSharedRing = SharedRing<NetifTxRequest, NetifTxResponse>;
using NetifTxFrontRing = FrontRing<NetifTxRequest, NetifTxResponse>;
using NetifTxBackRing = BackRing<NetifTxRequest, NetifTxResponse>;
using NetifRxSharedRing = SharedRing<NetifRxRequest, NetifRxResponse>;
using NetifRxFrontRing = FrontRing<NetifRxRequest, NetifRxResponse>;
using NetifRxBackRing = BackRing<NetifRxRequest, NetifRxResponse>;
static_assert(NetifTxSharedRing::kSlots == 256);
static_assert(NetifRxSharedRing::kSlots == 256);

}  // namespace shype::abi::io
