#include "vtpm/layout.hpp"

#include <cstdlib>

namespace shype::vtpm {

std::filesystem::path root_from_environment() {
  const char* env = std::getenv("SHYPE_ROOT");
  return env != nullptr && *env != '\0' ? env : "/";
}

std::string platform_tcti_from_environment() {
  const char* env = std::getenv("SHYPE_VTPM_PLATFORM_TCTI");
  return env != nullptr && *env != '\0' ? env : "device:/dev/tpmrm0";
}

}  // namespace shype::vtpm
