// The evaluator: a recursive-descent parser that computes values as it
// reads them (the language has no control flow, so no syntax tree is
// needed). Grammar, in the order of Python's precedence:
//
//   file       := { statement }
//   statement  := simple { ';' simple } [';'] NEWLINE
//   simple     := NAME ('=' | '+=' | '-=' | '*=' | '%=') exprlist | STRING...
//   exprlist   := expr { ',' expr } [',']          (a comma makes a tuple)
//   expr       := term { ('+' | '-') term }
//   term       := factor { ('*' | '%') factor }
//   factor     := ('+' | '-') factor | atom
//   atom       := INT | STRING { STRING } | NAME | '(' [exprlist] ')'
//               | '[' [expr { ',' expr } [',']] ']'
//
// Every construct outside the grammar that Python would accept gets an
// error saying it is not supported, rather than a bare "syntax error".
#include "xmconfig/config_file.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "lexer.hpp"
#include "python_format.hpp"
#include "text.hpp"

namespace shype::xmconfig {
namespace {

using acm::Errc;
using acm::Error;
using acm::make_error;
using detail::Lexer;
using detail::Token;
using detail::TokenKind;

constexpr std::string_view kOnlyAssignments =
    " is not supported in configuration files (only assignments of strings, numbers and lists)";
constexpr std::string_view kOnlyAssignmentsPlural =
    " are not supported in configuration files (only assignments of strings, numbers and lists)";
constexpr std::string_view kOnlyOperators =
    " is not supported in configuration files (only + - * % on integers, + and * on strings and lists, and % formatting)";

bool is_op(const Token& t, std::string_view spelling) {
  return t.kind == TokenKind::op && t.text == spelling;
}

bool starts_value(const Token& t) {
  switch (t.kind) {
    case TokenKind::integer:
    case TokenKind::string:
    case TokenKind::name:
      return true;
    case TokenKind::op:
      return t.text == "(" || t.text == "[" || t.text == "{" || t.text == "-" || t.text == "+" ||
             t.text == "~" || t.text == "`";
    default:
      return false;
  }
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::name:
      return "'" + t.text + "'";
    case TokenKind::integer:
      return "number " + t.text;
    case TokenKind::string:
      return "a string";
    case TokenKind::op:
      return "'" + t.text + "'";
    case TokenKind::newline:
      return "end of line";
    case TokenKind::end:
      return "end of file";
  }
  return "?";
}

// The line of a byte offset, counting newlines as the lexer does.
std::uint32_t line_of(std::string_view text, std::size_t offset) {
  std::uint32_t line = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) {
      ++line;
    }
  }
  return line;
}

class Evaluator {
 public:
  Evaluator(std::string_view text, std::string file_name)
      : file_name_(std::move(file_name)), lexer_(text, file_name_) {}
  Evaluator(const Evaluator&) = delete;  // lexer_ refers to file_name_
  Evaluator& operator=(const Evaluator&) = delete;

  Result<ConfigFile> run(std::span<const Override> overrides);

 private:
  tl::unexpected<Error> fail(const Token& at, std::string message) const {
    return make_error(Errc::invalid_argument, std::move(message),
                      SourceLocation{file_name_, at.line, at.column});
  }
  tl::unexpected<Error> unexpected(const Token& at, std::string_view expected) const;

  Status advance();
  Status statement();
  Status simple_statement();
  Status assign(const Token& name, Value value);
  Result<Value> expression_list();
  Result<Value> expression();
  Result<Value> term();
  Result<Value> factor();
  Result<Value> atom();
  Result<Value> postfix(Value value);
  Result<Value> sequence(const Token& open);
  Status reject_unsupported_continuation() const;
  Result<Value> binary(const Token& op, const Value& lhs, const Value& rhs);
  Result<Value> checked(Value value, const Token& at);

  const std::string file_name_;
  Lexer lexer_;  // refers to file_name_
  Token tok_;
  std::uint32_t depth_ = 0;
  std::size_t evaluated_ = 0;  // footprint of every value made so far
  ConfigFile result_;
  std::unordered_map<std::string, std::size_t> index_;
  std::unordered_set<std::string> overridden_;
};

