// The compiled decision engine against the reference evaluator (STYLE.md
// rule 13): on the shipped policies and on random ones, every label pair
// gets the same share / authorize / resource-access answer, and random
// start/stop sequences get the same admission answers.
#include <cstdio>
#include <random>

#include <gtest/gtest.h>

#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "acm/reference_evaluator.hpp"
#include "policy_fixtures.hpp"
#include "policy_generator.hpp"

namespace shype::acm {
namespace {

struct Named {
  std::string name;
  Ssidref ssidref;
};

// How often each answer came up, so that a generator that stopped making
// interesting policies is noticed.
struct Coverage {
  std::size_t shares = 0, share_denials = 0, authorizations = 0, authorization_denials = 0;
  std::size_t admissions = 0, admission_denials = 0;
};

void compare_policy(const PolicyModel& model, std::uint64_t seed,
                    const SteIndex::Options& options = {}, Coverage* coverage = nullptr) {
  Coverage unused;
  Coverage& seen = coverage ? *coverage : unused;
  SCOPED_TRACE(model.header.name);
  auto compiled = compile_policy(model, {});
  ASSERT_TRUE(compiled) << compiled.error().to_string();
  auto built = PolicyEngine::build(compiled->image, options);
  ASSERT_TRUE(built) << built.error().to_string();
  const PolicyEngine& engine = *built;
  const ReferenceEvaluator ref(model);
  const LabelNumbering& n = compiled->numbering;

  // VM labels, plus unlabeled ("" -> ssidref 0) whether or not it is defined.
  std::vector<Named> vms{{"", kUnlabeledSsidref}};
  for (const auto& l : model.vm_labels)
    vms.push_back({l.name, *n.vm_label_ssidref(l.name)});
  std::vector<Named> resources{{"", kUnlabeledSsidref}};
  for (const auto& l : model.resource_labels)
    resources.push_back({l.name, *n.resource_label_ssidref(l.name)});

  for (const auto& a : vms) {
    for (const auto& b : vms) {
      const bool share = engine.share(a.ssidref, b.ssidref);
      ASSERT_EQ(share, ref.share(a.name, b.name)) << "share " << a.name << " " << b.name;
      ASSERT_EQ(engine.explain_share(a.ssidref, b.ssidref).permitted, share);
      ++(share ? seen.shares : seen.share_denials);
      const bool authorize = engine.authorize(a.ssidref, b.ssidref);
      ASSERT_EQ(authorize, ref.authorize(a.name, b.name))
          << "authorize " << a.name << " " << b.name;
      ASSERT_EQ(engine.explain_authorize(a.ssidref, b.ssidref).permitted, authorize);
      ++(authorize ? seen.authorizations : seen.authorization_denials);
    }
    for (const auto& r : resources) {
      const bool access = engine.resource_access(a.ssidref, r.ssidref);
      ASSERT_EQ(access, ref.resource_access(a.name, r.name))
          << "resource " << a.name << " " << r.name;
      ASSERT_EQ(engine.explain_resource_access(a.ssidref, r.ssidref).permitted, access);
    }
  }

  // Random start/stop sequences: the engine state is incremental, the
  // reference re-reads the running multiset every time.
  std::mt19937_64 rng(seed);
  ChineseWallState state = engine.new_chinese_wall_state();
  std::vector<std::string> running_names;
  std::vector<RunningDomain> running;
  for (int step = 0; step < 120; ++step) {
    if (!running.empty() && rng() % 5 < 2) {
      const std::size_t victim = rng() % running.size();
      state.stop(primary_half(running[victim].ssidref));
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(victim));
      running_names.erase(running_names.begin() + static_cast<std::ptrdiff_t>(victim));
      continue;
    }
    const Named& candidate = vms[rng() % vms.size()];
    const bool admissible = engine.admissible(state, candidate.ssidref);
    ASSERT_EQ(admissible, ref.admissible(candidate.name, running_names))
        << "admit " << candidate.name << " at step " << step;
    ASSERT_EQ(engine.explain_admission(state, candidate.ssidref).permitted, admissible);
    ++(admissible ? seen.admissions : seen.admission_denials);
    if (!admissible) continue;
    ASSERT_TRUE(state.try_start(primary_half(candidate.ssidref)));
    running.push_back({static_cast<std::uint32_t>(step), candidate.ssidref});
    running_names.push_back(candidate.name);
  }
  // Recomputing from scratch gives the incremental counters.
  auto rebuilt = engine.rebuild_chinese_wall(running);
  ASSERT_TRUE(rebuilt) << rebuilt.error().to_string();
  EXPECT_EQ(*rebuilt, state);
}

TEST(Differential, ShippedPolicies) {
  compare_policy(testing::mytest_model(), 1);
  compare_policy(testing::default_model(), 2);
  compare_policy(testing::example_test_model(), 3);
}

TEST(Differential, RandomPolicies) {
  std::mt19937_64 rng(0x5eed);
  Coverage seen;
  for (int i = 0; i < 600; ++i) {
    const PolicyModel model = testing::random_policy(rng);
    compare_policy(model, rng(), {}, &seen);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Both answers of every question must have come up often.
  EXPECT_GT(seen.shares, 1000u);
  EXPECT_GT(seen.share_denials, 1000u);
  EXPECT_GT(seen.authorizations, 1000u);
  EXPECT_GT(seen.authorization_denials, 1000u);
  EXPECT_GT(seen.admissions, 1000u);
  EXPECT_GT(seen.admission_denials, 1000u);
  std::printf(
      "random policies: %zu/%zu shares, %zu/%zu authorizations, %zu/%zu admissions (permit/deny)\n",
      seen.shares, seen.share_denials, seen.authorizations, seen.authorization_denials,
      seen.admissions, seen.admission_denials);
}

// Bigger, denser random policies (many big STE rows), with every fallback
// representation of the STE index forced.
TEST(Differential, DenseRandomPoliciesWithEveryRepresentation) {
  testing::RandomPolicyShape shape;
  shape.max_ste_types = 24;
  shape.max_vm_labels = 16;
  shape.big_label_probability = 0.6;
  SteIndex::Options no_matrix;
  no_matrix.big_matrix_budget_bytes = 0;
  SteIndex::Options neither = no_matrix;
  neither.big_row_bitset_budget_bytes = 0;
  std::mt19937_64 rng(0xde75e);
  for (std::uint64_t i = 0; i < 60; ++i) {
    const PolicyModel model = testing::random_policy(rng, shape);
    for (const auto& options : {SteIndex::Options{}, no_matrix, neither}) {
      compare_policy(model, i, options);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(PolicyGenerator, ScaledPolicyHasTheEzPolicyShape) {
  const PolicyModel m = testing::scaled_policy(100, 100, 1);
  EXPECT_EQ(m.ste->types.size(), 101u);  // SystemManagement + 100 workloads
  EXPECT_EQ(m.vm_labels.size(), 100u);
  EXPECT_EQ(m.resource_labels.size(), 101u);
  EXPECT_EQ(m.vm_labels[0].name, "SystemManagement");
  EXPECT_EQ(m.vm_labels[0].ste_types.size(), 101u);
  EXPECT_FALSE(m.chwall->conflict_sets.empty());
  for (const auto& l : m.vm_labels) {
    if (l.name == "SystemManagement") continue;
    EXPECT_EQ(l.ste_types.size(), 1u) << l.name;
    // A department carries its organisation's CHWALL type too.
    EXPECT_EQ(l.chwall_types.size(), l.name.find('.') == std::string::npos ? 1u : 2u) << l.name;
  }
  const PolicyModel more = testing::scaled_policy(10, 30, 1);
  EXPECT_EQ(more.vm_labels.size(), 30u);
  EXPECT_EQ(testing::scaled_policy(10, 30, 1), more);  // deterministic
}

TEST(Differential, ScaledPolicy) {
  compare_policy(testing::scaled_policy(60, 80, 7), 4);
  compare_policy(testing::scaled_policy(40, 20, 8), 5);
}

}  // namespace
}  // namespace shype::acm
