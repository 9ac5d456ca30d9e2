// The window is not part of this build yet: the wxWidgets front end will
// replace this file with one that defines run_window.
#include <cstdio>

#include "command_line.hpp"

namespace shype::ezpolicy::app {

int run_window(const CommandLine& /*command*/) {
  std::fprintf(stderr,
               "xensec_ezpolicy: the window is not built yet; use --translate FILE.wld --policy "
               "NAME (see --help)\n");
  return kExitUsage;
}

}  // namespace shype::ezpolicy::app