tl::unexpected<Error> Evaluator::unexpected(const Token& at, std::string_view expected) const {
  if (at.kind == TokenKind::name && detail::is_python_keyword(at.text)) {
    return fail(at, "'" + at.text + "'" + std::string(kOnlyAssignments));
  }
  if (at.kind == TokenKind::op) {
    if (at.text == "{" || at.text == "}") {
      return fail(at, "dictionaries and sets ('{...}')" + std::string(kOnlyAssignmentsPlural));
    }
    if (at.text == ":") {
      return fail(
          at, "':' (slices, dictionaries, lambdas, annotations)" + std::string(kOnlyAssignments));
    }
    if (at.text == "`") {
      return fail(at, "Python 2's backquotes ('`x`')" + std::string(kOnlyAssignmentsPlural));
    }
    static constexpr std::string_view kOperators[] = {
        "/",  "//",  "**",  "@",  "<<", ">>", "&",  "|",  "^",   "~",
        "<",  ">",   "<=",  ">=", "==", "!=", "<>", "/=", "//=", "**=",
        "@=", "<<=", ">>=", "&=", "|=", "^=", "->", ":=", "..."};
    for (std::string_view op : kOperators) {
      if (at.text == op)
        return fail(at, "operator '" + at.text + "'" + std::string(kOnlyOperators));
    }
  }
  return fail(at, "expected " + std::string(expected) + ", found " + describe(at));
}

Status Evaluator::advance() {
  auto next = lexer_.next();
  if (!next) return tl::unexpected(std::move(next.error()));
  tok_ = std::move(*next);
  return {};
}

Result<ConfigFile> Evaluator::run(std::span<const Override> overrides) {
  result_.file_name = file_name_;
  for (const Override& o : overrides) {
    const SourceLocation where{std::string(kCommandLineFile), 0, 0};
    if (!detail::is_identifier(o.name) || detail::is_python_keyword(o.name)) {
      return make_error(Errc::invalid_argument,
                        "invalid variable name " + detail::quoted(o.name) + " in '" + o.name + "=" +
                            o.value + "'",
                        where);
    }
    if (o.value.size() > kMaxStringLength) {
      return make_error(
          Errc::invalid_argument,
          "value of " + o.name + " longer than " + std::to_string(kMaxStringLength) + " bytes",
          where);
    }
    if (o.value.find('\0') != std::string::npos || detail::first_invalid_utf8(o.value)) {
      return make_error(Errc::invalid_argument,
                        "value of " + o.name + " is not UTF-8 text (or contains a NUL)", where);
    }
    const auto number = detail::parse_decimal(o.value);
    Value value = number ? Value::integer(*number) : Value::string(o.value);
    overridden_.insert(o.name);
    auto [it, inserted] = index_.try_emplace(o.name, result_.variables.size());
    if (inserted) {
      result_.variables.push_back(Variable{o.name, std::move(value), where, true, o.value});
    } else {
      result_.variables[it->second].value = std::move(value);
      result_.variables[it->second].as_typed = o.value;
    }
  }

  if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
  while (tok_.kind != TokenKind::end) {
    if (tok_.kind == TokenKind::newline) {
      if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      continue;
    }
    if (auto ok = statement(); !ok) return tl::unexpected(ok.error());
  }
  return std::move(result_);
}

Status Evaluator::statement() {
  if (tok_.indented) {
    return fail(
        tok_,
        "unexpected indentation (statements start in the first column; Python blocks are not supported)");
  }
  while (true) {
    if (auto ok = simple_statement(); !ok) return ok;
    if (is_op(tok_, ";")) {
      if (auto ok = advance(); !ok) return ok;
      if (tok_.kind == TokenKind::newline) break;
      continue;
    }
    if (tok_.kind == TokenKind::newline) break;
    return unexpected(tok_, "end of line");
  }
  return advance();  // past the newline
}

