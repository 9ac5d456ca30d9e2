// Workload definition files (*.wld; reference xen-acm-tools.md 7.5): the
// original tool's format, a Python literal assignment such as
//
//   ezpolicy = {'orgs': [['__UNLABELED__', []], ['A-Bank', ['SecurityUnderwriting',
//   'MarketAnalysis']]], 'cons': [['', ['A-Bank', '__UNLABELED__']]]}
//
// (one line, no trailing newline). This is the one adapter for the format
// (STYLE.md rule 3).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "acm/error.hpp"
#include "ezpolicy/workload.hpp"

namespace shype::ezpolicy {

// Larger files are refused: a definition with thousands of workloads is a
// few hundred KiB.
inline constexpr std::size_t kMaxWldBytes = std::size_t{16} << 20;

// Parses the text of a .wld file; `file_name` is used in locations. What is
// read: `ezpolicy = { ... }`, a dict whose keys are 'orgs' and 'cons' (in
// any order; 'cons' may be missing), lists or tuples, strings in single or
// double quotes with an optional u/b/r prefix and Python's escapes, comments
// (#), trailing commas and any layout. What is checked: the shape, and every
// rule of check_definition (rule members are sorted on reading).
//
// Errors: Errc::invalid_argument (Errc::limit_exceeded beyond kMaxWldBytes)
// with Error::where = file and line of the offending token, so
// Error::to_string() reads "file:line: reason".
[[nodiscard]] acm::Result<WorkloadDefinition> parse_wld(std::string_view text,
                                                        std::string_view file_name);

// The text the original tool writes for `definition`: no trailing newline,
// strings quoted as Python's repr does.
[[nodiscard]] std::string format_wld(const WorkloadDefinition& definition);

// Reads and parses `path` (io_error naming the path if it cannot be read).
[[nodiscard]] acm::Result<WorkloadDefinition> load_wld_file(const std::filesystem::path& path);

// Writes `definition` to `path` atomically (acm::write_file_atomic: a
// temporary file in the same directory, fsync, rename, directory fsync):
// after a crash the file is either the old one or the new one.
[[nodiscard]] acm::Status save_wld_file(const std::filesystem::path& path,
                                        const WorkloadDefinition& definition);

}  // namespace shype::ezpolicy
