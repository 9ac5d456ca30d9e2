// The one adapter for the resource label store's file format (STYLE.md rule
// 3; docs/resource-labels.md):
//   {"format": "shype-resource-labels", "version": 1,
//    "resources": {"<canonical name>": {"type": "ACM" | "INV_ACM",
//                  "policy": "...", "label": "...", "id": "<32 hex>"}}}
// Reading is strict - unknown fields, non-canonical names, malformed labels
// and duplicate ids are errors - because the file is only ever written by
// serialize_store, so anything else is damage. A later version that adds
// fields raises "version".
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "acm/error.hpp"
#include "resources/label_store.hpp"

namespace shype::resources::detail {

inline constexpr std::string_view kStoreFormat = "shype-resource-labels";
inline constexpr int kStoreVersion = 1;

using EntryMap = std::map<std::string, Entry, std::less<>>;

// `file` only names the store in error messages.
[[nodiscard]] Result<EntryMap> parse_store(std::string_view text,
                                           const std::filesystem::path& file);

// Pretty-printed, entries in key order, ending in a newline.
// invalid_argument if a name or label is not valid UTF-8 (JSON cannot hold it).
[[nodiscard]] Result<std::string> serialize_store(const EntryMap& entries);

// 32 lowercase hex digits.
[[nodiscard]] bool is_valid_id(std::string_view id) noexcept;

[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace shype::resources::detail
