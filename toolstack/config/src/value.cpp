#include "xmconfig/value.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

namespace shype::xmconfig {
namespace {

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

void append_string_repr(std::string& out, const std::string& s) {
  // Python picks double quotes only when that avoids escaping.
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  static constexpr char kHex[] = "0123456789abcdef";
  out += quote;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      // U+0080..U+009F (C1 controls) are not printable either.
      const auto low = static_cast<unsigned char>(s[i + 1]);
      out += "\\x";
      out += kHex[low >> 4];
      out += kHex[low & 0xF];
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

void append_repr(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::integer:
      out += std::to_string(v.as_integer());
      return;
    case Value::Kind::string:
      append_string_repr(out, v.as_string());
      return;
    case Value::Kind::list:
    case Value::Kind::tuple: {
      const bool list = v.kind() == Value::Kind::list;
      out += list ? '[' : '(';
      const auto& items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        append_repr(out, items[i]);
      }
      if (!list && items.size() == 1) out += ',';
      out += list ? ']' : ')';
      return;
    }
  }
}

}  // namespace

Value Value::integer(std::int64_t v) {
  Value out;
  out.kind_ = Kind::integer;
  out.integer_ = v;
  out.footprint_ = 8;
  return out;
}

Value Value::string(std::string s) {
  Value out;
  out.kind_ = Kind::string;
  out.footprint_ = s.size();
  out.string_ = std::move(s);
  return out;
}

Value Value::list(std::vector<Value> items) {
  Value out;
  out.kind_ = Kind::list;
  out.items_ = std::move(items);
  out.footprint_ = 0;
  out.depth_ = 1;
  for (const Value& item : out.items_) {
    out.footprint_ = saturating_add(out.footprint_, saturating_add(16, item.footprint_));
    out.depth_ = std::max(out.depth_, item.depth_ + 1);
  }
  return out;
}

Value Value::tuple(std::vector<Value> items) {
  Value out = list(std::move(items));
  out.kind_ = Kind::tuple;
  return out;
}

std::int64_t Value::as_integer() const {
  assert(kind_ == Kind::integer);
  return integer_;
}

const std::string& Value::as_string() const {
  assert(kind_ == Kind::string);
  return string_;
}

const std::vector<Value>& Value::items() const {
  assert(is_sequence());
  return items_;
}

std::string Value::repr() const {
  std::string out;
  append_repr(out, *this);
  return out;
}

std::string Value::str() const {
  return kind_ == Kind::string ? string_ : repr();
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::integer:
      return a.integer_ == b.integer_;
    case Value::Kind::string:
      return a.string_ == b.string_;
    case Value::Kind::list:
    case Value::Kind::tuple:
      return a.items_ == b.items_;
  }
  return false;
}

const char* kind_name(Value::Kind kind) noexcept {
  switch (kind) {
    case Value::Kind::integer:
      return "int";
    case Value::Kind::string:
      return "str";
    case Value::Kind::list:
      return "list";
    case Value::Kind::tuple:
      return "tuple";
  }
  return "?";
}

}  // namespace shype::xmconfig
