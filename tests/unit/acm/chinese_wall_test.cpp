#include "acm/chinese_wall.hpp"

#include <gtest/gtest.h>

#include "acm/compiler.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using testing::items;
using testing::vm_label;

class MytestChineseWall : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = compile_policy(testing::mytest_model(), {});
    ASSERT_TRUE(c) << c.error().to_string();
    compiled_ = std::move(*c);
    auto index = ChineseWallIndex::build(compiled_.image);
    ASSERT_TRUE(index) << index.error().to_string();
    index_ = std::move(*index);
  }
  std::uint32_t label(const char* name) const { return *compiled_.numbering.vm_label_index(name); }
  std::uint32_t type(const char* name) const {
    return *compiled_.numbering.chwall_type_index(name);
  }

  CompiledPolicy compiled_;
  ChineseWallIndex index_;
};

// Manual 10.2.6, Test 1: with domain1 (A-Bank) running, domain2 (B-Bank)
// cannot start; AutoCorp can; once domain1 stops, B-Bank can start and then
// A-Bank cannot.
TEST_F(MytestChineseWall, Manual1026RunTimeExclusion) {
  ChineseWallState state(index_);
  ASSERT_TRUE(state.start(label("A-Bank")));
  EXPECT_FALSE(state.admissible(label("B-Bank")));
  EXPECT_TRUE(state.admissible(label("AutoCorp")));
  EXPECT_TRUE(state.admissible(label("SystemManagement")));
  EXPECT_FALSE(state.admissible(label("__UNLABELED__")));  // the rule names __UNLABELED__ too
  EXPECT_TRUE(state.admissible(label("A-Bank.SecurityUnderwriting")));

  const Status denied = state.start(label("B-Bank"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Errc::update_rejected);
  EXPECT_EQ(denied.error().message,
            "ACM_CHWALL_CONFLICT (0x103): Chinese Wall type 'B-Bank' of label 'B-Bank' conflicts "
            "with running type 'A-Bank' (conflict set 'RER')");

  ASSERT_TRUE(state.start(label("AutoCorp")));
  state.stop(label("A-Bank"));
  EXPECT_TRUE(state.admissible(label("B-Bank")));
  ASSERT_TRUE(state.start(label("B-Bank")));
  EXPECT_FALSE(state.admissible(label("A-Bank")));
  // Departments inherit their organisation's exclusions (CHWALL {A-Bank, dept}).
  EXPECT_FALSE(state.admissible(label("A-Bank.MarketAnalysis")));
}

TEST_F(MytestChineseWall, SameLabelNeverConflicts) {
  ChineseWallState state(index_);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(state.start(label("A-Bank.MarketAnalysis")));
  EXPECT_TRUE(state.admissible(label("A-Bank.MarketAnalysis")));
  EXPECT_FALSE(state.admissible(label("A-Bank.SecurityUnderwriting")));
  EXPECT_TRUE(state.admissible(label("A-Bank")));  // shares the org type, conflicts with nothing
  EXPECT_EQ(state.running_count(label("A-Bank.MarketAnalysis")), 3u);
  EXPECT_EQ(state.running_types()[type("A-Bank")], 3u);
}

TEST_F(MytestChineseWall, StopIsTheExactInverseOfStart) {
  ChineseWallState empty(index_);
  ChineseWallState state(index_);
  // __UNLABELED__ meets both conflict sets: its delta counts per set.
  ASSERT_TRUE(state.start(label("__UNLABELED__")));
  EXPECT_EQ(state.conflict_aggregate()[type("A-Bank")], 1u);
  EXPECT_EQ(state.conflict_aggregate()[type("A-Bank.SecurityUnderwriting")], 1u);
  EXPECT_FALSE(state.admissible(label("A-Bank.SecurityUnderwriting")));
  ASSERT_TRUE(state.start(label("SystemManagement")));
  ASSERT_TRUE(state.start(label("AutoCorp")));
  state.stop(label("__UNLABELED__"));
  state.stop(label("AutoCorp"));
  state.stop(label("SystemManagement"));
  EXPECT_EQ(state, empty);
}

TEST_F(MytestChineseWall, StoppingALabelThatIsNotRunningChangesNothing) {
  ChineseWallState state(index_);
  ASSERT_TRUE(state.start(label("A-Bank")));
  const ChineseWallState before = state;
  // A caller bug: asserts in debug builds, leaves the counters alone in release.
  EXPECT_DEBUG_DEATH(state.stop(label("B-Bank")), "not running");
  EXPECT_DEBUG_DEATH(state.stop(1000), "not running");
  EXPECT_EQ(state, before);
}

TEST_F(MytestChineseWall, CountersDoNotWrapAt16Bits) {
  ChineseWallState state(index_);
  constexpr std::uint32_t kMany = 70000;  // Xen's u16 counters wrapped at 65536
  for (std::uint32_t i = 0; i < kMany; ++i)
    ASSERT_TRUE(state.try_start(label("A-Bank")));
  EXPECT_FALSE(state.admissible(label("B-Bank")));
  for (std::uint32_t i = 0; i + 1 < kMany; ++i)
    state.stop(label("A-Bank"));
  EXPECT_FALSE(state.admissible(label("B-Bank")));
  state.stop(label("A-Bank"));
  EXPECT_TRUE(state.admissible(label("B-Bank")));
}

TEST_F(MytestChineseWall, OutOfRangeLabelsAreNeverAdmitted) {
  ChineseWallState state(index_);
  EXPECT_FALSE(state.admissible(7));
  EXPECT_FALSE(state.try_start(7));
  const Status s = state.start(0xffff);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_TRUE(state.explain_admission(7).label_out_of_range);
}

TEST_F(MytestChineseWall, ExplainNamesTypeSetAndRunningTypes) {
  ChineseWallState state(index_);
  ASSERT_TRUE(state.start(label("A-Bank")));
  const AdmissionExplanation why = state.explain_admission(label("B-Bank"));
  EXPECT_FALSE(why.admissible);
  EXPECT_EQ(why.blocked_type, type("B-Bank"));
  EXPECT_EQ(why.conflict_set, 0u);
  EXPECT_EQ(why.running_types, std::vector<std::uint32_t>{type("A-Bank")});
  EXPECT_TRUE(state.explain_admission(label("AutoCorp")).admissible);
}

// Xen's init_state (9.5): recompute from scratch; the first conflict is named.
TEST_F(MytestChineseWall, RebuildMatchesIncrementalStateAndNamesConflict) {
  const std::vector<std::uint32_t> running{label("SystemManagement"), label("A-Bank"),
                                           label("AutoCorp"), label("A-Bank")};
  auto rebuilt = ChineseWallState::rebuild(index_, running);
  ASSERT_TRUE(rebuilt) << rebuilt.error().to_string();
  ChineseWallState incremental(index_);
  for (std::uint32_t l : running)
    ASSERT_TRUE(incremental.try_start(l));
  EXPECT_EQ(*rebuilt, incremental);

  const std::vector<std::uint32_t> conflicting{label("A-Bank"), label("AutoCorp"), label("B-Bank")};
  auto bad = ChineseWallState::rebuild(index_, conflicting);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::update_rejected);
  EXPECT_NE(bad.error().message.find("0x103"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'B-Bank' of label 'B-Bank'"), std::string::npos);

  const std::vector<std::uint32_t> out_of_range{label("A-Bank"), 99};
  auto oor = ChineseWallState::rebuild(index_, out_of_range);
  ASSERT_FALSE(oor);
  EXPECT_EQ(oor.error().code, Errc::invalid_argument);
}

// A label meeting two conflict sets that share types counts each set once:
// the delta has multiplicity, and stop undoes it exactly.
TEST(ChineseWall, ConflictDeltaHasMultiplicity) {
  PolicyModel m;
  m.header.name = "multi";
  m.header.version = {1, 0};
  m.ste = SimpleTypeEnforcementComponent{false, items({"s"}), {}};
  m.chwall = ChineseWallComponent{true, items({"boot", "x", "y", "z"}), {}, {}};
  m.chwall->conflict_sets.push_back({"c1", items({"x", "y"}), {}});
  m.chwall->conflict_sets.push_back({"c2", items({"x", "y", "z"}), {}});
  m.has_subject_labels = true;
  m.bootstrap = testing::item("boot");
  m.vm_labels.push_back(vm_label("boot", {"s"}, {"boot"}));
  m.vm_labels.push_back(vm_label("X", {"s"}, {"x"}));
  m.vm_labels.push_back(vm_label("Y", {"s"}, {"y"}));
  m.vm_labels.push_back(vm_label("Z", {"s"}, {"z"}));
  auto c = compile_policy(m, {});
  ASSERT_TRUE(c) << c.error().to_string();
  auto index = ChineseWallIndex::build(c->image);
  ASSERT_TRUE(index);
  const auto& n = c->numbering;
  const std::uint32_t x = *n.vm_label_index("X");
  const auto delta = index->conflict_delta(x);
  EXPECT_EQ(std::count(delta.begin(), delta.end(), *n.chwall_type_index("y")), 2);
  EXPECT_EQ(std::count(delta.begin(), delta.end(), *n.chwall_type_index("z")), 1);

  ChineseWallState state(*index);
  ASSERT_TRUE(state.try_start(x));
  EXPECT_EQ(state.conflict_aggregate()[*n.chwall_type_index("y")], 2u);
  EXPECT_FALSE(state.admissible(*n.vm_label_index("Y")));
  EXPECT_FALSE(state.admissible(*n.vm_label_index("Z")));
  EXPECT_TRUE(state.admissible(*n.vm_label_index("boot")));
  state.stop(x);
  EXPECT_EQ(state, ChineseWallState(*index));
  EXPECT_TRUE(state.admissible(*n.vm_label_index("Y")));
}

// A policy without Chinese Wall types: every VM label is admissible.
TEST(ChineseWall, SteOnlyPolicyAdmitsEverything) {
  PolicyModel m = testing::mytest_model();
  m.chwall.reset();
  for (auto& l : m.vm_labels)
    l.chwall_types.clear();
  auto c = compile_policy(m, {});
  ASSERT_TRUE(c) << c.error().to_string();
  auto index = ChineseWallIndex::build(c->image);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->labels(), c->image.vm_label_count);
  ChineseWallState state(*index);
  for (std::uint32_t l = 0; l < index->labels(); ++l)
    ASSERT_TRUE(state.try_start(l));
  for (std::uint32_t l = 0; l < index->labels(); ++l)
    EXPECT_TRUE(state.admissible(l));
}

TEST(ChineseWall, RejectsBrokenImages) {
  auto c = compile_policy(testing::mytest_model(), {});
  ASSERT_TRUE(c);
  PolicyImage image = c->image;
  image.chwall_type_count = 3;  // rows name types up to 6
  EXPECT_FALSE(ChineseWallIndex::build(image));
}

}  // namespace
}  // namespace shype::acm
