// Tokens of the configuration language: Python's lexical rules for the
// subset docs/domain-config.md describes (names, integers, strings,
// operators, logical lines with implicit joining inside brackets and
// explicit joining with a trailing backslash). The lexer also rejects, with
// a message, tokens that only exist for constructs the language leaves out
// (floats, bytes and f-strings).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"

namespace shype::xmconfig::detail {

enum class TokenKind : std::uint8_t {
  name,
  integer,
  string,
  op,       // punctuation and operators, spelled in `text`
  newline,  // end of a logical line
  end,      // end of input (after the last newline)
};

struct Token {
  TokenKind kind = TokenKind::end;
  std::string text;  // name, operator spelling, or the decoded string
  std::int64_t integer = 0;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  // First token of a logical line that has whitespace before it on its
  // physical line (Python's "unexpected indent").
  bool indented = false;
};

class Lexer {
 public:
  // Preconditions: `text` is valid UTF-8 without NUL bytes and outlives the
  // lexer; `file_name` outlives it too.
  Lexer(std::string_view text, const std::string& file_name);

  [[nodiscard]] acm::Result<Token> next();

 private:
  struct OpenBracket {
    char bracket;
    std::uint32_t line;
    std::uint32_t column;
  };

  [[nodiscard]] acm::SourceLocation location(std::uint32_t line, std::uint32_t column) const;
  [[nodiscard]] std::uint32_t column_of(std::size_t offset) const;
  [[nodiscard]] bool at_newline() const;
  void consume_newline();
  [[nodiscard]] acm::Result<Token> lex_name_or_prefixed_string(Token token);
  [[nodiscard]] acm::Result<Token> lex_number(Token token);
  [[nodiscard]] acm::Result<Token> lex_string(Token token, bool raw);
  [[nodiscard]] acm::Result<Token> lex_operator(Token token);

  std::string_view text_;
  const std::string& file_name_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::size_t line_start_ = 0;
  bool line_has_tokens_ = false;  // the current logical line has a token
  std::vector<OpenBracket> brackets_;
};

}  // namespace shype::xmconfig::detail
