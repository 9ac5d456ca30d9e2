// The per-domain port table (hv/event_channels.hpp): allocation order, the
// limit, port 0, virq slots, and that freeing a port closes the
// hypervisor's doorbell copy.
#include "hv/event_channels.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>

namespace shype::hv {
namespace {

EventChannels::Port unbound_for(abi::domid_t remote) {
  EventChannels::Port port;
  port.state = abi::EvtchnState::unbound;
  port.remote_dom = remote;
  return port;
}

EventChannels::Port virq_port(abi::Virq virq) {
  EventChannels::Port port;
  port.state = abi::EvtchnState::virq;
  port.virq = virq;
  return port;
}

bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(HvEventChannels, PortZeroIsNeverAllocatedAndPortsAreLowestFirst) {
  EventChannels table;
  EXPECT_EQ(table.find(0), nullptr);
  EXPECT_EQ(table.allocate(unbound_for(1)), 1u);
  EXPECT_EQ(table.allocate(unbound_for(1)), 2u);
  EXPECT_EQ(table.allocate(unbound_for(1)), 3u);
  table.free(2);
  EXPECT_EQ(table.find(2), nullptr);
  EXPECT_EQ(table.allocate(unbound_for(7)), 2u) << "the lowest free port is reused";
  ASSERT_NE(table.find(2), nullptr);
  EXPECT_EQ(table.find(2)->remote_dom, 7);
  EXPECT_EQ(table.in_use(), 3u);
  EXPECT_EQ(table.allocated(), (std::vector<abi::evtchn_port_t>{1, 2, 3}));
}

TEST(HvEventChannels, FullTableRefusesAndOutOfRangeIsNeverFound) {
  EventChannels table;
  for (abi::evtchn_port_t expected = 1; expected < EventChannels::kPortLimit; ++expected) {
    ASSERT_EQ(table.allocate(unbound_for(0)), expected);
  }
  EXPECT_EQ(table.in_use(), EventChannels::kPortLimit - 1);
  EXPECT_FALSE(table.allocate(unbound_for(0)).has_value());
  EXPECT_EQ(table.find(EventChannels::kPortLimit), nullptr);
  EXPECT_EQ(table.find(0xffffffffu), nullptr);
  table.free(EventChannels::kPortLimit - 1);
  EXPECT_EQ(table.allocate(unbound_for(0)), EventChannels::kPortLimit - 1);
}

TEST(HvEventChannels, FreeIsIdempotentAndIgnoresUnknownPorts) {
  EventChannels table;
  ASSERT_EQ(table.allocate(unbound_for(0)), 1u);
  table.free(1);
  table.free(1);
  table.free(0);
  table.free(5000);
  EXPECT_EQ(table.in_use(), 0u);
  EXPECT_TRUE(table.allocated().empty());
}

TEST(HvEventChannels, VirqSlotsFollowTheirPorts) {
  EventChannels table;
  EXPECT_EQ(table.virq_port(abi::Virq::console), 0u);
  ASSERT_EQ(table.allocate(unbound_for(0)), 1u);
  ASSERT_EQ(table.allocate(virq_port(abi::Virq::console)), 2u);
  ASSERT_EQ(table.allocate(virq_port(abi::Virq::suspend)), 3u);
  EXPECT_EQ(table.virq_port(abi::Virq::console), 2u);
  EXPECT_EQ(table.virq_port(abi::Virq::suspend), 3u);
  EXPECT_EQ(table.virq_port(abi::Virq::dom_exc), 0u);
  EXPECT_EQ(table.virq_port(static_cast<abi::Virq>(1000)), 0u) << "out of the slot range";
  table.free(2);
  EXPECT_EQ(table.virq_port(abi::Virq::console), 0u);
  // Freeing an interdomain port never touches the virq slots.
  table.free(1);
  EXPECT_EQ(table.virq_port(abi::Virq::suspend), 3u);
}

TEST(HvEventChannels, FreeClosesTheDoorbellCopy) {
  EventChannels table;
  EventChannels::Port port;
  port.state = abi::EvtchnState::interdomain;
  port.doorbell = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  const int fd = port.doorbell.get();
  ASSERT_TRUE(fd_open(fd));
  ASSERT_EQ(table.allocate(std::move(port)), 1u);
  EXPECT_TRUE(fd_open(fd)) << "the table keeps it while the port is bound";
  table.free(1);
  EXPECT_FALSE(fd_open(fd)) << "closing the port closes the hypervisor's copy";
}

// Only ports whose doorbell the hypervisor keeps count against its
// descriptor budget; unbound ports hold no descriptor.
TEST(HvEventChannels, DoorbellsHeldCountsOnlyPortsWithADescriptor) {
  EventChannels table;
  EventChannels::Port unbound;
  unbound.state = abi::EvtchnState::unbound;
  ASSERT_EQ(table.allocate(std::move(unbound)), 1u);
  EventChannels::Port bound;
  bound.state = abi::EvtchnState::interdomain;
  bound.doorbell = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  ASSERT_EQ(table.allocate(std::move(bound)), 2u);
  EXPECT_EQ(table.in_use(), 2u);
  EXPECT_EQ(table.doorbells_held(), 1u);
  table.free(2);
  EXPECT_EQ(table.doorbells_held(), 0u);
}

}  // namespace
}  // namespace shype::hv
