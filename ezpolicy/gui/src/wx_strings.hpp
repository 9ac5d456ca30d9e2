// UTF-8 std::string <-> wxString, the one conversion the window uses
// (internal to ezpolicy/gui).
#pragma once

#include <string>

#include <wx/string.h>

namespace shype::ezpolicy::gui {

[[nodiscard]] inline wxString to_wx(const std::string& s) {
  return wxString::FromUTF8(s.c_str());
}
[[nodiscard]] inline std::string to_utf8(const wxString& s) {
  return std::string(s.utf8_str());
}

}  // namespace shype::ezpolicy::gui
