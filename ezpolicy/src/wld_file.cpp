#include "ezpolicy/wld_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "acm/file_io.hpp"
#include "ezpolicy/workload_rules.hpp"

namespace shype::ezpolicy {
namespace {

using acm::Errc;

// A Python literal as far as .wld files use them: strings, lists (and
// tuples) and dicts, each with the line it starts on.
struct PyValue {
  enum class Kind { string, list, dict };
  Kind kind = Kind::string;
  std::uint32_t line = 0;
  std::string text;            // string
  std::vector<PyValue> items;  // list
  std::vector<PyValue> keys;   // dict, with values[i] for keys[i]
  std::vector<PyValue> values;
};

const char* kind_name(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::string:
      return "a string";
    case PyValue::Kind::list:
      return "a list";
    case PyValue::Kind::dict:
      return "a dict";
  }
  return "a value";
}

// Nesting deeper than this is refused (a .wld file nests four levels).
constexpr int kMaxDepth = 32;

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class WldParser {
 public:
  WldParser(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  acm::Result<PyValue> parse_assignment() {
    skip_blank();
    if (!take_word("ezpolicy")) return fail("expected 'ezpolicy = {...}'");
    skip_blank();
    if (!take('=')) return fail("expected '=' after 'ezpolicy'");
    auto value = parse_value(0);
    if (!value) return value;
    skip_blank();
    take(';');
    skip_blank();
    if (pos_ != text_.size()) return fail("unexpected text after the workload definition");
    return value;
  }

  [[nodiscard]] tl::unexpected<acm::Error> fail(std::string reason) const {
    return fail_at(line_, std::move(reason));
  }
  [[nodiscard]] tl::unexpected<acm::Error> fail_at(std::uint32_t line, std::string reason) const {
    return acm::make_error(Errc::invalid_argument, std::move(reason),
                           acm::SourceLocation{std::string(file_), line, 0});
  }

 private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance() {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  bool take(char c) {
    if (at_end() || peek() != c) return false;
    advance();
    return true;
  }
  bool take_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    const char after = peek(word.size());
    if (std::isalnum(static_cast<unsigned char>(after)) != 0 || after == '_') return false;
    pos_ += word.size();
    return true;
  }

  // Whitespace, comments and backslash line continuations.
  void skip_blank() {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        advance();
      } else if (c == '#') {
        while (!at_end() && peek() != '\n')
          advance();
      } else if (c == '\\' && (peek(1) == '\n' || (peek(1) == '\r' && peek(2) == '\n'))) {
        advance();
        while (peek() != '\n')
          advance();
        advance();
      } else {
        return;
      }
    }
  }

  std::string describe_here() const {
    if (at_end()) return "the end of the file";
    const char c = peek();
    if (std::isprint(static_cast<unsigned char>(c)) != 0) return std::string("'") + c + "'";
    return "a byte 0x" + std::string(1, "0123456789abcdef"[(static_cast<unsigned char>(c) >> 4)]) +
           std::string(1, "0123456789abcdef"[static_cast<unsigned char>(c) & 0xF]);
  }

