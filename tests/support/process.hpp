// Running a program from a test: its exit status and everything it printed,
// with a bounded wait. A program still running at the deadline is killed
// (its whole process group), so a test can never hang on it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace shype::testing {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal number
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the given arguments, stdin from /dev/null.
ProcessResult run_process(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The full path of `program` in $PATH (default /usr/bin:/bin), if it is an
// executable there.
std::optional<std::string> on_path(const std::string& program);

}  // namespace shype::testing
