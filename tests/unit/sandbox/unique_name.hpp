// A name no other test process uses at the same time (domain names and
// cgroup names are machine-wide).
#pragma once

#include <unistd.h>

#include <string>

namespace shype::sandbox::testing {

inline std::string unique_name(const std::string& base) {
  return base + "-" + std::to_string(::getpid());
}

}  // namespace shype::sandbox::testing
