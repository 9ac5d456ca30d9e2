#include "acm/ssidref.hpp"

#include <cstdio>

namespace shype::acm {

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

}  // namespace shype::acm
