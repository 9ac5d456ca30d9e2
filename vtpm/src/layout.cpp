#include "vtpm/layout.hpp"

#include <cstdlib>

namespace shype::vtpm {

std::filesystem::path root_from_environment() {
  const char* env = std::getenv("SHYPE_ROOT");
  return env != nullptr && *env != '\0' ? env : "/";
}

}  // namespace shype::vtpm
