// Reading and crash-safe writing of whole files. A write goes to a temporary
// file in the same directory, is fsync'ed and then renamed over the target
// (and the directory fsync'ed), so a crash mid-write leaves either the old
// file or the new one, never a torn one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"

namespace shype::acm {

// Files larger than this are refused (policies are at most a few hundred MB
// even in Xen's dense format).
inline constexpr std::uintmax_t kMaxFileSize = std::uintmax_t{1} << 30;

[[nodiscard]] Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path);
[[nodiscard]] Result<std::string> read_text_file(const std::filesystem::path& path);

// mode applies to the new file (e.g. 0644, or 0600 for secrets).
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path,
                                       std::span<const std::uint8_t> bytes, unsigned mode = 0644);
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path, std::string_view text,
                                       unsigned mode = 0644);

}  // namespace shype::acm
