// A value of the configuration language: the Python int, str, list and tuple
// that real xm configuration files assign (docs/domain-config.md). Nothing
// else exists in the language, so nothing else can be stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shype::xmconfig {

class Value {
 public:
  enum class Kind : std::uint8_t { integer, string, list, tuple };

  // An integer 0 (so that containers of values can be default-constructed).
  Value() = default;

  [[nodiscard]] static Value integer(std::int64_t v);
  [[nodiscard]] static Value string(std::string s);
  [[nodiscard]] static Value list(std::vector<Value> items);
  [[nodiscard]] static Value tuple(std::vector<Value> items);

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_integer() const noexcept { return kind_ == Kind::integer; }
  [[nodiscard]] bool is_string() const noexcept { return kind_ == Kind::string; }
  // A list or a tuple: configuration files may write either where a list of
  // devices is expected.
  [[nodiscard]] bool is_sequence() const noexcept {
    return kind_ == Kind::list || kind_ == Kind::tuple;
  }

  // Preconditions: the matching kind (checked with an assert; callers test
  // kind() first).
  [[nodiscard]] std::int64_t as_integer() const;
  [[nodiscard]] const std::string& as_string() const;
  [[nodiscard]] const std::vector<Value>& items() const;

  // Python's repr() and str() of the value (Python 3 spelling: non-ASCII
  // characters are shown as themselves), used by '%r' and '%s'.
  [[nodiscard]] std::string repr() const;
  [[nodiscard]] std::string str() const;

  // Bytes the value holds (string bytes, 8 per integer, 16 per list item,
  // recursively) and how deeply its lists nest (0 for a scalar). Both are
  // computed once at construction so the evaluator can enforce its limits
  // without walking values again.
  [[nodiscard]] std::size_t footprint() const noexcept { return footprint_; }
  [[nodiscard]] std::uint32_t depth() const noexcept { return depth_; }

  // Same kind and same contents (the cached sizes are not compared).
  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::integer;
  std::int64_t integer_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::size_t footprint_ = 8;
  std::uint32_t depth_ = 0;
};

// Python's type names ("int", "str", "list", "tuple"), for error messages.
[[nodiscard]] const char* kind_name(Value::Kind kind) noexcept;

}  // namespace shype::xmconfig