  acm::Result<PyValue> parse_value(int depth) {
    skip_blank();
    if (depth > kMaxDepth) return fail("values nested too deeply");
    const char c = peek();
    if (c == '[' || c == '(') return parse_sequence(depth, c == '[' ? ']' : ')');
    if (c == '{') return parse_dict(depth);
    if (c == '\'' || c == '"') return parse_string(false, false);
    // String prefixes: u, b, r and their combinations (Python 2 and 3).
    bool raw = false;
    bool bytes = false;
    bool is_unicode = false;
    std::size_t length = 0;
    while (length < 2) {
      const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(peek(length))));
      if (p == 'r') {
        raw = true;
      } else if (p == 'b') {
        bytes = true;
      } else if (p == 'u') {
        is_unicode = true;
      } else {
        break;
      }
      ++length;
    }
    if (length > 0 && (peek(length) == '\'' || peek(length) == '"')) {
      pos_ += length;
      return parse_string(raw, is_unicode && !bytes);
    }
    return fail("expected a string, a list or a dict, found " + describe_here());
  }

  acm::Result<PyValue> parse_sequence(int depth, char close) {
    PyValue list;
    list.kind = PyValue::Kind::list;
    list.line = line_;
    advance();  // [ or (
    for (;;) {
      skip_blank();
      if (take(close)) return list;
      auto item = parse_value(depth + 1);
      if (!item) return item;
      list.items.push_back(std::move(*item));
      skip_blank();
      if (take(close)) return list;
      if (!take(',')) {
        return fail(std::string("expected ',' or '") + close + "' in a list, found " +
                    describe_here());
      }
    }
  }

  acm::Result<PyValue> parse_dict(int depth) {
    PyValue dict;
    dict.kind = PyValue::Kind::dict;
    dict.line = line_;
    advance();  // {
    for (;;) {
      skip_blank();
      if (take('}')) return dict;
      auto key = parse_value(depth + 1);
      if (!key) return key;
      skip_blank();
      if (!take(':')) return fail("expected ':' after a dict key, found " + describe_here());
      auto value = parse_value(depth + 1);
      if (!value) return value;
      dict.keys.push_back(std::move(*key));
      dict.values.push_back(std::move(*value));
      skip_blank();
      if (take('}')) return dict;
      if (!take(',')) return fail("expected ',' or '}' in a dict, found " + describe_here());
    }
  }

  // Python's string escapes; in a unicode string \x, \u and \U are code
  // points (written as UTF-8), elsewhere \x is one byte (Python 2's str).
  acm::Result<PyValue> parse_string(bool raw, bool is_unicode) {
    PyValue value;
    value.kind = PyValue::Kind::string;
    value.line = line_;
    const char quote = peek();
    if (peek(1) == quote && peek(2) == quote)
      return fail("triple-quoted strings are not supported");
    advance();
    for (;;) {
      if (at_end() || peek() == '\n') return fail_at(value.line, "unterminated string");
      const char c = peek();
      advance();
      if (c == quote) return value;
      if (c != '\\') {
        value.text += c;
        continue;
      }
      if (at_end()) return fail_at(value.line, "unterminated string");
      const char e = peek();
      if (raw) {
        value.text += '\\';
        value.text += e;
        advance();
        continue;
      }
      advance();
      switch (e) {
        case '\n':
          break;  // line continuation
        case '\\':
        case '\'':
        case '"':
          value.text += e;
          break;
        case 'n':
          value.text += '\n';
          break;
        case 'r':
          value.text += '\r';
          break;
        case 't':
          value.text += '\t';
          break;
        case 'a':
          value.text += '\a';
          break;
        case 'b':
          value.text += '\b';
          break;
        case 'f':
          value.text += '\f';
          break;
        case 'v':
          value.text += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const std::size_t digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          if (e != 'x' && !is_unicode) {
            value.text += '\\';
            value.text += e;
            break;
          }
          std::uint32_t code = 0;
          for (std::size_t k = 0; k < digits; ++k) {
            const int d = hex_digit(peek());
            if (d < 0) return fail(std::string("invalid \\") + e + " escape in a string");
            code = code * 16 + static_cast<std::uint32_t>(d);
            advance();
          }
          if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return fail("invalid character escape in a string");
          }
          if (e == 'x' && !is_unicode) {
            value.text += static_cast<char>(code);
          } else {
            append_utf8(value.text, code);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t code = static_cast<std::uint32_t>(e - '0');
            for (int k = 0; k < 2 && peek() >= '0' && peek() <= '7'; ++k) {
              code = code * 8 + static_cast<std::uint32_t>(peek() - '0');
              advance();
            }
            if (is_unicode) {
              append_utf8(value.text, code);
            } else {
              value.text += static_cast<char>(code & 0xFF);
            }
          } else {
            value.text += '\\';  // Python keeps unknown escapes as written
            value.text += e;
          }
      }
    }
  }

  std::string_view text_;
  std::string_view file_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
};

