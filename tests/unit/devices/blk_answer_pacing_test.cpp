// AnswerPacing: half-ring answers while they are free, whole-ring answers
// while each one hands the backend's CPU to the frontend.
#include <gtest/gtest.h>

#include "devices/answer_pacing.hpp"

namespace shype::devices {
namespace {

constexpr std::uint32_t kSlots = 32;

void probe(AnswerPacing& pacing, std::uint32_t times, bool preempted) {
  for (std::uint32_t i = 0; i < times; ++i)
    pacing.answered_mid_ring(preempted);
}

TEST(AnswerPacing, StartsWithHalfRings) {
  const AnswerPacing pacing(kSlots);
  EXPECT_EQ(pacing.batch(), kSlots / 2);
  EXPECT_FALSE(pacing.whole_ring());
}

TEST(AnswerPacing, StaysWithHalfRingsWhileAnswersCostNothing) {
  AnswerPacing pacing(kSlots);
  probe(pacing, 10 * AnswerPacing::kWindow, false);
  EXPECT_EQ(pacing.batch(), kSlots / 2);
  EXPECT_EQ(pacing.switches(), 0u);
}

TEST(AnswerPacing, DecidesOnlyAtTheEndOfAWindow) {
  AnswerPacing pacing(kSlots);
  probe(pacing, AnswerPacing::kWindow - 1, true);
  EXPECT_FALSE(pacing.whole_ring());
  probe(pacing, 1, true);
  EXPECT_TRUE(pacing.whole_ring());
  EXPECT_EQ(pacing.batch(), kSlots);
  EXPECT_EQ(pacing.switches(), 1u);
}

TEST(AnswerPacing, SwitchesAtHalfAWindowPreempted) {
  AnswerPacing below(kSlots);
  probe(below, AnswerPacing::kPreemptedToSwitch - 1, true);
  probe(below, AnswerPacing::kWindow - AnswerPacing::kPreemptedToSwitch + 1, false);
  EXPECT_FALSE(below.whole_ring());

  AnswerPacing at(kSlots);
  probe(at, AnswerPacing::kPreemptedToSwitch, true);
  probe(at, AnswerPacing::kWindow - AnswerPacing::kPreemptedToSwitch, false);
  EXPECT_TRUE(at.whole_ring());
}

TEST(AnswerPacing, WindowsDoNotCarryOver) {
  AnswerPacing pacing(kSlots);
  // Seven preempted answers in each of two windows: fourteen in all, but
  // never eight in one window.
  for (int w = 0; w < 2; ++w) {
    probe(pacing, AnswerPacing::kPreemptedToSwitch - 1, true);
    probe(pacing, AnswerPacing::kWindow - AnswerPacing::kPreemptedToSwitch + 1, false);
  }
  EXPECT_FALSE(pacing.whole_ring());
}

TEST(AnswerPacing, TriesHalfRingsAgainAfterAWhile) {
  AnswerPacing pacing(kSlots);
  probe(pacing, AnswerPacing::kWindow, true);
  ASSERT_TRUE(pacing.whole_ring());
  // Mid-ring probes while on whole rings change nothing.
  probe(pacing, 3 * AnswerPacing::kWindow, false);
  for (std::uint32_t i = 0; i + 1 < AnswerPacing::kWholeRingAnswers; ++i)
    pacing.answered();
  EXPECT_TRUE(pacing.whole_ring());
  pacing.answered();
  EXPECT_FALSE(pacing.whole_ring());
  EXPECT_EQ(pacing.batch(), kSlots / 2);
  // And goes back to whole rings if answers still cost the CPU.
  probe(pacing, AnswerPacing::kWindow, true);
  EXPECT_TRUE(pacing.whole_ring());
  EXPECT_EQ(pacing.switches(), 2u);
}

TEST(AnswerPacing, OtherAnswersDoNotCountAsProbes) {
  AnswerPacing pacing(kSlots);
  probe(pacing, AnswerPacing::kWindow - 1, true);
  for (int i = 0; i < 100; ++i)
    pacing.answered();
  EXPECT_FALSE(pacing.whole_ring());
  probe(pacing, 1, true);
  EXPECT_TRUE(pacing.whole_ring());
}

}  // namespace
}  // namespace shype::devices
