#include "lexer.hpp"

#include <array>
#include <limits>
#include <utility>

#include "text.hpp"
#include "xmconfig/config_file.hpp"

namespace shype::xmconfig::detail {
namespace {

using acm::Errc;
using acm::make_error;

bool is_name_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) noexcept {
  return is_name_start(c) || (c >= '0' && c <= '9');
}
bool is_decimal(char c) noexcept {
  return c >= '0' && c <= '9';
}

int digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

char closing_for(char open) noexcept {
  switch (open) {
    case '(':
      return ')';
    case '[':
      return ']';
    default:
      return '}';
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Longest match first.
constexpr std::array<std::string_view, 25> kMultiCharOperators = {
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "<<", ">>", "<=", ">=", "==", "!=",
    "<>",  "+=",  "-=",  "*=",  "/=",  "%=", "&=", "|=", "^=", "@=", "->", ":="};
constexpr std::string_view kSingleCharOperators = "+-*/%()[]{},:.;=<>&|^~@`";

}  // namespace

Lexer::Lexer(std::string_view text, const std::string& file_name)
    : text_(text), file_name_(file_name) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") {  // a UTF-8 byte order mark
    pos_ = 3;
    line_start_ = 3;
  }
}

acm::SourceLocation Lexer::location(std::uint32_t line, std::uint32_t column) const {
  return acm::SourceLocation{file_name_, line, column};
}

std::uint32_t Lexer::column_of(std::size_t offset) const {
  // Bytes, 1-based; a configuration file is at most kMaxConfigSize bytes.
  return static_cast<std::uint32_t>(offset - line_start_ + 1);
}

bool Lexer::at_newline() const {
  return pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r');
}

void Lexer::consume_newline() {
  if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
  ++pos_;
  ++line_;
  line_start_ = pos_;
}

acm::Result<Token> Lexer::next() {
  while (true) {
    if (pos_ >= text_.size()) {
      if (!brackets_.empty()) {
        const OpenBracket& open = brackets_.back();
        return make_error(Errc::invalid_argument,
                          std::string("'") + open.bracket + "' was never closed",
                          location(open.line, open.column));
      }
      Token token;
      token.line = line_;
      token.column = column_of(pos_);
      if (line_has_tokens_) {
        line_has_tokens_ = false;
        token.kind = TokenKind::newline;
        return token;
      }
      token.kind = TokenKind::end;
      return token;
    }
    const char c = text_[pos_];
    if (c == ' ' || c == '\t' || c == '\f') {
      ++pos_;
      continue;
    }
    if (c == '\n' || c == '\r') {
      Token token;
      token.kind = TokenKind::newline;
      token.line = line_;
      token.column = column_of(pos_);
      consume_newline();
      if (brackets_.empty() && line_has_tokens_) {
        line_has_tokens_ = false;
        return token;
      }
      continue;
    }
    if (c == '#') {
      while (pos_ < text_.size() && !at_newline())
        ++pos_;
      continue;
    }
    if (c == '\\') {
      const std::uint32_t column = column_of(pos_);
      ++pos_;
      if (!at_newline()) {
        return make_error(Errc::invalid_argument,
                          pos_ >= text_.size()
                              ? "unexpected end of file after line continuation character '\\'"
                              : "unexpected character after line continuation character '\\'",
                          location(line_, column));
      }
      consume_newline();
      if (pos_ >= text_.size()) {  // nothing to continue with (Python: unexpected EOF)
        return make_error(Errc::invalid_argument,
                          "unexpected end of file after line continuation character '\\'",
                          location(line_ - 1, column));
      }
      continue;
    }

    Token token;
    token.line = line_;
    token.column = column_of(pos_);
    token.indented = brackets_.empty() && !line_has_tokens_ && pos_ > line_start_;
    line_has_tokens_ = true;
    if (is_name_start(c)) return lex_name_or_prefixed_string(std::move(token));
    if (is_decimal(c)) return lex_number(std::move(token));
    if (c == '.' && pos_ + 1 < text_.size() && is_decimal(text_[pos_ + 1])) {
      return make_error(
          Errc::invalid_argument,
          "floating-point numbers are not supported in configuration files (only integers)",
          location(token.line, token.column));
    }
    if (c == '\'' || c == '"') return lex_string(std::move(token), false);
    return lex_operator(std::move(token));
  }
}

