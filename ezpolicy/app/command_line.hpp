// xensec_ezpolicy's command line, parsed once so that main only dispatches:
//   xensec_ezpolicy [FILE.wld]                      the window (a later stage)
//   xensec_ezpolicy --translate FILE.wld --policy NAME [-o OUT.xml] [--date TEXT]
//   xensec_ezpolicy --help | --version
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace shype::ezpolicy::app {

enum class Mode { window, translate, help, version };

struct CommandLine {
  Mode mode = Mode::window;
  std::optional<std::string> workload_file;  // FILE.wld (window or --translate)
  std::optional<std::string> policy_name;    // --policy
  std::optional<std::string> output;         // -o / --output
  std::optional<std::string> date;           // --date (reproducible output)
};

// A usage error's message, or the parsed command line.
struct ParsedCommandLine {
  std::optional<CommandLine> command;
  std::string usage_error;
};

[[nodiscard]] ParsedCommandLine parse_command_line(const std::vector<std::string>& args);

// The --help text.
[[nodiscard]] const char* usage_text();

// Exit status of every mode: 0 success, 1 error, 2 usage (or no window in
// this build).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// The modes, each in its own file.
[[nodiscard]] int run_translate(const CommandLine& command);
[[nodiscard]] int run_window(const CommandLine& command);

}  // namespace shype::ezpolicy::app