Status Evaluator::simple_statement() {
  if (tok_.kind == TokenKind::string) {
    // A bare string (a docstring or commented-out text): evaluated, unused.
    const Token start = tok_;
    auto value = expression_list();
    if (!value) return tl::unexpected(value.error());
    if (!value->is_string()) {
      return fail(start, "a statement must be an assignment 'name = value'");
    }
    return {};
  }
  if (tok_.kind != TokenKind::name) {
    if (tok_.kind == TokenKind::op && tok_.text != "(" && tok_.text != "[") {
      return unexpected(tok_, "a statement 'name = value'");
    }
    return fail(tok_, "a statement must be an assignment 'name = value'");
  }
  const Token name = tok_;
  if (name.text == "True" || name.text == "False") {
    return fail(name, "cannot assign to " + name.text);
  }
  if (detail::is_python_keyword(name.text)) {
    return fail(name, "'" + name.text + "'" + std::string(kOnlyAssignments));
  }
  if (auto ok = advance(); !ok) return ok;

  if (is_op(tok_, "=")) {
    if (auto ok = advance(); !ok) return ok;
    auto value = expression_list();
    if (!value) return tl::unexpected(value.error());
    if (is_op(tok_, "=")) {
      return fail(tok_,
                  "chained assignments ('a = b = value') are not supported in configuration files");
    }
    return assign(name, std::move(*value));
  }
  if (is_op(tok_, "+=") || is_op(tok_, "-=") || is_op(tok_, "*=") || is_op(tok_, "%=")) {
    Token op = tok_;
    op.text.pop_back();  // "+=" -> "+"
    auto it = index_.find(name.text);
    if (it == index_.end()) return fail(name, "name '" + name.text + "' is not defined");
    const Value current = result_.variables[it->second].value;
    if (auto ok = advance(); !ok) return ok;
    auto rhs = expression_list();
    if (!rhs) return tl::unexpected(rhs.error());
    auto value = binary(op, current, *rhs);
    if (!value) return tl::unexpected(value.error());
    return assign(name, std::move(*value));
  }
  if (is_op(tok_, "("))
    return fail(tok_, "function calls ('name(...)')" + std::string(kOnlyAssignmentsPlural));
  if (is_op(tok_, "."))
    return fail(tok_, "attribute access ('a.b')" + std::string(kOnlyAssignments));
  if (is_op(tok_, "[")) return fail(tok_, "indexing ('a[...]')" + std::string(kOnlyAssignments));
  if (is_op(tok_, ",")) {
    return fail(tok_,
                "assigning several names at once ('a, b = ...')" + std::string(kOnlyAssignments));
  }
  if (tok_.kind == TokenKind::op && tok_.text != ";")
    return unexpected(tok_, "'=' after '" + name.text + "'");
  return fail(name,
              "a statement must be an assignment 'name = value' (found only '" + name.text + "')");
}

Status Evaluator::assign(const Token& name, Value value) {
  if (overridden_.contains(name.text)) return {};  // the command line wins (manual 4.2)
  SourceLocation where{file_name_, name.line, name.column};
  auto [it, inserted] = index_.try_emplace(name.text, result_.variables.size());
  if (inserted) {
    result_.variables.push_back(Variable{name.text, std::move(value), std::move(where), false, {}});
  } else {
    Variable& v = result_.variables[it->second];
    v.value = std::move(value);
    v.where = std::move(where);
  }
  return {};
}

Result<Value> Evaluator::expression_list() {
  const Token start = tok_;
  auto first = expression();
  if (!first) return first;
  if (!is_op(tok_, ",")) return first;
  std::vector<Value> items;
  items.push_back(std::move(*first));
  while (is_op(tok_, ",")) {
    if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
    if (!starts_value(tok_)) break;
    if (items.size() >= kMaxListLength) {
      return fail(tok_, "tuple longer than " + std::to_string(kMaxListLength) + " elements");
    }
    auto item = expression();
    if (!item) return item;
    items.push_back(std::move(*item));
  }
  return checked(Value::tuple(std::move(items)), start);
}

Result<Value> Evaluator::expression() {
  auto lhs = term();
  if (!lhs) return lhs;
  while (is_op(tok_, "+") || is_op(tok_, "-")) {
    const Token op = tok_;
    if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
    auto rhs = term();
    if (!rhs) return rhs;
    lhs = binary(op, *lhs, *rhs);
    if (!lhs) return lhs;
  }
  return lhs;
}

Result<Value> Evaluator::term() {
  auto lhs = factor();
  if (!lhs) return lhs;
  while (true) {
    if (auto ok = reject_unsupported_continuation(); !ok) return tl::unexpected(ok.error());
    if (!is_op(tok_, "*") && !is_op(tok_, "%")) break;
    const Token op = tok_;
    if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
    auto rhs = factor();
    if (!rhs) return rhs;
    lhs = binary(op, *lhs, *rhs);
    if (!lhs) return lhs;
  }
  return lhs;
}

