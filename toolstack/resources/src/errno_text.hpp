// The text of a positive errno. std::strerror may share a buffer between
// threads; the error category's message does not.
#pragma once

#include <string>
#include <system_error>

namespace shype::resources {

inline std::string errno_text(int err) {
  return std::generic_category().message(err);
}

}  // namespace shype::resources
