// What /proc/<pid>/stat says about a domain's process: its scheduler state
// (R running, S/D blocked, T/t stopped, Z exited), its CPU time and the CPU
// it last ran on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace shype::hv {

struct ProcessSample {
  char state = '?';
  std::uint64_t cpu_time_ns = 0;  // utime + stime
  int processor = -1;             // field 39, -1 if the text has none
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and
// parentheses: fields are counted after the last ')').
[[nodiscard]] std::optional<ProcessSample> parse_proc_stat(std::string_view text,
                                                           long clock_ticks_per_second);
[[nodiscard]] std::optional<ProcessSample> sample_process(pid_t pid);

}  // namespace shype::hv