std::string wld_quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Builds the definition from the parsed literal, applying every rule of
// check_definition with the line of the item that breaks it.
class DefinitionBuilder {
 public:
  explicit DefinitionBuilder(const WldParser& parser) : parser_(parser) {}

  acm::Result<WorkloadDefinition> build(const PyValue& top) {
    if (top.kind != PyValue::Kind::dict) {
      return parser_.fail_at(top.line,
                             std::string("'ezpolicy' must be a dict, not ") + kind_name(top.kind));
    }
    const PyValue* orgs = nullptr;
    const PyValue* cons = nullptr;
    for (std::size_t i = 0; i < top.keys.size(); ++i) {
      const PyValue& key = top.keys[i];
      const PyValue& value = top.values[i];
      if (key.kind != PyValue::Kind::string) {
        return parser_.fail_at(key.line, "dict keys must be 'orgs' or 'cons'");
      }
      const PyValue** slot = key.text == "orgs" ? &orgs : key.text == "cons" ? &cons : nullptr;
      if (slot == nullptr) {
        return parser_.fail_at(
            key.line, "unknown key " + wld_quoted(key.text) + " (expected 'orgs' and 'cons')");
      }
      if (*slot != nullptr)
        return parser_.fail_at(key.line, "key " + wld_quoted(key.text) + " repeated");
      *slot = &value;
    }
    if (orgs == nullptr) return parser_.fail_at(top.line, "the definition has no 'orgs'");
    if (auto ok = read_organizations(*orgs); !ok) return tl::unexpected(ok.error());
    if (cons != nullptr) {
      if (auto ok = read_rules(*cons); !ok) return tl::unexpected(ok.error());
    }
    // Everything was checked item by item; this is the same rule set whole.
    if (auto ok = check_definition(definition_); !ok) {
      return parser_.fail_at(top.line, ok.error().message);
    }
    return std::move(definition_);
  }

 private:
  acm::Status expect(const PyValue& value, PyValue::Kind kind, const std::string& what) {
    if (value.kind == kind) return {};
    return parser_.fail_at(value.line,
                           what + " must be " + kind_name(kind) + ", not " + kind_name(value.kind));
  }

  // Each entry: [name, [string, ...]].
  acm::Status expect_pair(const PyValue& entry, const std::string& what) {
    if (auto ok = expect(entry, PyValue::Kind::list, what); !ok) return ok;
    if (entry.items.size() != 2) {
      return parser_.fail_at(entry.line, what + " must be [name, [...]] (found " +
                                             std::to_string(entry.items.size()) + " items)");
    }
    if (auto ok = expect(entry.items[0], PyValue::Kind::string, what + "'s name"); !ok) return ok;
    if (auto ok = expect(entry.items[1], PyValue::Kind::list, what + "'s second item"); !ok) {
      return ok;
    }
    for (const PyValue& item : entry.items[1].items) {
      if (auto ok = expect(item, PyValue::Kind::string, "an item of " + what); !ok) return ok;
    }
    return {};
  }

  acm::Status refuse(std::uint32_t line, const acm::Error& error) {
    return parser_.fail_at(line, error.message);
  }

  acm::Status read_organizations(const PyValue& orgs) {
    if (auto ok = expect(orgs, PyValue::Kind::list, "'orgs'"); !ok) return ok;
    std::set<std::string> seen;
    for (const PyValue& entry : orgs.items) {
      if (auto ok = expect_pair(entry, "an organization"); !ok) return ok;
      const PyValue& name = entry.items[0];
      if (auto ok = check_workload_name(name.text); !ok) return refuse(name.line, ok.error());
      if (!seen.insert(name.text).second) {
        return parser_.fail_at(name.line,
                               "organization " + wld_quoted(name.text) + " is defined twice");
      }
      Organization org{name.text, {}};
      std::set<std::string> depts;
      for (const PyValue& dept : entry.items[1].items) {
        if (auto ok = check_workload_type_name(workload_type(org.name, dept.text)); !ok) {
          return refuse(dept.line, ok.error());
        }
        if (!depts.insert(dept.text).second) {
          return parser_.fail_at(dept.line, "organization " + wld_quoted(org.name) +
                                                " has department " + wld_quoted(dept.text) +
                                                " twice");
        }
        org.departments.push_back(dept.text);
      }
      definition_.organizations.push_back(std::move(org));
    }
    return {};
  }

