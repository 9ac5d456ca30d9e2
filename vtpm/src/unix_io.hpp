// Small helpers for blocking I/O on Unix stream sockets with a deadline
// (vtpm-internal).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "acm/error.hpp"

namespace shype::vtpm::detail {

using Clock = std::chrono::steady_clock;

// A connected, close-on-exec stream socket, or io_error.
[[nodiscard]] acm::Result<int> connect_unix(const std::filesystem::path& path);
// Writes all bytes, or io_error (naming `what`) at the deadline.
[[nodiscard]] acm::Status write_all(int fd, const std::uint8_t* data, std::size_t size,
                                    Clock::time_point deadline, const std::string& what);
// Reads exactly `size` bytes, or io_error (closed, or the deadline passed).
[[nodiscard]] acm::Status read_exact(int fd, std::uint8_t* data, std::size_t size,
                                     Clock::time_point deadline, const std::string& what);

[[nodiscard]] inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace shype::vtpm::detail
