#include "xenctrl/error.hpp"

#include <cstring>
#include <system_error>

namespace shype::xc {

std::string Error::to_string() const {
  // strerrordesc_np / strerrorname_np (glibc 2.32) return static strings:
  // thread-safe, unlike strerror.
  const char* description = ::strerrordesc_np(code);
  const char* name = ::strerrorname_np(code);
  std::string text = op + ": " + (description != nullptr ? description : "Unknown error") + " (" +
                     (name != nullptr ? name : "E" + std::to_string(code)) + ")";
  if (!message.empty()) text += ": " + message;
  return text;
}

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

}  // namespace shype::xc