acm::Result<Token> Lexer::lex_name_or_prefixed_string(Token token) {
  const std::size_t start = pos_;
  while (pos_ < text_.size() && is_name_char(text_[pos_]))
    ++pos_;
  const std::string_view word = text_.substr(start, pos_ - start);
  if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"') && word.size() <= 2) {
    const std::string prefix = lower(word);
    if (prefix == "r" || prefix == "u" || prefix == "ur") {
      return lex_string(std::move(token), prefix != "u");
    }
    if (prefix == "b" || prefix == "br" || prefix == "rb" || prefix == "f" || prefix == "fr" ||
        prefix == "rf") {
      return make_error(
          Errc::invalid_argument,
          "string prefix '" + std::string(word) +
              "' is not supported in configuration files (bytes and f-strings are not part of the language; use plain or r'' strings)",
          location(token.line, token.column));
    }
  }
  token.kind = TokenKind::name;
  token.text = std::string(word);
  return token;
}

acm::Result<Token> Lexer::lex_number(Token token) {
  const std::size_t start = pos_;
  int base = 10;
  if (text_[pos_] == '0' && pos_ + 1 < text_.size()) {
    const char p = text_[pos_ + 1];
    if (p == 'x' || p == 'X') base = 16;
    if (p == 'o' || p == 'O') base = 8;
    if (p == 'b' || p == 'B') base = 2;
    if (base != 10) pos_ += 2;
  }
  const std::size_t digits_start = pos_;
  while (pos_ < text_.size() && is_name_char(text_[pos_]))
    ++pos_;
  const std::string_view digits = text_.substr(digits_start, pos_ - digits_start);
  const std::string_view literal = text_.substr(start, pos_ - start);
  const auto here = location(token.line, token.column);

  if (base == 10 && pos_ < text_.size() && text_[pos_] == '.') {
    return make_error(
        Errc::invalid_argument,
        "floating-point numbers are not supported in configuration files (only integers)", here);
  }
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const int d = digit_value(digits[i]);
    if (d >= base) {
      if (base == 10 &&
          (digits[i] == 'e' || digits[i] == 'E' || digits[i] == 'j' || digits[i] == 'J')) {
        return make_error(
            Errc::invalid_argument,
            "floating-point and complex numbers are not supported in configuration files (only integers)",
            here);
      }
      if (base == 10 && (digits[i] == 'l' || digits[i] == 'L') && i + 1 == digits.size()) {
        return make_error(Errc::invalid_argument,
                          "Python 2 long literals such as '" + std::string(literal) +
                              "' are not supported; write the number without the 'L'",
                          here);
      }
      return make_error(Errc::invalid_argument,
                        "invalid integer literal '" + std::string(literal) + "'", here);
    }
    if (value > (std::numeric_limits<std::uint64_t>::max() - static_cast<unsigned>(d)) /
                    static_cast<unsigned>(base)) {
      value = std::numeric_limits<std::uint64_t>::max();
    } else {
      value = value * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    }
  }
  if (digits.empty()) {
    return make_error(Errc::invalid_argument,
                      "invalid integer literal '" + std::string(literal) + "'", here);
  }
  if (base == 10 && digits.size() > 1 && digits[0] == '0' && value != 0) {
    return make_error(
        Errc::invalid_argument,
        "integer literal '" + std::string(literal) +
            "' has a leading zero (Python 2 read it as octal); write it in decimal, or with 0o for octal",
        here);
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return make_error(Errc::invalid_argument,
                      "integer literal '" + std::string(literal) +
                          "' is too large (the limit is 9223372036854775807)",
                      here);
  }
  token.kind = TokenKind::integer;
  token.integer = static_cast<std::int64_t>(value);
  token.text = std::string(literal);
  return token;
}

