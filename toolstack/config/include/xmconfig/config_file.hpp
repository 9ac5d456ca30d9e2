// The xm domain configuration file: a small, safe subset of the Python that
// real Xen 3.3 configuration files use (manual 3.2.1, 5.1; syntax in
// docs/domain-config.md). parse_config evaluates the file into named values;
// domain_config.hpp gives the typed view xm create and xend use.
//
// Nothing in a file is executed: the language has assignments of ints,
// strings, lists and tuples, the operators + - * %, and %-formatting, and
// every other Python construct (import, def, if, calls, attribute access...)
// is rejected with an error naming the file and line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "xmconfig/value.hpp"

namespace shype::xmconfig {

using acm::Result;
using acm::SourceLocation;
using acm::Status;

// ---- limits (each is an error naming file:line when exceeded) --------------

// Bytes of configuration text (real files are a few KiB).
inline constexpr std::size_t kMaxConfigSize = std::size_t{1} << 20;
// Brackets, parentheses, unary signs and list values nested in each other.
inline constexpr std::uint32_t kMaxNestingDepth = 64;
// Bytes of one string value (literal or computed).
inline constexpr std::size_t kMaxStringLength = 65536;
// Elements of one list or tuple.
inline constexpr std::size_t kMaxListLength = 4096;
// Width or precision of one '%' conversion.
inline constexpr std::int64_t kMaxFormatWidth = 4096;
// Footprint (Value::footprint) of one value.
inline constexpr std::size_t kMaxValueSize = std::size_t{1} << 20;
// Footprint of all values the evaluation creates together, so that a short
// file cannot make the parser work or allocate without bound.
inline constexpr std::size_t kMaxEvaluationSize = std::size_t{16} << 20;

// The SourceLocation::file of variables set on the command line (xm create
// cfg var=value), so that an error about them points there.
inline constexpr std::string_view kCommandLineFile = "<command line>";

// One `var=value` declaration from the command line (manual 4.2). The value
// becomes an int if it is a decimal integer (optionally signed), else a
// string: `vmid=1` makes `"%d" % vmid` work as in the manual's xmexample2.
struct Override {
  std::string name;
  std::string value;
};

struct Variable {
  std::string name;
  Value value;
  // Where the value that counts was assigned: the last assignment in the
  // file, or {kCommandLineFile, 0} for an override.
  SourceLocation where;
  bool from_command_line = false;
  // For a command-line declaration, its value exactly as typed. The typed
  // view uses it where a key needs a string but the declaration looked like
  // an int (`cpus=1`, `name=007`), and makes it a one-element list for the
  // list keys (`disk=phy:hda1,sda1,w`), as xm's command line did.
  std::string as_typed;
};

struct ConfigFile {
  std::string file_name;
  // Every variable, in the order of first definition. Unknown names are kept
  // (xm passed them on too); the typed view decides what it reads.
  std::vector<Variable> variables;

  // nullptr when the file (and the command line) do not define `name`.
  [[nodiscard]] const Variable* find(std::string_view name) const;
};

// Evaluates `text`, read from `file_name` (used only in locations).
//
// Overrides are bound before the first line, so the file can use them as
// variables; an assignment in the file to an overridden name is still
// evaluated (and its errors reported) but the command-line value is kept
// (manual 4.2: command line declarations override any value in the file).
//
// Every error has code Errc::invalid_argument and where = {file, line} of
// the offending token (or {kCommandLineFile, 0} for a bad override), so
// Error::to_string() reads `file:line: reason`.
[[nodiscard]] Result<ConfigFile> parse_config(std::string_view text, std::string file_name,
                                              std::span<const Override> overrides = {});

// Parses `name=value` as written on the xm command line. Error (located at
// kCommandLineFile) when there is no '=' or the name is not an identifier.
[[nodiscard]] Result<Override> parse_override(std::string_view declaration);

}  // namespace shype::xmconfig
