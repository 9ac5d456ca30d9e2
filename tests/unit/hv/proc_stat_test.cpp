#include "hv/proc_stat.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

namespace shype::hv {
namespace {

TEST(ProcStat, ParsesStateAndCpuTime) {
  const char* text =
      "1234 (guest) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 0 0";
  const auto sample = parse_proc_stat(text, 100);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->state, 'S');
  EXPECT_EQ(sample->cpu_time_ns, 3'000'000'000ull);  // (250 + 50) ticks at 100 Hz
}

TEST(ProcStat, ProcessorWhenTheTextHasIt) {
  // Fields 1..39 of proc(5): the last is the CPU it last ran on.
  const char* text =
      "1234 (guest) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 0 0 "
      "0 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0";
  const auto sample = parse_proc_stat(text, 100);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->processor, 3);
  const auto short_text = parse_proc_stat(
      "1234 (guest) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 0 0", 100);
  ASSERT_TRUE(short_text);
  EXPECT_EQ(short_text->processor, -1);
}

TEST(ProcStat, CommandNamesMayHoldSpacesAndParentheses) {
  const char* text = "77 (a) b (c)) T 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0";
  const auto sample = parse_proc_stat(text, 100);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->state, 'T');
  EXPECT_EQ(sample->cpu_time_ns, 100'000'000ull);
}

TEST(ProcStat, MalformedTextIsRejected) {
  EXPECT_FALSE(parse_proc_stat("", 100));
  EXPECT_FALSE(parse_proc_stat("1 (x) R 1 2", 100));
  EXPECT_FALSE(parse_proc_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 x 3", 100));
  EXPECT_FALSE(parse_proc_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 1 3", 0));
}

TEST(ProcStat, SamplesThisProcess) {
  const auto sample = sample_process(::getpid());
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->state, 'R');
  EXPECT_GE(sample->processor, 0);
}

}  // namespace
}  // namespace shype::hv
