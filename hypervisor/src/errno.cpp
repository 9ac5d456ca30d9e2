#include "hv/errno.hpp"

#include <cstring>

namespace shype::hv {

const char* errno_name(Errno status) noexcept {
  if (status == Errno::ok) return "OK";
  const int positive = -to_wire(status);
  // strerrorname_np (glibc 2.32) returns a static string: thread-safe.
  const char* name = positive > 0 ? ::strerrorname_np(positive) : nullptr;
  return name != nullptr ? name : "E?";
}

}  // namespace shype::hv
