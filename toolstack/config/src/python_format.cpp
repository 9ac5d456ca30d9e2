#include "python_format.hpp"

#include <cstdint>
#include <span>

#include "text.hpp"
#include "xmconfig/config_file.hpp"

namespace shype::xmconfig::detail {
namespace {

using Failure = tl::unexpected<std::string>;

struct Spec {
  bool left = false;       // '-'
  bool plus = false;       // '+'
  bool space = false;      // ' '
  bool alternate = false;  // '#'
  bool zero = false;       // '0'
  std::int64_t width = 0;
  std::int64_t precision = -1;
  char conversion = 0;
};

// Pads `body` (already signed and prefixed) to the width; `sign_and_prefix`
// characters at its start stay in front of zero padding.
std::string pad(const Spec& spec, std::string body, std::size_t sign_and_prefix, bool numeric) {
  const std::size_t length = utf8_length(body);
  const auto width = static_cast<std::size_t>(spec.width);
  if (length >= width) return body;
  const std::size_t fill = width - length;
  if (spec.left) return body + std::string(fill, ' ');
  if (numeric && spec.zero) {
    body.insert(sign_and_prefix, fill, '0');
    return body;
  }
  return std::string(fill, ' ') + body;
}

std::string format_integer(const Spec& spec, std::int64_t v) {
  const bool negative = v < 0;
  // The magnitude without overflowing on INT64_MIN.
  const std::uint64_t magnitude =
      negative ? ~static_cast<std::uint64_t>(v) + 1 : static_cast<std::uint64_t>(v);
  unsigned base = 10;
  const char* digits = "0123456789abcdef";
  std::string prefix;
  switch (spec.conversion) {
    case 'o':
      base = 8;
      if (spec.alternate) prefix = "0o";
      break;
    case 'x':
      base = 16;
      if (spec.alternate) prefix = "0x";
      break;
    case 'X':
      base = 16;
      digits = "0123456789ABCDEF";
      if (spec.alternate) prefix = "0X";
      break;
    default:
      break;
  }
  std::string number;
  std::uint64_t rest = magnitude;
  do {
    number.insert(number.begin(), digits[rest % base]);
    rest /= base;
  } while (rest != 0);
  if (spec.precision > 0 && number.size() < static_cast<std::size_t>(spec.precision)) {
    number.insert(0, static_cast<std::size_t>(spec.precision) - number.size(), '0');
  }
  std::string sign;
  if (negative) {
    sign = "-";
  } else if (spec.plus) {
    sign = "+";
  } else if (spec.space) {
    sign = " ";
  }
  std::string body = sign + prefix + number;
  return pad(spec, std::move(body), sign.size() + prefix.size(), true);
}

tl::expected<std::string, std::string> convert(const Spec& spec, const Value& arg) {
  switch (spec.conversion) {
    case 'd':
    case 'i':
    case 'u':
      if (!arg.is_integer()) {
        return Failure(std::string("%") + spec.conversion + " format: a number is required, not " +
                       kind_name(arg.kind()));
      }
      return format_integer(spec, arg.as_integer());
    case 'o':
    case 'x':
    case 'X':
      if (!arg.is_integer()) {
        return Failure(std::string("%") + spec.conversion +
                       " format: an integer is required, not " + kind_name(arg.kind()));
      }
      return format_integer(spec, arg.as_integer());
    case 's':
    case 'r': {
      std::string text = spec.conversion == 's' ? arg.str() : arg.repr();
      if (spec.precision >= 0) {
        text = std::string(utf8_prefix(text, static_cast<std::size_t>(spec.precision)));
      }
      return pad(spec, std::move(text), 0, false);
    }
    case 'c': {
      std::string text;
      if (arg.is_integer()) {
        const std::int64_t cp = arg.as_integer();
        if (cp <= 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Failure("%c arg not in range (1..0x10ffff, no surrogates or NUL)");
        }
        append_utf8(text, static_cast<std::uint32_t>(cp));
      } else if (arg.is_string() && utf8_length(arg.as_string()) == 1) {
        text = arg.as_string();
      } else {
        return Failure("%c requires an int or a single character");
      }
      return pad(spec, std::move(text), 0, false);
    }
    default:
      return Failure("internal: unknown conversion");
  }
}

}  // namespace

tl::expected<std::string, std::string> python_format(std::string_view format, const Value& args) {
  std::span<const Value> arguments(&args, 1);
  if (args.kind() == Value::Kind::tuple) arguments = args.items();
  std::size_t next_argument = 0;

  std::string out;
  std::size_t i = 0;
  while (i < format.size()) {
    const std::size_t percent = format.find('%', i);
    out.append(
        format.substr(i, percent == std::string_view::npos ? std::string_view::npos : percent - i));
    if (percent == std::string_view::npos) break;
    const std::size_t spec_start = percent;
    i = percent + 1;
    Spec spec;
    if (i < format.size() && format[i] == '(') {
      return Failure(
          "format mapping keys such as '%(name)s' are not supported (they need a dictionary)");
    }
    for (; i < format.size(); ++i) {
      const char f = format[i];
      if (f == '-') {
        spec.left = true;
      } else if (f == '+') {
        spec.plus = true;
      } else if (f == ' ') {
        spec.space = true;
      } else if (f == '#') {
        spec.alternate = true;
      } else if (f == '0') {
        spec.zero = true;
      } else {
        break;
      }
    }
    auto read_number = [&](std::int64_t& target,
                           const char* what) -> tl::expected<void, std::string> {
      if (i < format.size() && format[i] == '*') {
        return Failure(std::string("'*' ") + what + " in format strings is not supported");
      }
      std::int64_t n = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        n = n * 10 + (format[i] - '0');
        if (n > kMaxFormatWidth) {
          return Failure(std::string("format ") + what + " larger than the limit of " +
                         std::to_string(kMaxFormatWidth));
        }
        ++i;
      }
      target = n;
      return {};
    };
    if (auto ok = read_number(spec.width, "width"); !ok) return Failure(ok.error());
    if (i < format.size() && format[i] == '.') {
      ++i;
      if (auto ok = read_number(spec.precision, "precision"); !ok) return Failure(ok.error());
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L'))
      ++i;  // length modifiers: accepted and ignored, as by Python
    if (i >= format.size()) return Failure("incomplete format");
    spec.conversion = format[i];
    ++i;
    switch (spec.conversion) {
      case '%':
        if (i != spec_start + 2) {  // Python accepts only a bare "%%"
          return Failure("unsupported format character '%' (0x25) at index " +
                         std::to_string(i - 1));
        }
        out += '%';
        break;
      case 'd':
      case 'i':
      case 'u':
      case 'o':
      case 'x':
      case 'X':
      case 's':
      case 'r':
      case 'c': {
        if (next_argument >= arguments.size()) {
          return Failure("not enough arguments for format string");
        }
        auto converted = convert(spec, arguments[next_argument++]);
        if (!converted) return Failure(converted.error());
        out += *converted;
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        return Failure(std::string("floating-point format '%") + spec.conversion +
                       "' is not supported (the language has no floats)");
      default: {
        const auto byte = static_cast<unsigned char>(spec.conversion);
        static constexpr char kHex[] = "0123456789abcdef";
        std::string shown =
            byte < 0x80 && byte >= 0x20 ? std::string(1, spec.conversion) : std::string("?");
        return Failure("unsupported format character '" + shown + "' (0x" + kHex[byte >> 4] +
                       kHex[byte & 0xF] + ") at index " + std::to_string(i - 1));
      }
    }
    if (out.size() > kMaxStringLength) {
      return Failure("formatted string longer than " + std::to_string(kMaxStringLength) + " bytes");
    }
  }
  if (out.size() > kMaxStringLength) {
    return Failure("formatted string longer than " + std::to_string(kMaxStringLength) + " bytes");
  }
  if (next_argument < arguments.size()) {
    return Failure("not all arguments converted during string formatting");
  }
  return out;
}

}  // namespace shype::xmconfig::detail
