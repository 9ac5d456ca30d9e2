// Small text helpers shared by the parser, the typed view and label editing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shype::xmconfig::detail {

// The offset of the first byte that does not belong to a well-formed UTF-8
// sequence (overlong forms, surrogates and code points above U+10FFFF are
// ill-formed), or nullopt if `text` is valid UTF-8.
[[nodiscard]] std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

// Code points in valid UTF-8 text.
[[nodiscard]] std::size_t utf8_length(std::string_view text) noexcept;
// The longest prefix of valid UTF-8 text holding at most `count` code points.
[[nodiscard]] std::string_view utf8_prefix(std::string_view text, std::size_t count) noexcept;
// Appends the UTF-8 encoding of a scalar value (precondition: not a
// surrogate, at most U+10FFFF).
void append_utf8(std::string& out, std::uint32_t code_point);

// Python's str.isspace() for ASCII: space, \t, \n, \v, \f, \r.
[[nodiscard]] constexpr bool is_python_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

[[nodiscard]] bool is_identifier(std::string_view s) noexcept;
// A Python 3 keyword, or Python 2's print / exec.
[[nodiscard]] bool is_python_keyword(std::string_view s) noexcept;

// Splits on every `separator` (Python's str.split(sep)).
[[nodiscard]] std::vector<std::string_view> split(std::string_view s, char separator);

// A decimal integer, optionally signed, that fits an int64 (no spaces).
[[nodiscard]] std::optional<std::int64_t> parse_decimal(std::string_view s) noexcept;

// 's' in single quotes for messages, e.g. 'phy:hda1,sda1,x'.
[[nodiscard]] std::string quoted(std::string_view s);

}  // namespace shype::xmconfig::detail
