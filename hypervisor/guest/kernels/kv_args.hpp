// key=value arguments for the sample kernels (pair, rogue): a cmdline or a
// line of console input such as "role=client peer=3 port=1 ref=0". Words
// are separated by spaces; a word without '=' is a flag with an empty
// value. Freestanding: fixed-size storage, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::guest::kv {

inline constexpr std::size_t kMaxArgs = 16;
inline constexpr std::size_t kMaxText = 256;

inline bool equals(const char* left, const char* right) {
  while (*left != '\0' && *left == *right) {
    ++left;
    ++right;
  }
  return *left == *right;
}

// Parses a decimal or 0x-prefixed hexadecimal number into *out; false if
// `text` is empty, has other characters or does not fit in 32 bits.
inline bool parse_u32(const char* text, std::uint32_t* out) {
  std::uint64_t value = 0;
  std::uint64_t base = 10;
  if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text += 2;
  }
  if (*text == '\0') return false;
  for (; *text != '\0'; ++text) {
    std::uint64_t digit = 0;
    if (*text >= '0' && *text <= '9') {
      digit = static_cast<std::uint64_t>(*text - '0');
    } else if (base == 16 && *text >= 'a' && *text <= 'f') {
      digit = static_cast<std::uint64_t>(*text - 'a' + 10);
    } else if (base == 16 && *text >= 'A' && *text <= 'F') {
      digit = static_cast<std::uint64_t>(*text - 'A' + 10);
    } else {
      return false;
    }
    value = value * base + digit;
    if (value > 0xffffffffu) return false;
  }
  *out = static_cast<std::uint32_t>(value);
  return true;
}

// The arguments seen so far. add() may be called repeatedly (cmdline, then
// console lines); a later value of a key replaces the earlier one.
class Args {
 public:
  // Adds the words of `text` (at most `length` bytes; stops at NUL). Words
  // beyond kMaxArgs or text beyond kMaxText are ignored.
  void add(const char* text, std::size_t length = kMaxText) {
    std::size_t i = 0;
    while (i < length && text[i] != '\0') {
      while (i < length && is_separator(text[i]))
        ++i;
      if (i >= length || text[i] == '\0') break;
      const std::size_t start = used_;
      while (i < length && text[i] != '\0' && !is_separator(text[i]) && used_ + 1 < kMaxText) {
        storage_[used_++] = text[i++];
      }
      while (i < length && text[i] != '\0' && !is_separator(text[i]))
        ++i;  // truncated word
      if (used_ + 1 >= kMaxText) return;
      storage_[used_++] = '\0';
      remember(storage_ + start);
    }
  }

  // The value of `key`, or nullptr if absent.
  [[nodiscard]] const char* get(const char* key) const {
    for (std::size_t n = count_; n > 0; --n) {
      if (equals(keys_[n - 1], key)) return values_[n - 1];
    }
    return nullptr;
  }
  [[nodiscard]] bool has(const char* key) const { return get(key) != nullptr; }
  // The numeric value of `key`; `fallback` if absent; false if malformed.
  [[nodiscard]] bool number(const char* key, std::uint32_t fallback, std::uint32_t* out) const {
    const char* value = get(key);
    if (value == nullptr) {
      *out = fallback;
      return true;
    }
    return parse_u32(value, out);
  }
  // The first word (e.g. the attack name of the rogue), or "".
  [[nodiscard]] const char* first_word() const { return count_ > 0 ? keys_[0] : ""; }

 private:
  static bool is_separator(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  void remember(char* word) {
    if (count_ == kMaxArgs) return;
    char* value = word;
    while (*value != '\0' && *value != '=')
      ++value;
    if (*value == '=') *value++ = '\0';
    keys_[count_] = word;
    values_[count_] = value;
    ++count_;
  }

  char storage_[kMaxText] = {};
  std::size_t used_ = 0;
  const char* keys_[kMaxArgs] = {};
  const char* values_[kMaxArgs] = {};
  std::size_t count_ = 0;
};

}  // namespace shype::guest::kv