// What may follow a value in Python but not in the language: other binary
// operators, comparisons, and the keywords of conditional expressions,
// comprehensions and boolean logic.
Status Evaluator::reject_unsupported_continuation() const {
  if (tok_.kind == TokenKind::name) {
    if (detail::is_python_keyword(tok_.text)) {
      return fail(tok_, "'" + tok_.text + "'" + std::string(kOnlyAssignments));
    }
    return {};
  }
  if (tok_.kind != TokenKind::op) return {};
  if (tok_.text == "+" || tok_.text == "-" || tok_.text == "*" || tok_.text == "%" ||
      tok_.text == "," || tok_.text == ")" || tok_.text == "]" || tok_.text == ";" ||
      tok_.text == "=" || tok_.text == "+=" || tok_.text == "-=" || tok_.text == "*=" ||
      tok_.text == "%=" || tok_.text == "(" || tok_.text == "[" || tok_.text == "." ||
      tok_.text == "{") {
    return {};
  }
  return unexpected(tok_, "an operator");
}

Result<Value> Evaluator::factor() {
  if (is_op(tok_, "-") || is_op(tok_, "+")) {
    const Token op = tok_;
    if (++depth_ > kMaxNestingDepth) {
      return fail(op,
                  "expression nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    }
    if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
    auto operand = factor();
    --depth_;
    if (!operand) return operand;
    if (!operand->is_integer()) {
      return fail(
          op, "bad operand type for unary " + op.text + ": '" + kind_name(operand->kind()) + "'");
    }
    if (op.text == "+") return operand;
    std::int64_t negated = 0;
    if (__builtin_sub_overflow(std::int64_t{0}, operand->as_integer(), &negated)) {
      return fail(op, "integer result out of range (integers are 64-bit)");
    }
    return Value::integer(negated);
  }
  if (is_op(tok_, "~")) return unexpected(tok_, "a value");
  auto value = atom();
  if (!value) return value;
  return postfix(std::move(*value));
}

Result<Value> Evaluator::postfix(Value value) {
  if (is_op(tok_, "("))
    return fail(tok_, "function calls ('name(...)')" + std::string(kOnlyAssignmentsPlural));
  if (is_op(tok_, "."))
    return fail(tok_, "attribute access ('a.b')" + std::string(kOnlyAssignments));
  if (is_op(tok_, "["))
    return fail(tok_, "indexing and slicing ('a[...]')" + std::string(kOnlyAssignments));
  return value;
}

Result<Value> Evaluator::atom() {
  const Token start = tok_;
  switch (tok_.kind) {
    case TokenKind::integer: {
      Value v = Value::integer(tok_.integer);
      if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      return checked(std::move(v), start);
    }
    case TokenKind::string: {
      // Adjacent literals are one string, as in Python.
      std::string text = tok_.text;
      if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      while (tok_.kind == TokenKind::string) {
        if (text.size() + tok_.text.size() > kMaxStringLength) {
          return fail(start, "string longer than " + std::to_string(kMaxStringLength) + " bytes");
        }
        text += tok_.text;
        if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      }
      return checked(Value::string(std::move(text)), start);
    }
    case TokenKind::name: {
      if (tok_.text == "True" || tok_.text == "False") {
        Value v = Value::integer(tok_.text == "True" ? 1 : 0);
        if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
        return checked(std::move(v), start);
      }
      if (detail::is_python_keyword(tok_.text)) {
        return fail(tok_, "'" + tok_.text + "'" + std::string(kOnlyAssignments));
      }
      auto it = index_.find(tok_.text);
      if (it == index_.end()) {
        // `int(vmid)`, `os.path`, `[a for a in x]`, `a = b = 1`: the
        // construct is the better message.
        if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
        if (is_op(tok_, "=")) {
          return fail(
              tok_,
              "chained assignments ('a = b = value') are not supported in configuration files");
        }
        if (auto ok = postfix(Value{}); !ok) return ok;
        if (auto ok = reject_unsupported_continuation(); !ok) return tl::unexpected(ok.error());
        return fail(
            start,
            "name '" + start.text +
                "' is not defined (define it earlier in the file or on the command line as " +
                start.text + "=value)");
      }
      Value v = result_.variables[it->second].value;
      if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      return checked(std::move(v), start);  // a copy costs what it holds
    }
    case TokenKind::op:
      if (tok_.text == "(" || tok_.text == "[") return sequence(start);
      return unexpected(tok_, "a value");
    default:
      return unexpected(tok_, "a value");
  }
}

// '(' ... ')' or '[' ... ']', with tok_ on the opening bracket.
Result<Value> Evaluator::sequence(const Token& open) {
  const bool list = open.text == "[";
  const std::string_view close = list ? "]" : ")";
  if (++depth_ > kMaxNestingDepth) {
    return fail(open,
                "expression nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
  std::vector<Value> items;
  bool saw_comma = false;
  std::size_t footprint = 0;
  while (!is_op(tok_, close)) {
    if (items.size() >= kMaxListLength) {
      return fail(tok_, std::string(list ? "list" : "tuple") + " longer than " +
                            std::to_string(kMaxListLength) + " elements");
    }
    auto item = expression();
    if (!item) return item;
    footprint += 16 + item->footprint();
    if (footprint > kMaxValueSize) {
      return fail(open, "value larger than " + std::to_string(kMaxValueSize) + " bytes");
    }
    items.push_back(std::move(*item));
    if (is_op(tok_, ",")) {
      saw_comma = true;
      if (auto ok = advance(); !ok) return tl::unexpected(ok.error());
      continue;
    }
    if (!is_op(tok_, close)) {
      return unexpected(tok_, "',' or '" + std::string(close) + "'");
    }
  }
  --depth_;
  if (auto ok = advance(); !ok) return tl::unexpected(ok.error());  // past the close
  if (list) return checked(Value::list(std::move(items)), open);
  if (items.size() == 1 && !saw_comma) return std::move(items.front());  // (expr)
  return checked(Value::tuple(std::move(items)), open);
}

Result<Value> Evaluator::checked(Value value, const Token& at) {
  if (value.is_string() && value.as_string().size() > kMaxStringLength) {
    return fail(at, "string longer than " + std::to_string(kMaxStringLength) + " bytes");
  }
  if (value.is_sequence() && value.items().size() > kMaxListLength) {
    return fail(at, std::string(kind_name(value.kind())) + " longer than " +
                        std::to_string(kMaxListLength) + " elements");
  }
  if (value.depth() > kMaxNestingDepth) {
    return fail(at, "lists nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  if (value.footprint() > kMaxValueSize) {
    return fail(at, "value larger than " + std::to_string(kMaxValueSize) + " bytes");
  }
  evaluated_ += value.footprint();
  if (evaluated_ > kMaxEvaluationSize) {
    return fail(at, "evaluating the file needs more than " +
                        std::to_string(kMaxEvaluationSize >> 20) +
                        " MiB of values (the limit for configuration files)");
  }
  return value;
}

Result<Value> Evaluator::binary(const Token& op, const Value& lhs, const Value& rhs) {
  const auto type_error = [&]() {
    return fail(op, "unsupported operand type(s) for " + op.text + ": '" + kind_name(lhs.kind()) +
                        "' and '" + kind_name(rhs.kind()) + "'");
  };
  const auto out_of_range = [&]() {
    return fail(op, "integer result out of range (integers are 64-bit)");
  };
  const char o = op.text.front();

  if (lhs.is_integer() && rhs.is_integer()) {
    const std::int64_t a = lhs.as_integer();
    const std::int64_t b = rhs.as_integer();
    std::int64_t r = 0;
    switch (o) {
      case '+':
        if (__builtin_add_overflow(a, b, &r)) return out_of_range();
        break;
      case '-':
        if (__builtin_sub_overflow(a, b, &r)) return out_of_range();
        break;
      case '*':
        if (__builtin_mul_overflow(a, b, &r)) return out_of_range();
        break;
      default:  // '%': Python's modulo takes the sign of the divisor
        if (b == 0) return fail(op, "integer modulo by zero");
        if (b == -1) {
          r = 0;  // (and INT64_MIN % -1 would trap)
        } else {
          r = a % b;
          if (r != 0 && ((r < 0) != (b < 0))) r += b;
        }
        break;
    }
    return checked(Value::integer(r), op);
  }

  if (o == '%') {
    if (!lhs.is_string()) return type_error();
    auto formatted = detail::python_format(lhs.as_string(), rhs);
    if (!formatted) return fail(op, formatted.error());
    return checked(Value::string(std::move(*formatted)), op);
  }

  if (o == '+') {
    if (lhs.kind() != rhs.kind() || lhs.is_integer()) return type_error();
    if (lhs.is_string()) {
      if (lhs.as_string().size() + rhs.as_string().size() > kMaxStringLength) {
        return fail(op, "string longer than " + std::to_string(kMaxStringLength) + " bytes");
      }
      return checked(Value::string(lhs.as_string() + rhs.as_string()), op);
    }
    if (lhs.items().size() + rhs.items().size() > kMaxListLength) {
      return fail(op, std::string(kind_name(lhs.kind())) + " longer than " +
                          std::to_string(kMaxListLength) + " elements");
    }
    if (lhs.footprint() + rhs.footprint() > kMaxValueSize) {
      return fail(op, "value larger than " + std::to_string(kMaxValueSize) + " bytes");
    }
    std::vector<Value> items = lhs.items();
    items.insert(items.end(), rhs.items().begin(), rhs.items().end());
    return checked(lhs.kind() == Value::Kind::list ? Value::list(std::move(items))
                                                   : Value::tuple(std::move(items)),
                   op);
  }

  if (o == '*') {
    // Repetition: a string or sequence times an integer, either way round.
    if (lhs.is_integer() == rhs.is_integer()) return type_error();
    const Value& seq = lhs.is_integer() ? rhs : lhs;
    const std::int64_t times = lhs.is_integer() ? lhs.as_integer() : rhs.as_integer();
    const std::size_t count = times > 0 ? static_cast<std::size_t>(times) : 0;
    if (seq.is_string()) {
      const std::string& s = seq.as_string();
      if (!s.empty() && count > kMaxStringLength / s.size()) {
        return fail(op, "string longer than " + std::to_string(kMaxStringLength) + " bytes");
      }
      std::string out;
      out.reserve(s.size() * (s.empty() ? 0 : count));
      for (std::size_t i = 0; i < count && !s.empty(); ++i)
        out += s;
      return checked(Value::string(std::move(out)), op);
    }
    const auto& items = seq.items();
    if (!items.empty() && count > kMaxListLength / items.size()) {
      return fail(op, std::string(kind_name(seq.kind())) + " longer than " +
                          std::to_string(kMaxListLength) + " elements");
    }
    if (seq.footprint() != 0 && count > kMaxValueSize / seq.footprint()) {
      return fail(op, "value larger than " + std::to_string(kMaxValueSize) + " bytes");
    }
    std::vector<Value> out;
    out.reserve(items.size() * (items.empty() ? 0 : count));
    for (std::size_t i = 0; i < count && !items.empty(); ++i)
      out.insert(out.end(), items.begin(), items.end());
    return checked(seq.kind() == Value::Kind::list ? Value::list(std::move(out))
                                                   : Value::tuple(std::move(out)),
                   op);
  }
  return type_error();  // '-' on non-integers
}

}  // namespace

const Variable* ConfigFile::find(std::string_view name) const {
  for (const Variable& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Result<ConfigFile> parse_config(std::string_view text, std::string file_name,
                                std::span<const Override> overrides) {
  if (text.size() > kMaxConfigSize) {
    return make_error(Errc::invalid_argument,
                      "configuration file larger than " + std::to_string(kMaxConfigSize) + " bytes",
                      SourceLocation{file_name, 0, 0});
  }
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return make_error(Errc::invalid_argument, "NUL byte in configuration file",
                      SourceLocation{file_name, line_of(text, nul), 0});
  }
  if (const auto bad = detail::first_invalid_utf8(text)) {
    return make_error(Errc::invalid_argument, "configuration file is not valid UTF-8",
                      SourceLocation{file_name, line_of(text, *bad), 0});
  }
  Evaluator evaluator(text, std::move(file_name));
  return evaluator.run(overrides);
}

Result<Override> parse_override(std::string_view declaration) {
  const std::size_t eq = declaration.find('=');
  const SourceLocation where{std::string(kCommandLineFile), 0, 0};
  if (eq == std::string_view::npos) {
    return make_error(
        Errc::invalid_argument,
        "expected a declaration 'variable=value', found " + detail::quoted(declaration), where);
  }
  Override o{std::string(declaration.substr(0, eq)), std::string(declaration.substr(eq + 1))};
  if (!detail::is_identifier(o.name) || detail::is_python_keyword(o.name)) {
    return make_error(
        Errc::invalid_argument,
        "invalid variable name " + detail::quoted(o.name) + " in " + detail::quoted(declaration),
        where);
  }
  return o;
}

}  // namespace shype::xmconfig
