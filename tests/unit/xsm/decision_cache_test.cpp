#include "xsm/decision_cache.hpp"

#include <gtest/gtest.h>

namespace shype::xsm {
namespace {

constexpr auto kEvtchn = SharingKind::event_channel;
constexpr auto kGrant = SharingKind::grant;

TEST(DecisionCache, RemembersPermitsPerSubjectObjectAndKind) {
  DecisionCache cache(1);
  EXPECT_FALSE(cache.lookup(1, 0, kEvtchn));
  EXPECT_TRUE(cache.insert(1, 0, kEvtchn, 1));
  EXPECT_TRUE(cache.lookup(1, 0, kEvtchn));
  // One direction, one kind.
  EXPECT_FALSE(cache.lookup(0, 1, kEvtchn));
  EXPECT_FALSE(cache.lookup(1, 0, kGrant));
  EXPECT_FALSE(cache.lookup(1, 2, kEvtchn));
  EXPECT_TRUE(cache.insert(1, 0, kEvtchn, 1));  // again: no second entry
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.stats().inserts, 1u);
  // The largest domain ids work as subject and object.
  EXPECT_TRUE(cache.insert(0xffff, 0xffff, kGrant, 1));
  EXPECT_TRUE(cache.lookup(0xffff, 0xffff, kGrant));
  EXPECT_FALSE(cache.lookup(0xffff, 0xffff, kEvtchn));
}

TEST(DecisionCache, RefusesAPermitDecidedUnderAnOlderState) {
  DecisionCache cache(5);
  EXPECT_FALSE(cache.insert(1, 0, kEvtchn, 4));
  EXPECT_FALSE(cache.lookup(1, 0, kEvtchn));
  EXPECT_EQ(cache.stats().stale_inserts_refused, 1u);
  cache.flush(6);
  EXPECT_FALSE(cache.insert(1, 0, kEvtchn, 5));
  EXPECT_TRUE(cache.insert(1, 0, kEvtchn, 6));
}

TEST(DecisionCache, FlushForgetsEverything) {
  DecisionCache cache(1);
  for (abi::domid_t s = 0; s < 10; ++s)
    EXPECT_TRUE(cache.insert(s, 0, kEvtchn, 1));
  cache.flush(2);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.seqno(), 2u);
  for (abi::domid_t s = 0; s < 10; ++s)
    EXPECT_FALSE(cache.lookup(s, 0, kEvtchn));
  // Subjects come back empty after the flush.
  EXPECT_TRUE(cache.insert(9, 3, kGrant, 2));
  EXPECT_FALSE(cache.lookup(9, 0, kEvtchn));
  EXPECT_TRUE(cache.lookup(9, 3, kGrant));
}

TEST(DecisionCache, ForgettingADomainRemovesItsEntriesAndThoseNamingIt) {
  DecisionCache cache(1);
  ASSERT_TRUE(cache.insert(1, 0, kEvtchn, 1));
  ASSERT_TRUE(cache.insert(1, 3, kEvtchn, 1));
  ASSERT_TRUE(cache.insert(3, 0, kGrant, 1));
  ASSERT_TRUE(cache.insert(2, 3, kGrant, 1));
  cache.forget_domain(3);
  EXPECT_TRUE(cache.lookup(1, 0, kEvtchn));
  EXPECT_FALSE(cache.lookup(1, 3, kEvtchn));
  EXPECT_FALSE(cache.lookup(3, 0, kGrant));
  EXPECT_FALSE(cache.lookup(2, 3, kGrant));
  EXPECT_EQ(cache.size(), 1u);
  cache.forget_domain(40000);  // never seen: nothing happens
  EXPECT_EQ(cache.size(), 1u);
}

TEST(DecisionCache, AFullSubjectEvictsRoundRobin) {
  DecisionCache cache(1);
  for (abi::domid_t o = 0; o < DecisionCache::kSlots; ++o)
    ASSERT_TRUE(cache.insert(1, o, kEvtchn, 1));
  EXPECT_EQ(cache.stats().evictions, 0u);
  ASSERT_TRUE(cache.insert(1, 100, kEvtchn, 1));  // evicts object 0
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_TRUE(cache.lookup(1, 100, kEvtchn));
  EXPECT_FALSE(cache.lookup(1, 0, kEvtchn));
  EXPECT_TRUE(cache.lookup(1, 1, kEvtchn));
  ASSERT_TRUE(cache.insert(1, 101, kEvtchn, 1));  // evicts object 1
  EXPECT_FALSE(cache.lookup(1, 1, kEvtchn));
  EXPECT_EQ(cache.size(), DecisionCache::kSlots);
  // A freed slot is reused before anything is evicted.
  cache.forget_domain(5);
  ASSERT_TRUE(cache.insert(1, 102, kEvtchn, 1));
  EXPECT_EQ(cache.stats().evictions, 2u);
  EXPECT_TRUE(cache.lookup(1, 7, kEvtchn));
}

}  // namespace
}  // namespace shype::xsm
