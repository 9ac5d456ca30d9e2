// Validates policy XML against schema/security_policy.xsd with Xerces-C++.
// The schema is compiled into the library and is the only grammar used:
// xsi:schemaLocation hints in the document are ignored and nothing is ever
// fetched from the file system or the network.
#pragma once

#include <string_view>

#include "acm/diagnostics.hpp"

namespace shype::acm::xml {

// Every violation becomes one Diagnostic located at the file, line and column
// Xerces reports, with Xerces' message (made single-line); Xerces warnings
// become warnings. An empty result means the document is valid.
//
// The document is refused (one error) if it is larger than kMaxPolicyBytes
// (policy_reader.hpp) or has a DOCTYPE. After 1000 errors further ones are
// summarised in a last diagnostic.
//
// Where Xerces locates findings: a bad value at its element; a content-model
// error (a missing, extra or misplaced child) at the end tag of the element
// whose content is wrong; a duplicate type or label name at the repeated
// one; a reference to something undeclared (a type, the bootstrap label) at
// the end of the document, the only point where it is known to be missing.
// load_policy_text replaces all identity-constraint findings by
// check_policy's, which name the offending element's line.
//
// Thread-safe. Xerces is initialised on first use (once, whatever the
// number of threads) and deliberately never terminated, since other code in
// the process may still be using it. The compiled grammar is shared
// read-only between concurrent calls and recompiled every 1024 calls, which
// bounds the memory Xerces keeps for the namespace URIs documents declare.
[[nodiscard]] Diagnostics validate_schema(std::string_view xml_text, std::string_view file_name);

}  // namespace shype::acm::xml
