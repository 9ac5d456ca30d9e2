// How often a block backend answers a frontend that keeps its ring full.
//
// Answering every half ring lets a frontend on another CPU refill one half
// while the other is read or written: the two overlap. But when the host's
// scheduler has put the frontend on the backend's own CPU (a task woken by
// another lands on the waker's CPU, and some hosts pack virtual CPUs on
// purpose), each answer in the middle of a ring preempts the backend: its
// copy stops while the frontend runs, twice as many times as with one
// answer per ring. Which of the two is true changes at run time, so it is
// measured: the backend tells the pacing, for each answer in the middle of
// a ring, whether the notification cost it the CPU (the thread's
// involuntary context switches went up during the notify). When at least
// half of a window of such answers did, it answers once per ring for a
// while, then tries half rings again.
//
// Pure: the caller does the measuring (tests drive it directly).
#pragma once

#include <cstdint>

namespace shype::devices {

class AnswerPacing {
 public:
  // Answers in the middle of a ring looked at before deciding.
  static constexpr std::uint32_t kWindow = 16;
  // Of those, how many must have cost the CPU to answer once per ring.
  static constexpr std::uint32_t kPreemptedToSwitch = kWindow / 2;
  // Whole-ring answers before half rings are tried again.
  static constexpr std::uint32_t kWholeRingAnswers = 64;

  explicit AnswerPacing(std::uint32_t ring_slots) : slots_(ring_slots) {}

  // Requests done before answering in the middle of a serve.
  [[nodiscard]] std::uint32_t batch() const { return whole_left_ > 0 ? slots_ : slots_ / 2; }
  [[nodiscard]] bool whole_ring() const { return whole_left_ > 0; }

  // An answer in the middle of a serve (only made with half-ring batches);
  // `preempted`: the notification handed the CPU to someone else.
  void answered_mid_ring(bool preempted) {
    if (whole_left_ > 0) return;
    ++probes_;
    if (preempted) ++preempted_;
    if (probes_ < kWindow) return;
    if (preempted_ >= kPreemptedToSwitch) {
      whole_left_ = kWholeRingAnswers;
      ++switches_;
    }
    probes_ = 0;
    preempted_ = 0;
  }

  // Any other answer (a whole ring's, or the one at the end of a serve).
  void answered() {
    if (whole_left_ > 0) --whole_left_;
  }

  // Times it went to whole rings (statistics and tests).
  [[nodiscard]] std::uint64_t switches() const { return switches_; }

 private:
  std::uint32_t slots_;
  std::uint32_t probes_ = 0;
  std::uint32_t preempted_ = 0;
  std::uint32_t whole_left_ = 0;
  std::uint64_t switches_ = 0;
};

}  // namespace shype::devices
