// The one entry point tools use to read a security policy: well-formedness
// (libxml2), schema validation (Xerces-C++, embedded security_policy.xsd),
// model building and the semantic checks of acm/semantic_check.hpp, with
// every problem of a file reported at once.
#pragma once

#include <filesystem>
#include <string>

#include "acm/diagnostics.hpp"
#include "acm/error.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm::xml {

struct LoadedPolicy {
  PolicyModel model;     // locations name the file the policy was loaded as
  std::string xml_text;  // the text exactly as read (what a store would keep)
  Diagnostics warnings;  // check_policy warnings and schema warnings
};

// Loads a policy from text; `file_name` is used in every location.
// Thread-safe.
//
// Errors:
//  - Errc::limit_exceeded: larger than kMaxPolicyBytes (policy_reader.hpp);
//  - Errc::xml_malformed: not well-formed, or has a DOCTYPE; Error::where
//    names file and line, Error::to_string() is "file:line: reason";
//  - Errc::schema_violation: at least one schema error, or a root element
//    that is not SecurityPolicyDefinition in the policy namespace (then that
//    is the only finding: every other element would be reported too);
//  - Errc::semantic_error: schema-valid, but check_policy found errors.
// For the last two, Error::message has one "file:line: error: reason" line
// per finding, ordered by line: every schema error and every check_policy
// error. check_policy runs whenever a model can be built, even if the
// schema failed, because it locates what the schema's identity constraints
// (key, keyref, unique) can only report at the end of the document; those
// schema findings are dropped whenever check_policy reported errors of its
// own, and kept otherwise so that nothing invalid can pass silently.
[[nodiscard]] Result<LoadedPolicy> load_policy_text(std::string xml_text, std::string file_name);

// Reads `path` (at most kMaxPolicyBytes) and loads it with the path as file
// name. I/O failures are Errc::io_error naming the path and the reason
// (strerror); a non-regular file is io_error too.
[[nodiscard]] Result<LoadedPolicy> load_policy_file(const std::filesystem::path& path);

}  // namespace shype::acm::xml
