// The bridge's label filter with a fake decision function: caching per
// pair, denial, failures not cached, flush on a policy change, forgetting
// a domain.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "label_filter.hpp"

namespace shype::devices::net {
namespace {

// Labels by domain and which labels share a type, as a policy would say.
struct FakePolicy {
  std::map<abi::domid_t, std::string> label;
  std::set<std::pair<std::string, std::string>> shares;
  int asked = 0;
  std::optional<bool> decide(abi::domid_t a, abi::domid_t b) {
    ++asked;
    if (!label.contains(a) || !label.contains(b)) return std::nullopt;
    const auto& la = label[a];
    const auto& lb = label[b];
    return la == lb || shares.contains({la, lb}) || shares.contains({lb, la});
  }
};

TEST(LabelFilterTest, SameLabelSharesOtherDoesNot) {
  FakePolicy policy;
  policy.label = {{1, "A-Bank"}, {2, "A-Bank"}, {3, "B-Bank"}};
  LabelFilter filter([&](abi::domid_t a, abi::domid_t b) { return policy.decide(a, b); });
  EXPECT_TRUE(filter.allows(1, 2));
  EXPECT_FALSE(filter.allows(1, 3));
  EXPECT_FALSE(filter.allows(3, 2));
  EXPECT_TRUE(filter.allows(3, 3));  // a domain reaches itself without asking
  EXPECT_EQ(policy.asked, 3);
}

TEST(LabelFilterTest, DecisionsAreCachedPerPair) {
  FakePolicy policy;
  policy.label = {{1, "A-Bank"}, {3, "B-Bank"}};
  LabelFilter filter([&](abi::domid_t a, abi::domid_t b) { return policy.decide(a, b); });
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(filter.allows(1, 3));
  }
  EXPECT_EQ(policy.asked, 1);
  EXPECT_EQ(filter.stats().lookups, 100u);
  EXPECT_EQ(filter.stats().misses, 1u);
}

TEST(LabelFilterTest, PolicyChangeFlushesTheCache) {
  FakePolicy policy;
  policy.label = {{1, "A-Bank"}, {3, "B-Bank"}};
  LabelFilter filter([&](abi::domid_t a, abi::domid_t b) { return policy.decide(a, b); });
  EXPECT_FALSE(filter.allows(1, 3));
  policy.shares.insert({"A-Bank", "B-Bank"});  // a run-time update
  EXPECT_FALSE(filter.allows(1, 3));           // still the cached answer
  filter.policy_changed();
  EXPECT_TRUE(filter.allows(1, 3));
  policy.label[3] = "C-Bank";  // a relabel
  filter.policy_changed();
  EXPECT_FALSE(filter.allows(1, 3));
  EXPECT_EQ(filter.stats().flushes, 2u);
}

TEST(LabelFilterTest, NoDecisionDeniesAndIsNotCached) {
  FakePolicy policy;
  policy.label = {{1, "A-Bank"}};
  LabelFilter filter([&](abi::domid_t a, abi::domid_t b) { return policy.decide(a, b); });
  EXPECT_FALSE(filter.allows(1, 2));
  policy.label[2] = "A-Bank";
  EXPECT_TRUE(filter.allows(1, 2));
  EXPECT_EQ(filter.stats().failures, 1u);
}

TEST(LabelFilterTest, ForgettingADomainDropsItsPairsOnly) {
  FakePolicy policy;
  policy.label = {{1, "A-Bank"}, {2, "A-Bank"}, {3, "B-Bank"}};
  LabelFilter filter([&](abi::domid_t a, abi::domid_t b) { return policy.decide(a, b); });
  EXPECT_TRUE(filter.allows(1, 2));
  EXPECT_FALSE(filter.allows(3, 1));
  EXPECT_TRUE(filter.allows(2, 1));
  EXPECT_EQ(filter.cached(), 3u);
  filter.forget_domain(3);
  EXPECT_EQ(filter.cached(), 2u);
  policy.label[3] = "A-Bank";  // domid 3 reused by another domain
  EXPECT_TRUE(filter.allows(3, 1));
}

}  // namespace
}  // namespace shype::devices::net
