// Placeholder kernel, replaced by the split-device work.
#include "shype/guest/runtime.hpp"

int guest_main(int /*argc*/, char** /*argv*/) {
  shype::guest::console_puts("placeholder\n");
  return 0;
}
