#include "hv/domid_allocator.hpp"

#include <set>

#include <gtest/gtest.h>

#include "hv/domain_table.hpp"

namespace shype::hv {
namespace {

TEST(DomidAllocator, StartsAtTheFirstGuestId) {
  DomidAllocator allocator;
  const auto free = [](abi::domid_t) { return false; };
  EXPECT_EQ(allocator.peek(free), abi::kDomidFirstGuest);
}

TEST(DomidAllocator, PeekReservesNothingAndCommitAdvances) {
  DomidAllocator allocator;
  const auto free = [](abi::domid_t) { return false; };
  EXPECT_EQ(allocator.peek(free), 1);
  EXPECT_EQ(allocator.peek(free), 1);  // a failed creation costs no id
  allocator.commit(1);
  EXPECT_EQ(allocator.peek(free), 2);
}

TEST(DomidAllocator, IdsAreNotReusedUntilWrap) {
  DomidAllocator allocator;
  std::set<abi::domid_t> used;
  const auto in_use = [&](abi::domid_t id) { return used.count(id) != 0; };
  allocator.commit(1);
  allocator.commit(2);
  // Domain 1 was destroyed: still the next id is 3.
  EXPECT_EQ(allocator.peek(in_use), 3);
  allocator.commit(abi::kDomidMaxGuest);
  used.insert(1);
  EXPECT_EQ(allocator.peek(in_use), 2) << "wraps past the last guest id and skips ids in use";
}

TEST(DomidAllocator, NoneLeft) {
  DomidAllocator allocator;
  EXPECT_FALSE(allocator.peek([](abi::domid_t) { return true; }));
}

TEST(DomainTable, FindsByIdNameAndPid) {
  DomainTable table;
  table.insert(std::make_unique<Domain>(0, table.next_serial(), "Domain-0", 0x00010001));
  ASSERT_EQ(table.next_domid(), 1);
  auto guest = std::make_unique<Domain>(1, table.next_serial(), "web", 0x00020002);
  guest->pid = 4242;
  guest->process_alive = true;
  table.insert(std::move(guest));
  EXPECT_EQ(table.next_domid(), 2);
  ASSERT_NE(table.find(1), nullptr);
  EXPECT_EQ(table.find_by_name("web"), table.find(1));
  EXPECT_EQ(table.find_by_pid(4242), table.find(1));
  EXPECT_EQ(table.find_by_name("nope"), nullptr);
  EXPECT_NE(table.find(0)->serial, table.find(1)->serial);
  table.erase(1);
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_EQ(table.next_domid(), 2) << "not reused after destroy";
}

}  // namespace
}  // namespace shype::hv