acm::Result<Token> Lexer::lex_string(Token token, bool raw) {
  const auto here = location(token.line, token.column);
  while (text_[pos_] != '\'' && text_[pos_] != '"')
    ++pos_;  // skip the prefix
  const char quote = text_[pos_];
  const bool triple =
      pos_ + 2 < text_.size() && text_[pos_ + 1] == quote && text_[pos_ + 2] == quote;
  pos_ += triple ? 3 : 1;
  const char* unterminated =
      triple ? "unterminated triple-quoted string literal" : "unterminated string literal";

  std::string value;
  while (true) {
    if (value.size() > kMaxStringLength) {
      return make_error(Errc::invalid_argument,
                        "string literal longer than " + std::to_string(kMaxStringLength) + " bytes",
                        here);
    }
    if (pos_ >= text_.size()) return make_error(Errc::invalid_argument, unterminated, here);
    const char c = text_[pos_];
    if (c == quote) {
      if (!triple) {
        ++pos_;
        break;
      }
      if (pos_ + 2 < text_.size() && text_[pos_ + 1] == quote && text_[pos_ + 2] == quote) {
        pos_ += 3;
        break;
      }
      value += c;
      ++pos_;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (!triple) return make_error(Errc::invalid_argument, unterminated, here);
      consume_newline();  // universal newlines: the value holds "\n"
      value += '\n';
      continue;
    }
    if (c != '\\') {
      value += c;
      ++pos_;
      continue;
    }
    // A backslash.
    const std::uint32_t escape_column = column_of(pos_);
    ++pos_;
    if (pos_ >= text_.size()) return make_error(Errc::invalid_argument, unterminated, here);
    const char e = text_[pos_];
    if (e == '\n' || e == '\r') {
      if (raw) {
        value += "\\\n";
      }
      consume_newline();  // an escaped newline joins the lines
      continue;
    }
    if (raw) {
      // The backslash stays, and the next character cannot end the string.
      value += '\\';
      value += e;
      ++pos_;
      continue;
    }
    ++pos_;
    switch (e) {
      case '\\':
      case '\'':
      case '"':
        value += e;
        continue;
      case 'a':
        value += '\a';
        continue;
      case 'b':
        value += '\b';
        continue;
      case 'f':
        value += '\f';
        continue;
      case 'n':
        value += '\n';
        continue;
      case 'r':
        value += '\r';
        continue;
      case 't':
        value += '\t';
        continue;
      case 'v':
        value += '\v';
        continue;
      default:
        break;
    }
    unsigned code = 0;
    bool numeric = false;
    if (e == 'x') {
      if (pos_ + 1 >= text_.size() || digit_value(text_[pos_]) >= 16 ||
          digit_value(text_[pos_ + 1]) >= 16) {
        return make_error(Errc::invalid_argument, "invalid \\x escape (it needs two hex digits)",
                          location(line_, escape_column));
      }
      code = static_cast<unsigned>(digit_value(text_[pos_]) * 16 + digit_value(text_[pos_ + 1]));
      pos_ += 2;
      numeric = true;
    } else if (e >= '0' && e <= '7') {
      code = static_cast<unsigned>(e - '0');
      for (int k = 0; k < 2 && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '7';
           ++k) {
        code = code * 8 + static_cast<unsigned>(text_[pos_] - '0');
        ++pos_;
      }
      numeric = true;
    }
    if (numeric) {
      if (code == 0) {
        return make_error(Errc::invalid_argument,
                          "NUL characters are not allowed in configuration strings",
                          location(line_, escape_column));
      }
      if (code > 0x7f) {
        return make_error(
            Errc::invalid_argument,
            "escapes above \\x7f are not supported (write the character itself; files are UTF-8)",
            location(line_, escape_column));
      }
      value += static_cast<char>(code);
      continue;
    }
    // Unknown escapes (including \u, \N: Python 2 byte strings) stay as written.
    value += '\\';
    value += e;
  }
  if (value.size() > kMaxStringLength) {
    return make_error(Errc::invalid_argument,
                      "string literal longer than " + std::to_string(kMaxStringLength) + " bytes",
                      here);
  }
  token.kind = TokenKind::string;
  token.text = std::move(value);
  return token;
}

acm::Result<Token> Lexer::lex_operator(Token token) {
  const auto here = location(token.line, token.column);
  for (std::string_view op : kMultiCharOperators) {
    if (text_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      token.kind = TokenKind::op;
      token.text = std::string(op);
      return token;
    }
  }
  const char c = text_[pos_];
  if (kSingleCharOperators.find(c) == std::string_view::npos) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      std::size_t len = 1;
      while (pos_ + len < text_.size() &&
             (static_cast<unsigned char>(text_[pos_ + len]) & 0xC0) == 0x80)
        ++len;
      return make_error(Errc::invalid_argument,
                        "invalid character '" + std::string(text_.substr(pos_, len)) +
                            "' (only strings and comments may hold non-ASCII text)",
                        here);
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(Errc::invalid_argument, "invalid control character in configuration file",
                        here);
    }
    return make_error(Errc::invalid_argument, std::string("invalid character '") + c + "'", here);
  }
  ++pos_;
  if (c == '(' || c == '[' || c == '{') {
    if (brackets_.size() >= kMaxNestingDepth) {
      return make_error(
          Errc::invalid_argument,
          "brackets nested deeper than " + std::to_string(kMaxNestingDepth) + " levels", here);
    }
    brackets_.push_back(OpenBracket{c, token.line, token.column});
  } else if (c == ')' || c == ']' || c == '}') {
    if (brackets_.empty()) {
      return make_error(Errc::invalid_argument, std::string("unmatched '") + c + "'", here);
    }
    const OpenBracket open = brackets_.back();
    if (closing_for(open.bracket) != c) {
      return make_error(Errc::invalid_argument,
                        std::string("closing '") + c + "' does not match opening '" + open.bracket +
                            "' on line " + std::to_string(open.line),
                        here);
    }
    brackets_.pop_back();
  }
  token.kind = TokenKind::op;
  token.text = std::string(1, c);
  return token;
}

}  // namespace shype::xmconfig::detail