  acm::Status read_rules(const PyValue& cons) {
    if (auto ok = expect(cons, PyValue::Kind::list, "'cons'"); !ok) return ok;
    for (const PyValue& entry : cons.items) {
      if (auto ok = expect_pair(entry, "a run-time exclusion rule"); !ok) return ok;
      const PyValue& name = entry.items[0];
      if (auto ok = check_rule_name(name.text); !ok) return refuse(name.line, ok.error());
      ExclusionRule rule{name.text, {}};
      for (const PyValue& member : entry.items[1].items) {
        if (!definition_.has_workload_type(member.text)) {
          return parser_.fail_at(member.line, "rule " + wld_quoted(rule.name) +
                                                  " names an undefined workload type " +
                                                  wld_quoted(member.text));
        }
        rule.members.push_back(member.text);
      }
      if (rule.members.empty()) {
        return parser_.fail_at(entry.line, "rule " + wld_quoted(rule.name) + " has no members");
      }
      if (auto ok = check_selection(definition_, rule.members); !ok) {
        return parser_.fail_at(entry.line,
                               "rule " + wld_quoted(rule.name) + ": " + ok.error().message);
      }
      std::sort(rule.members.begin(), rule.members.end());
      rule.members.erase(std::unique(rule.members.begin(), rule.members.end()), rule.members.end());
      definition_.rules.push_back(std::move(rule));
    }
    return {};
  }

  const WldParser& parser_;
  WorkloadDefinition definition_;
};

// Python's repr of a string: single quotes unless the text has a single
// quote and no double quote; backslash, the quote, \n, \r, \t and other
// control characters escaped; everything else (UTF-8 included) as is.
void append_python_string(std::string& out, std::string_view text) {
  const bool double_quoted =
      text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos;
  const char quote = double_quoted ? '"' : '\'';
  out += quote;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += quote;
}

void append_name_list(std::string& out, const std::vector<std::string>& names) {
  out += '[';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += ", ";
    append_python_string(out, names[i]);
  }
  out += ']';
}

}  // namespace

acm::Result<WorkloadDefinition> parse_wld(std::string_view text, std::string_view file_name) {
  if (text.size() > kMaxWldBytes) {
    return acm::make_error(
        Errc::limit_exceeded,
        "workload definition larger than " + std::to_string(kMaxWldBytes) + " bytes",
        acm::SourceLocation{std::string(file_name), 0, 0});
  }
  WldParser parser(text, file_name);
  auto top = parser.parse_assignment();
  if (!top) return tl::unexpected(top.error());
  return DefinitionBuilder(parser).build(*top);
}

std::string format_wld(const WorkloadDefinition& definition) {
  std::string out = "ezpolicy = {'orgs': [";
  for (std::size_t i = 0; i < definition.organizations.size(); ++i) {
    if (i != 0) out += ", ";
    out += '[';
    append_python_string(out, definition.organizations[i].name);
    out += ", ";
    append_name_list(out, definition.organizations[i].departments);
    out += ']';
  }
  out += "], 'cons': [";
  for (std::size_t i = 0; i < definition.rules.size(); ++i) {
    if (i != 0) out += ", ";
    out += '[';
    append_python_string(out, definition.rules[i].name);
    out += ", ";
    append_name_list(out, definition.rules[i].members);
    out += ']';
  }
  out += "]}";
  return out;
}

acm::Result<WorkloadDefinition> load_wld_file(const std::filesystem::path& path) {
  auto text = acm::read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_wld(*text, path.string());
}

acm::Status save_wld_file(const std::filesystem::path& path, const WorkloadDefinition& definition) {
  if (auto ok = check_definition(definition); !ok) return ok;
  return acm::write_file_atomic(path, format_wld(definition));
}

}  // namespace shype::ezpolicy
