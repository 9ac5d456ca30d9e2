// Base64 (RFC 4648) for bytes that travel inside JSON strings (console
// output is arbitrary bytes; JSON strings are UTF-8). OpenSSL does the work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shype::rpc {

[[nodiscard]] std::string base64_encode(std::string_view bytes);
// nullopt if `text` is not valid base64.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace shype::rpc
