// Python's printf-style `format % args` for the values of the language
// (docs/domain-config.md lists the conversions). Errors are Python's
// messages without a location; the evaluator adds the operator's.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "xmconfig/value.hpp"

namespace shype::xmconfig::detail {

// `args` is a tuple of arguments, or any other value as the only argument.
// The result is at most kMaxStringLength bytes, and widths and precisions
// are at most kMaxFormatWidth (errors otherwise).
[[nodiscard]] tl::expected<std::string, std::string> python_format(std::string_view format,
                                                                   const Value& args);

}  // namespace shype::xmconfig::detail
