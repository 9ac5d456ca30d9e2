// Internal: the small text helpers the device sources share (no libc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::guest::detail {

inline std::size_t length_of(const char* text) {
  std::size_t n = 0;
  while (text[n] != '\0') ++n;
  return n;
}

inline bool equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// Copies `text` into `out` (capacity bytes with the terminator), cut to fit.
inline void copy_text(char* out, std::size_t capacity, const char* text) {
  if (out == nullptr || capacity == 0) return;
  std::size_t i = 0;
  for (; text[i] != '\0' && i + 1 < capacity; ++i) out[i] = text[i];
  out[i] = '\0';
}

// A decimal number of digits only; false if empty, not digits or too large.
inline bool parse_u64(const char* text, std::uint64_t* out) {
  if (*text == '\0') return false;
  std::uint64_t value = 0;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9') return false;
    const auto digit = static_cast<std::uint64_t>(*text - '0');
    if (value > (~std::uint64_t{0} - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

inline bool parse_u32(const char* text, std::uint32_t* out) {
  std::uint64_t value = 0;
  if (!parse_u64(text, &value) || value > 0xffffffffu) return false;
  *out = static_cast<std::uint32_t>(value);
  return true;
}

// `value` in decimal into `out` (at least 21 bytes).
inline void format_u64(char* out, std::uint64_t value) {
  char digits[21];
  std::size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (std::size_t i = 0; i < count; ++i) out[i] = digits[count - 1 - i];
  out[count] = '\0';
}

// A bounded string builder: add() stops at the capacity (then ok() is false).
template <std::size_t Capacity>
class Text {
 public:
  Text() { text_[0] = '\0'; }
  Text& add(const char* part) {
    for (; *part != '\0'; ++part) put(*part);
    return *this;
  }
  Text& add(std::uint64_t value) {
    char digits[21];
    format_u64(digits, value);
    return add(static_cast<const char*>(digits));
  }
  [[nodiscard]] const char* c_str() const { return text_; }
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  void put(char c) {
    if (used_ + 1 >= Capacity) {
      ok_ = false;
      return;
    }
    text_[used_++] = c;
    text_[used_] = '\0';
  }
  char text_[Capacity];
  std::size_t used_ = 0;
  bool ok_ = true;
};

}  // namespace shype::guest::detail
