// Reads an XML security policy (manual 10.3; schema/security_policy.xsd)
// into a PolicyModel with libxml2. This is the one place that turns policy
// XML into a model (STYLE.md rule 3); tools should call load_policy_text /
// load_policy_file (policy_loader.hpp), which adds schema validation and the
// semantic checks on top of this reader.
#pragma once

#include <cstddef>
#include <string_view>

#include "acm/error.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm::xml {

// Larger inputs are refused before any parsing (Errc::limit_exceeded). A
// policy with tens of thousands of labels is a few MiB.
inline constexpr std::size_t kMaxPolicyBytes = std::size_t{64} << 20;

// Parses `xml_text`; `file_name` is only used in locations and messages.
// Thread-safe; never prints (libxml2's own error output is suppressed).
//
// Hardening: no network access, no entity substitution, no DTD loading, and
// any DOCTYPE is refused outright (its internal subset is never parsed, so
// entity-expansion and external-entity attacks cannot start). Only XML 1.0
// is accepted. Namespace errors count as malformed.
//
// Mapping: only elements in the policy namespace (http://www.ibm.com) are
// read. Names, types, bootstrap, `from` and versions are xs:token values
// (whitespace collapsed and trimmed); the header's PolicyUrl, Reference,
// Date and NameSpaceUrl are kept verbatim. Every header, component, type,
// label, conflict set and the bootstrap attribute carry the file and line of
// their element (the bootstrap: its SubjectLabels element).
//
// Structure is read leniently, because the schema validator reports
// structural errors with better messages: elements may come in any order,
// unknown elements are skipped, a repeated single-valued element (PolicyName,
// Version, ...) keeps its first value, repeated lists are concatenated, and
// an empty <Type/> stays an empty name for check_policy to report. Missing
// values stay empty / 0.0.
//
// Errors:
//  - Errc::limit_exceeded: input larger than kMaxPolicyBytes;
//  - Errc::xml_malformed: not well-formed, not namespace-well-formed, not
//    XML 1.0, or a DOCTYPE; Error::where is the file and line, so
//    Error::to_string() reads "file:line: reason";
//  - Errc::schema_violation: the root is not SecurityPolicyDefinition in the
//    policy namespace, or a value the model cannot hold (a Version that is
//    not major.minor, an unknown priority); the message has one
//    "file:line: error: reason" line per finding.
[[nodiscard]] Result<PolicyModel> parse_policy(std::string_view xml_text,
                                               std::string_view file_name);

}  // namespace shype::acm::xml
