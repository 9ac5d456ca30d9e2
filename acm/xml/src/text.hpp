// Text helpers shared by the XML front end (no libxml2 or Xerces types here).
#pragma once

#include <string>
#include <string_view>

namespace shype::acm::xml::detail {

// The xs:token value of `raw`: tab, CR and LF become spaces, runs of spaces
// collapse to one and leading/trailing spaces go. Only the four XML
// whitespace characters count; other Unicode spaces are ordinary characters
// (as they are for the schema validator, so both sides agree on every name).
[[nodiscard]] std::string collapse_whitespace(std::string_view raw);

// A parser message made fit for one line of a "file:line: error: reason"
// report: trailing newlines go, other control characters are escaped (\n,
// \t, \xHH), so quoted document text cannot break the one-finding-per-line
// format.
[[nodiscard]] std::string one_line(std::string_view message);

}  // namespace shype::acm::xml::detail
