// netback's decoding of what a frontend puts in its tx ring (shype/io/
// netif.hpp), in one place and without side effects, so the fuzz target
// (tests/fuzz/fuzz_netif_tx.cpp) and the unit tests run exactly the code
// the backend runs.
//
// Order for every request (STYLE 5): copy it out of the shared page
// (BackRing does), range-check its fields (check_tx_request), then look its
// grant up in the vif's tx pool, copy the frame out of the page (the guest
// may rewrite the page meanwhile: only the copy is looked at), parse the
// Ethernet header of the copy, then act.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "mac_address.hpp"
#include "shype/io/netif.hpp"

namespace shype::devices::net {

enum class TxVerdict : std::uint8_t {
  ok,
  too_short,     // size < kNetifMinFrame
  too_long,      // size > kNetifMaxFrame
  past_page,     // offset + size > one page
  bad_flags,     // no flag is defined
  bad_grant,     // the grant is not (and cannot be) in the tx pool
};

[[nodiscard]] std::string_view to_string(TxVerdict verdict);

// The field checks of one tx request (its grant is looked up afterwards).
[[nodiscard]] constexpr TxVerdict check_tx_request(const abi::io::NetifTxRequest& request) {
  if (request.flags != 0) return TxVerdict::bad_flags;
  if (request.size < abi::io::kNetifMinFrame) return TxVerdict::too_short;
  if (request.size > abi::io::kNetifMaxFrame) return TxVerdict::too_long;
  if (static_cast<std::size_t>(request.offset) + request.size > abi::kPageSize)
    return TxVerdict::past_page;
  return TxVerdict::ok;
}

struct EthernetHeader {
  MacAddress destination;
  MacAddress source;
  std::uint16_t ethertype = 0;  // host order
};

// The header of a frame of at least kNetifMinFrame bytes; nullopt otherwise.
[[nodiscard]] std::optional<EthernetHeader> parse_ethernet(std::span<const std::uint8_t> frame);

// One pass over a tx ring, as netback serves it.
struct TxPassStats {
  std::uint32_t taken = 0;      // requests taken off the ring
  std::uint32_t forwarded = 0;  // frames handed to the bridge
  std::uint32_t rejected = 0;   // answered kNetifRspError
};

struct TxPassHooks {
  // The tx-pool page of a grant (mapping it on first use), or nullptr if the
  // grant cannot be mapped or the pool is full.
  std::function<const std::uint8_t*(abi::grant_ref_t)> page_of;
  // A valid frame (a private copy) with its parsed header and the request
  // that carried it.
  std::function<void(const abi::io::NetifTxRequest&, std::span<const std::uint8_t>,
                     const EthernetHeader&)>
      forward;
  // A rejected request (for the log; rate-limit there).
  std::function<void(const abi::io::NetifTxRequest&, TxVerdict)> rejected;
};

// Takes up to `budget` requests, answers each (kNetifRspOkay once handed to
// the bridge, whether or not it is delivered anywhere; kNetifRspError for a
// rejected request) and stops early when the ring is empty or overflowed.
// The caller pushes the responses and notifies.
[[nodiscard]] TxPassStats serve_tx(abi::io::NetifTxBackRing& ring, const TxPassHooks& hooks,
                                   std::uint32_t budget);

}  // namespace shype::devices::net
