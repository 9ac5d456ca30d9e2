#include "netif_frame.hpp"

#include <array>
#include <cstring>

namespace shype::devices::net {

std::string_view to_string(TxVerdict verdict) {
  switch (verdict) {
    case TxVerdict::ok: return "ok";
    case TxVerdict::too_short: return "frame shorter than an Ethernet header";
    case TxVerdict::too_long: return "frame longer than 1514 bytes";
    case TxVerdict::past_page: return "offset + size beyond the page";
    case TxVerdict::bad_flags: return "unknown flags";
    case TxVerdict::bad_grant: return "grant not mappable into the tx pool";
  }
  return "unknown";
}

std::optional<EthernetHeader> parse_ethernet(std::span<const std::uint8_t> frame) {
  if (frame.size() < abi::io::kNetifMinFrame) return std::nullopt;
  EthernetHeader header;
  std::memcpy(header.destination.bytes.data(), frame.data(), 6);
  std::memcpy(header.source.bytes.data(), frame.data() + 6, 6);
  header.ethertype = static_cast<std::uint16_t>((frame[12] << 8) | frame[13]);
  return header;
}

TxPassStats serve_tx(abi::io::NetifTxBackRing& ring, const TxPassHooks& hooks,
                     std::uint32_t budget) {
  TxPassStats stats;
  std::array<std::uint8_t, abi::io::kNetifMaxFrame> copy{};
  abi::io::NetifTxRequest request{};
  while (stats.taken < budget && ring.take_request(&request)) {
    ++stats.taken;
    TxVerdict verdict = check_tx_request(request);
    const std::uint8_t* page = nullptr;
    if (verdict == TxVerdict::ok) {
      page = hooks.page_of(request.gref);
      if (page == nullptr) verdict = TxVerdict::bad_grant;
    }
    abi::io::NetifTxResponse response{request.id, abi::io::kNetifRspOkay};
    if (verdict != TxVerdict::ok) {
      response.status = abi::io::kNetifRspError;
      ++stats.rejected;
      if (hooks.rejected) hooks.rejected(request, verdict);
    } else {
      // SAFETY: page is one mapped page; check_tx_request bounded
      // offset + size by the page size and size by the copy's size.
      std::memcpy(copy.data(), page + request.offset, request.size);
      const std::span<const std::uint8_t> frame(copy.data(), request.size);
      // check_tx_request guarantees a full header.
      const auto header = parse_ethernet(frame);
      if (header) {
        hooks.forward(request, frame, *header);
        ++stats.forwarded;
      }
    }
    ring.put_response(response);
  }
  return stats;
}

}  // namespace shype::devices::net
