// The grant table's bookkeeping (hv/grant_table.hpp): refs and handles
// lowest first, limits, who may map what, busy grants, ownership of
// Domain-0's mappings by connection. Refusals change nothing.
#include "hv/grant_table.hpp"

#include <gtest/gtest.h>

namespace shype::hv {
namespace {

constexpr std::uint64_t kFrames = 16;

Grant grant_of(std::uint32_t frame, abi::domid_t grantee, bool readonly = false,
               std::uint32_t grantee_serial = 7) {
  Grant grant;
  grant.grantee = grantee;
  grant.grantee_serial = grantee_serial;
  grant.frame = frame;
  grant.readonly = readonly;
  return grant;
}

TEST(GrantTable, RefsAreLowestFreeFirstAndFramesGrantedOnce) {
  GrantTable table;
  EXPECT_EQ(table.check_grant(0, kFrames), Errno::ok);
  EXPECT_EQ(table.add_grant(grant_of(0, 1)), 0u);
  EXPECT_EQ(table.add_grant(grant_of(1, 1)), 1u);
  EXPECT_EQ(table.add_grant(grant_of(2, 1)), 2u);
  EXPECT_EQ(table.check_grant(1, kFrames), Errno::inval) << "frame 1 is granted";
  EXPECT_EQ(table.check_grant(kFrames, kFrames), Errno::inval) << "not a frame";
  ASSERT_TRUE(table.take_grant(1));
  EXPECT_EQ(table.check_grant(1, kFrames), Errno::ok);
  EXPECT_EQ(table.add_grant(grant_of(9, 1)), 1u) << "ref 1 is reused first";
  ASSERT_NE(table.grant_of_frame(9), nullptr);
  EXPECT_EQ(table.grant_of_frame(9)->frame, 9u);
  EXPECT_EQ(table.grant_of_frame(1), nullptr);
  EXPECT_EQ(table.grant_count(), 3u);
  EXPECT_EQ(table.grant_refs(), (std::vector<abi::grant_ref_t>{0, 1, 2}));
  EXPECT_FALSE(table.take_grant(5));
}

TEST(GrantTable, TheTableIsBounded) {
  GrantTable table;
  const std::uint64_t frames = abi::kMaxGrantsPerDomain + 1;
  for (std::uint32_t frame = 0; frame < abi::kMaxGrantsPerDomain; ++frame) {
    ASSERT_EQ(table.check_grant(frame, frames), Errno::ok);
    ASSERT_EQ(table.add_grant(grant_of(frame, 1)), frame);
  }
  EXPECT_EQ(table.check_grant(abi::kMaxGrantsPerDomain, frames), Errno::nospc);
  EXPECT_EQ(table.grant_count(), abi::kMaxGrantsPerDomain);
}

TEST(GrantTable, OnlyTheGranteeMapsAndReadOnlyStaysReadOnly) {
  GrantTable table;
  const auto rw = table.add_grant(grant_of(0, 3));
  const auto ro = table.add_grant(grant_of(1, 3, true));
  EXPECT_EQ(table.check_access(rw, 3, 7, true), Errno::ok);
  EXPECT_EQ(table.check_access(rw, 3, 7, false), Errno::ok);
  EXPECT_EQ(table.check_access(rw, 4, 7, false), kGntBadGntref) << "another domain";
  EXPECT_EQ(table.check_access(rw, 3, 8, false), kGntBadGntref) << "a later domain, same id";
  EXPECT_EQ(table.check_access(ro, 3, 7, true), kGntPermissionDenied);
  EXPECT_EQ(table.check_access(ro, 3, 7, false), Errno::ok);
  EXPECT_EQ(table.check_access(99, 3, 7, false), kGntBadGntref);
  EXPECT_EQ(static_cast<std::int32_t>(kGntBadGntref), -3);
  EXPECT_EQ(static_cast<std::int32_t>(kGntPermissionDenied), -8);
}

TEST(GrantTable, AMappedGrantCannotEnd) {
  GrantTable table;
  const auto ref = table.add_grant(grant_of(0, 3));
  table.find_grant(ref)->mappings = 1;
  EXPECT_EQ(table.check_end(ref), Errno::busy);
  EXPECT_EQ(table.grant_count(), 1u);
  table.find_grant(ref)->mappings = 0;
  EXPECT_EQ(table.check_end(ref), Errno::ok);
  EXPECT_EQ(table.check_end(ref + 1), Errno::inval);
}

TEST(GrantTable, HandlesBelongToTheirConnection) {
  GrantTable table;
  const auto a = table.add_mapping(GrantMapping{1, 2, 0, false, 10});
  const auto b = table.add_mapping(GrantMapping{1, 2, 1, true, 11});
  const auto c = table.add_mapping(GrantMapping{1, 2, 2, true, 10});
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(c, 2u);
  EXPECT_NE(table.find_mapping(a, 10), nullptr);
  EXPECT_EQ(table.find_mapping(a, 11), nullptr) << "another connection's handle";
  EXPECT_EQ(table.find_mapping(7, 10), nullptr);
  const auto taken = table.take_mappings(std::uint64_t{10});
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].ref, 0u);
  EXPECT_EQ(taken[1].ref, 2u);
  EXPECT_EQ(table.mappings().size(), 1u);
  EXPECT_EQ(table.add_mapping(GrantMapping{}), 0u) << "handle 0 is reused first";
  EXPECT_EQ(table.take_mappings(std::nullopt).size(), 2u);
  EXPECT_TRUE(table.mappings().empty());
}

TEST(GrantTable, MappingsAreBounded) {
  GrantTable table;
  for (std::uint32_t i = 0; i < abi::kMaxMapsPerDomain; ++i) {
    ASSERT_FALSE(table.mappings_full());
    ASSERT_EQ(table.add_mapping(GrantMapping{}), i);
  }
  EXPECT_TRUE(table.mappings_full());
  ASSERT_TRUE(table.take_mapping(100));
  EXPECT_FALSE(table.mappings_full());
  EXPECT_EQ(table.add_mapping(GrantMapping{}), 100u);
}

}  // namespace
}  // namespace shype::hv
