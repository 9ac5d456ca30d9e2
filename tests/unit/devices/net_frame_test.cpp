// tx request validation, Ethernet header parsing and one tx pass over a
// real ring page, driven by a frontend (FrontRing) as netfront drives it.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "netif_frame.hpp"

namespace shype::devices::net {
namespace {

using abi::io::NetifTxRequest;
using abi::io::NetifTxResponse;

NetifTxRequest request(std::uint16_t offset, std::uint16_t size, std::uint16_t flags = 0) {
  return NetifTxRequest{7, offset, flags, 1, size};
}

TEST(TxRequestCheckTest, Bounds) {
  EXPECT_EQ(check_tx_request(request(0, 14)), TxVerdict::ok);
  EXPECT_EQ(check_tx_request(request(0, 1514)), TxVerdict::ok);
  EXPECT_EQ(check_tx_request(request(4096 - 1514, 1514)), TxVerdict::ok);
  EXPECT_EQ(check_tx_request(request(0, 13)), TxVerdict::too_short);
  EXPECT_EQ(check_tx_request(request(0, 0)), TxVerdict::too_short);
  EXPECT_EQ(check_tx_request(request(0, 1515)), TxVerdict::too_long);
  EXPECT_EQ(check_tx_request(request(0, 0xffff)), TxVerdict::too_long);
  EXPECT_EQ(check_tx_request(request(4096 - 1513, 1514)), TxVerdict::past_page);
  EXPECT_EQ(check_tx_request(request(0xffff, 60)), TxVerdict::past_page);
  EXPECT_EQ(check_tx_request(request(0, 60, 1)), TxVerdict::bad_flags);
  static_assert(check_tx_request(NetifTxRequest{0, 0, 0, 0, 60}) == TxVerdict::ok);
}

TEST(EthernetHeaderTest, ParsesAddressesAndType) {
  std::vector<std::uint8_t> bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x16,
                                     0x3e, 0x01, 0x02, 0x03, 0x08, 0x06, 0x00};
  const auto header = parse_ethernet(bytes);
  ASSERT_TRUE(header.has_value());
  EXPECT_TRUE(header->destination.is_broadcast());
  EXPECT_EQ(header->source.to_string(), "00:16:3e:01:02:03");
  EXPECT_EQ(header->ethertype, 0x0806);
  EXPECT_FALSE(parse_ethernet(std::span(bytes).first(13)).has_value());
}

// A ring page and a tx pool of pages, as netfront would set them up.
struct TxFixture {
  std::unique_ptr<abi::io::NetifTxSharedRing> shared = std::make_unique<abi::io::NetifTxSharedRing>();
  std::map<abi::grant_ref_t, std::vector<std::uint8_t>> pool;
  abi::io::NetifTxFrontRing front;
  abi::io::NetifTxBackRing back;
  std::vector<std::vector<std::uint8_t>> forwarded;
  std::vector<TxVerdict> rejections;
  TxPassHooks hooks;

  TxFixture() {
    shared->init();
    front = abi::io::NetifTxFrontRing(shared.get());
    back = abi::io::NetifTxBackRing(shared.get());
    hooks.page_of = [this](abi::grant_ref_t ref) -> const std::uint8_t* {
      const auto it = pool.find(ref);
      return it == pool.end() ? nullptr : it->second.data();
    };
    hooks.forward = [this](const NetifTxRequest&, std::span<const std::uint8_t> frame,
                           const EthernetHeader&) {
      forwarded.emplace_back(frame.begin(), frame.end());
    };
    hooks.rejected = [this](const NetifTxRequest&, TxVerdict v) { rejections.push_back(v); };
  }
  void post(const NetifTxRequest& r) {
    *front.next_request() = r;
    (void)front.push_requests();
  }
};

TEST(TxPassTest, ValidFramesAreCopiedOutAndAnsweredOkay) {
  TxFixture f;
  f.pool[3] = std::vector<std::uint8_t>(abi::kPageSize, 0);
  for (std::size_t i = 0; i < 60; ++i) f.pool[3][100 + i] = static_cast<std::uint8_t>(i);
  f.post(NetifTxRequest{3, 100, 0, 11, 60});
  const auto stats = serve_tx(f.back, f.hooks, 64);
  EXPECT_EQ(stats.taken, 1u);
  EXPECT_EQ(stats.forwarded, 1u);
  ASSERT_EQ(f.forwarded.size(), 1u);
  EXPECT_EQ(f.forwarded[0], std::vector<std::uint8_t>(f.pool[3].begin() + 100, f.pool[3].begin() + 160));
  (void)f.back.push_responses();
  NetifTxResponse rsp{};
  ASSERT_TRUE(f.front.take_response(&rsp));
  EXPECT_EQ(rsp.id, 11);
  EXPECT_EQ(rsp.status, abi::io::kNetifRspOkay);
}

TEST(TxPassTest, BadRequestsGetErrorsAndDoNotStopTheOthers) {
  TxFixture f;
  f.pool[1] = std::vector<std::uint8_t>(abi::kPageSize, 0xab);
  f.post(NetifTxRequest{1, 0, 0, 1, 5});        // too short
  f.post(NetifTxRequest{1, 4000, 0, 2, 200});   // past the page
  f.post(NetifTxRequest{99, 0, 0, 3, 60});      // not a pool grant
  f.post(NetifTxRequest{1, 0, 0, 4, 60});       // fine
  const auto stats = serve_tx(f.back, f.hooks, 64);
  EXPECT_EQ(stats.taken, 4u);
  EXPECT_EQ(stats.rejected, 3u);
  EXPECT_EQ(stats.forwarded, 1u);
  EXPECT_EQ(f.rejections, (std::vector<TxVerdict>{TxVerdict::too_short, TxVerdict::past_page,
                                                  TxVerdict::bad_grant}));
  (void)f.back.push_responses();
  std::vector<std::int16_t> statuses;
  NetifTxResponse rsp{};
  while (f.front.take_response(&rsp)) statuses.push_back(rsp.status);
  EXPECT_EQ(statuses, (std::vector<std::int16_t>{-1, -1, -1, 0}));
}

TEST(TxPassTest, BudgetBoundsOnePass) {
  TxFixture f;
  f.pool[1] = std::vector<std::uint8_t>(abi::kPageSize, 0);
  for (std::uint16_t i = 0; i < 10; ++i) f.post(NetifTxRequest{1, 0, 0, i, 60});
  EXPECT_EQ(serve_tx(f.back, f.hooks, 4).taken, 4u);
  EXPECT_EQ(serve_tx(f.back, f.hooks, 64).taken, 6u);
}

TEST(TxPassTest, LyingProducerIndexStopsTheRing) {
  TxFixture f;
  f.pool[1] = std::vector<std::uint8_t>(abi::kPageSize, 0);
  // The frontend claims far more requests than the ring holds.
  __atomic_store_n(&f.shared->header.req_prod, 100000u, __ATOMIC_RELEASE);
  const auto stats = serve_tx(f.back, f.hooks, 1000);
  EXPECT_EQ(stats.taken, 0u);
  EXPECT_TRUE(f.back.overflowed());
}

}  // namespace
}  // namespace shype::devices::net
