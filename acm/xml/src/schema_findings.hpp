// Schema validation with the detail the loader needs. Internal to
// shype_acm_xml.
#pragma once

#include <string_view>
#include <vector>

#include "acm/diagnostics.hpp"

namespace shype::acm::xml::detail {

struct SchemaFinding {
  Diagnostic diagnostic;
  // A key, keyref or unique violation (or a missing key value): Xerces
  // locates these at the end of the identity constraint's scope.
  bool identity_constraint = false;
};

// validate_schema(), keeping each finding's kind.
[[nodiscard]] std::vector<SchemaFinding> validate_schema_findings(std::string_view xml_text,
                                                                  std::string_view file_name);

}  // namespace shype::acm::xml::detail
