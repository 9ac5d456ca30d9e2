// Property fuzzer for what a guest puts in its netif tx ring (STYLE.md
// rule 12; toolstack/devices/net/netif_frame.cpp and bridge.cpp): the exact
// pass netback runs over a tx ring page the guest controls completely.
//
// Input: a control byte, then the ring page (zero-padded to a page), then
// the contents of up to three tx-pool pages (grant refs 0..2; any other
// ref is not in the pool). Control bit 0: keep the page's producer index
// only if it is within one ring of zero (so mutations reach the requests
// instead of the overflow check). Every accepted frame goes through a
// three-port bridge and the label filter.
//
// Properties, for every input:
//  - nothing crashes or reads outside the ring or a pool page (ASan);
//  - every request taken is answered, kNetifRspOkay exactly for those
//    forwarded, so taken == forwarded + rejected;
//  - a forwarded frame is 14..1514 bytes, equals the pool page's bytes at
//    the request's offset, and came from a request check_tx_request accepts;
//  - no more requests are taken than the ring holds unanswered slots for;
//  - the bridge never routes a frame back to its sender or to an unknown port.
// Any violation aborts.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bridge.hpp"
#include "label_filter.hpp"
#include "netif_frame.hpp"

namespace {

using namespace shype;
using namespace shype::devices::net;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_netif_tx: property violated: %s\n", property);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  ++data;
  --size;

  auto shared = std::make_unique<abi::io::NetifTxSharedRing>();
  static_assert(sizeof(abi::io::NetifTxSharedRing) <= abi::kPageSize);
  std::memset(shared.get(), 0, sizeof *shared);
  const std::size_t ring_bytes = std::min(size, sizeof *shared);
  // SAFETY: the ring is a plain-bytes struct of sizeof *shared bytes.
  std::memcpy(reinterpret_cast<std::uint8_t*>(shared.get()), data, ring_bytes);
  data += ring_bytes;
  size -= ring_bytes;
  if ((control & 1u) != 0) {
    shared->header.req_prod %= abi::io::NetifTxSharedRing::kSlots + 1;
    shared->header.rsp_prod = 0;
  }

  std::vector<std::vector<std::uint8_t>> pool;
  while (pool.size() < 3 && size > 0) {
    std::vector<std::uint8_t> page(abi::kPageSize, 0);
    const std::size_t n = std::min(size, page.size());
    std::memcpy(page.data(), data, n);
    data += n;
    size -= n;
    pool.push_back(std::move(page));
  }

  Bridge bridge("xenbr0", std::chrono::seconds{300}, 8);
  for (PortId p = 1; p <= 3; ++p)
    bridge.add_port(p, BridgePort{static_cast<abi::domid_t>(p), 0, MacAddress{}});
  LabelFilter filter([](abi::domid_t a, abi::domid_t b) -> std::optional<bool> {
    return (a + b) % 2 == 0;
  });

  abi::io::NetifTxBackRing ring(shared.get());
  std::uint32_t forwarded_seen = 0;
  TxPassHooks hooks;
  hooks.page_of = [&](abi::grant_ref_t ref) -> const std::uint8_t* {
    return ref < pool.size() ? pool[ref].data() : nullptr;
  };
  hooks.forward = [&](const abi::io::NetifTxRequest& request, std::span<const std::uint8_t> frame,
                      const EthernetHeader& header) {
    ++forwarded_seen;
    if (frame.size() < abi::io::kNetifMinFrame || frame.size() > abi::io::kNetifMaxFrame)
      violated("forwarded frame size out of bounds");
    if (check_tx_request(request) != TxVerdict::ok) violated("forwarded a request that fails the checks");
    if (request.gref >= pool.size()) violated("forwarded a frame from outside the pool");
    if (frame.size() != request.size ||
        std::memcmp(frame.data(), pool[request.gref].data() + request.offset, frame.size()) != 0)
      violated("the forwarded frame differs from the page");
    const auto now = Bridge::Clock::time_point{} + std::chrono::seconds{forwarded_seen};
    const PortId from = 1 + forwarded_seen % 3;
    for (const PortId to : bridge.route(from, header, now)) {
      if (to == from) violated("bridge routed a frame back to its sender");
      if (bridge.port(to) == nullptr) violated("bridge routed to an unknown port");
      (void)filter.allows(static_cast<abi::domid_t>(from), static_cast<abi::domid_t>(to));
    }
  };
  hooks.rejected = [&](const abi::io::NetifTxRequest& request, TxVerdict verdict) {
    if (verdict == TxVerdict::ok) violated("a rejection with verdict ok");
    if (verdict != TxVerdict::bad_grant && check_tx_request(request) == TxVerdict::ok)
      violated("a request rejected by the field checks passes them");
  };

  std::uint32_t total_taken = 0;
  for (int pass = 0; pass < 8; ++pass) {
    const auto stats = serve_tx(ring, hooks, 64);
    (void)ring.push_responses();
    if (stats.taken != stats.forwarded + stats.rejected)
      violated("a request taken was neither forwarded nor rejected");
    total_taken += stats.taken;
    if (stats.taken == 0) break;
  }
  if (forwarded_seen > total_taken) violated("more frames forwarded than requests taken");
  if (ring.requests_taken() != total_taken) violated("the ring's count differs from the passes'");
  if ((control & 1u) != 0 && total_taken > abi::io::NetifTxSharedRing::kSlots)
    violated("more requests taken than the producer published");
  return 0;
}
