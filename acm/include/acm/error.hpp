// Errors for the policy core and the tools built on it (STYLE.md rule 10:
// a Result whose error carries context; libraries never print or exit).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace shype::acm {

// Where something was found: a file and a 1-based line (0 = unknown).
struct SourceLocation {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  // "file:line" or "file" or "" depending on what is known.
  [[nodiscard]] std::string to_string() const;
};

enum class Errc {
  io_error,          // a file could not be read or written
  xml_malformed,     // not well-formed XML
  schema_violation,  // well-formed but not valid against security_policy.xsd
  semantic_error,    // valid XML but an inconsistent policy
  malformed_binary,  // a binary policy that is truncated, hostile or inconsistent
  unsupported,       // a feature or version this build does not handle
  limit_exceeded,    // a count beyond the documented limits
  invalid_argument,  // a caller passed something meaningless
  not_found,         // a label, type or policy that does not exist
  update_rejected,   // a policy change that would leave the system inconsistent
};

[[nodiscard]] const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code = Errc::invalid_argument;
  std::string message;
  SourceLocation where;

  // "file:line: message" (location omitted when unknown).
  [[nodiscard]] std::string to_string() const;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

[[nodiscard]] inline tl::unexpected<Error> make_error(Errc code, std::string message,
                                                      SourceLocation where = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(where)});
}

}  // namespace shype::acm
