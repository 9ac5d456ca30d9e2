// The learning bridge: learning, flooding of broadcast / multicast /
// unknown unicast, forwarding, ageing, port removal and the address bound.
#include <gtest/gtest.h>

#include "bridge.hpp"

namespace shype::devices::net {
namespace {

using namespace std::chrono_literals;

MacAddress mac(std::uint8_t last) { return MacAddress{{0x00, 0x16, 0x3e, 0x00, 0x00, last}}; }
const MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const MacAddress kMulticast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};

EthernetHeader frame(const MacAddress& to, const MacAddress& from) {
  return EthernetHeader{to, from, 0x0800};
}

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (PortId p = 1; p <= 3; ++p)
      bridge.add_port(p, BridgePort{static_cast<abi::domid_t>(p), 0, mac(static_cast<std::uint8_t>(p))});
  }
  Bridge bridge{"xenbr0", 300s, 16};
  Bridge::Clock::time_point t0 = Bridge::Clock::time_point{} + 1000s;
};

TEST_F(BridgeTest, BroadcastFloodsToEveryOtherPort) {
  EXPECT_EQ(bridge.route(1, frame(kBroadcast, mac(1)), t0), (std::vector<PortId>{2, 3}));
  EXPECT_EQ(bridge.route(2, frame(kMulticast, mac(2)), t0), (std::vector<PortId>{1, 3}));
}

TEST_F(BridgeTest, UnknownUnicastFloodsThenLearnedGoesToOnePort) {
  EXPECT_EQ(bridge.route(1, frame(mac(2), mac(1)), t0), (std::vector<PortId>{2, 3}));
  // mac(1) was learned on port 1: the answer goes there only.
  EXPECT_EQ(bridge.route(2, frame(mac(1), mac(2)), t0), (std::vector<PortId>{1}));
  EXPECT_EQ(bridge.route(1, frame(mac(2), mac(1)), t0), (std::vector<PortId>{2}));
  EXPECT_EQ(bridge.lookup(mac(1), t0), PortId{1});
}

TEST_F(BridgeTest, FrameToItsOwnPortIsDropped) {
  (void)bridge.route(1, frame(kBroadcast, mac(1)), t0);
  EXPECT_TRUE(bridge.route(1, frame(mac(1), mac(9)), t0).empty());
}

TEST_F(BridgeTest, AddressMovesToTheLastPortItWasSeenOn) {
  (void)bridge.route(1, frame(kBroadcast, mac(7)), t0);
  (void)bridge.route(3, frame(kBroadcast, mac(7)), t0);
  EXPECT_EQ(bridge.route(2, frame(mac(7), mac(2)), t0), (std::vector<PortId>{3}));
}

TEST_F(BridgeTest, LearnedAddressesAgeOut) {
  (void)bridge.route(1, frame(kBroadcast, mac(1)), t0);
  EXPECT_EQ(bridge.route(2, frame(mac(1), mac(2)), t0 + 299s), (std::vector<PortId>{1}));
  // mac(1) last seen at t0: stale after 300 s, flooded again.
  EXPECT_EQ(bridge.route(2, frame(mac(1), mac(2)), t0 + 301s), (std::vector<PortId>{1, 3}));
}

TEST_F(BridgeTest, RemovedPortIsForgottenWithItsAddresses) {
  (void)bridge.route(1, frame(kBroadcast, mac(1)), t0);
  bridge.remove_port(1);
  EXPECT_FALSE(bridge.lookup(mac(1), t0).has_value());
  EXPECT_EQ(bridge.route(2, frame(mac(1), mac(2)), t0), (std::vector<PortId>{3}));
  EXPECT_TRUE(bridge.route(1, frame(kBroadcast, mac(1)), t0).empty());  // unknown sender
}

TEST_F(BridgeTest, MulticastAndZeroSourcesAreNotLearned) {
  (void)bridge.route(1, frame(kBroadcast, kMulticast), t0);
  (void)bridge.route(1, frame(kBroadcast, MacAddress{}), t0);
  EXPECT_EQ(bridge.learned_count(), 0u);
}

TEST_F(BridgeTest, InventedSourcesCannotGrowTheTableBeyondItsBound) {
  for (std::uint32_t i = 0; i < 1000; ++i) {
    const MacAddress fake{{0x02, 0, 0, static_cast<std::uint8_t>(i >> 8),
                           static_cast<std::uint8_t>(i), 1}};
    (void)bridge.route(1, frame(kBroadcast, fake), t0);
  }
  EXPECT_EQ(bridge.learned_count(), 16u);
  // Honest ports still get through (flooded when not learned).
  const auto to = bridge.route(2, frame(mac(3), mac(2)), t0);
  EXPECT_NE(std::find(to.begin(), to.end(), PortId{3}), to.end());
}

TEST(MacAddressTest, ParsesAndPrints) {
  const auto parsed = MacAddress::parse("00:16:3E:0a:ff:01");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->to_string(), "00:16:3e:0a:ff:01");
  EXPECT_FALSE(parsed->is_multicast());
  EXPECT_FALSE(MacAddress::parse("00:16:3e:0a:ff").has_value());
  EXPECT_FALSE(MacAddress::parse("00-16-3e-0a-ff-01").has_value());
  EXPECT_FALSE(MacAddress::parse("00:16:3e:0a:ff:0g").has_value());
  EXPECT_TRUE(MacAddress::parse("ff:ff:ff:ff:ff:ff")->is_broadcast());
}

TEST(MacAddressTest, GeneratedAddressesAreXenOuiAndAvoidTakenOnes) {
  std::mt19937_64 rng(42);
  std::vector<MacAddress> seen;
  for (int i = 0; i < 200; ++i) {
    const auto made = generate_mac(rng, [&](const MacAddress& m) {
      return std::find(seen.begin(), seen.end(), m) != seen.end();
    });
    ASSERT_TRUE(made.has_value());
    EXPECT_EQ(made->bytes[0], 0x00);
    EXPECT_EQ(made->bytes[1], 0x16);
    EXPECT_EQ(made->bytes[2], 0x3e);
    seen.push_back(*made);
  }
  EXPECT_FALSE(generate_mac(rng, [](const MacAddress&) { return true; }).has_value());
}

}  // namespace
}  // namespace shype::devices::net
