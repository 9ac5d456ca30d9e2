// xensec_ezpolicy: the workload policy editor (manual 10.2.2). A thin view
// over the ezpolicy library (STYLE.md rule 2): main parses the command line
// and dispatches to one mode.
#include <cstdio>
#include <string>
#include <vector>

#include "command_line.hpp"

#ifndef SHYPE_VERSION
#define SHYPE_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace shype::ezpolicy::app;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const ParsedCommandLine parsed = parse_command_line(args);
  if (!parsed.command) {
    std::fprintf(stderr, "xensec_ezpolicy: %s\n%s", parsed.usage_error.c_str(), usage_text());
    return kExitUsage;
  }
  switch (parsed.command->mode) {
    case Mode::help:
      std::fputs(usage_text(), stdout);
      return kExitOk;
    case Mode::version:
      std::printf("xensec_ezpolicy (shype) %s\n", SHYPE_VERSION);
      return kExitOk;
    case Mode::translate:
      return run_translate(*parsed.command);
    case Mode::window:
      return run_window(*parsed.command);
  }
  return kExitUsage;
}
