#include "store_format.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

namespace shype::resources::detail {
namespace {

using acm::make_error;
using nlohmann::json;

std::string store_name(const std::filesystem::path& file) {
  return "resource label store '" + file.string() + "'";
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag
// and its own "parse error at line L, column C: " prefix (we print those).
std::string parse_reason(const std::string& what) {
  std::string reason = what;
  if (const auto tag = reason.find("] "); tag != std::string::npos) reason.erase(0, tag + 2);
  if (reason.rfind("parse error", 0) == 0) {
    if (const auto colon = reason.find(": "); colon != std::string::npos)
      reason.erase(0, colon + 2);
  }
  return reason;
}

// 1-based line and column of the byte at 1-based offset `byte`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  const std::size_t end = byte == 0 ? 0 : std::min(byte - 1, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

Result<Entry> parse_entry(const std::string& key, const json& value,
                          const std::filesystem::path& file) {
  const auto fail = [&](Errc code, const std::string& why) -> Result<Entry> {
    return make_error(code, store_name(file) + ": entry '" + key + "': " + why);
  };
  auto name = ResourceName::parse_canonical(key);
  if (!name) return fail(Errc::invalid_argument, "not a canonical resource name");
  if (!value.is_object()) return fail(Errc::invalid_argument, "not a JSON object");
  for (const auto& [field, ignored] : value.items()) {
    (void)ignored;
    if (field != "type" && field != "policy" && field != "label" && field != "id") {
      return fail(Errc::invalid_argument, "unexpected field '" + field + "'");
    }
  }
  const auto text_field = [&](const char* field) -> std::optional<std::string> {
    const auto it = value.find(field);
    if (it == value.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto type = text_field("type");
  const auto policy = text_field("policy");
  const auto label = text_field("label");
  const auto id = text_field("id");
  if (!type || !policy || !label || !id) {
    return fail(Errc::invalid_argument, "needs the string fields type, policy, label and id");
  }
  Entry entry;
  entry.resource = std::move(*name);
  if (*type == "ACM") {
    entry.label.type = LabelType::acm;
  } else if (*type == "INV_ACM") {
    entry.label.type = LabelType::inv_acm;
  } else {
    return fail(Errc::invalid_argument, "unknown policy type '" + *type + "' (ACM or INV_ACM)");
  }
  entry.label.policy = *policy;
  entry.label.label = *label;
  if (auto valid = entry.label.validate(); !valid) {
    return fail(Errc::invalid_argument, valid.error().message);
  }
  if (!is_valid_id(*id))
    return fail(Errc::invalid_argument, "id '" + *id + "' is not 32 lowercase hex digits");
  entry.id = *id;
  return entry;
}

}  // namespace

bool is_valid_id(std::string_view id) noexcept {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3fu);
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Result<EntryMap> parse_store(std::string_view text, const std::filesystem::path& file) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    const auto [line, column] = line_column(text, e.byte);
    return make_error(Errc::invalid_argument,
                      store_name(file) + " is not valid JSON at line " + std::to_string(line) +
                          ", column " + std::to_string(column) + " (byte " +
                          std::to_string(e.byte) + "): " + parse_reason(e.what()));
  }
  if (!doc.is_object())
    return make_error(Errc::invalid_argument, store_name(file) + " is not a JSON object");
  for (const auto& [field, ignored] : doc.items()) {
    (void)ignored;
    if (field != "format" && field != "version" && field != "resources") {
      return make_error(Errc::invalid_argument,
                        store_name(file) + " has the unexpected field '" + field + "'");
    }
  }
  const auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || format->get<std::string>() != kStoreFormat) {
    return make_error(Errc::unsupported,
                      store_name(file) +
                          " is not a shype resource label file (its \"format\" is not \"" +
                          std::string(kStoreFormat) + "\")");
  }
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) {
    return make_error(Errc::invalid_argument, store_name(file) + " has no integer \"version\"");
  }
  if (version->get<long long>() != kStoreVersion) {
    return make_error(Errc::unsupported, store_name(file) + " has version " +
                                             std::to_string(version->get<long long>()) +
                                             "; this build reads version " +
                                             std::to_string(kStoreVersion));
  }
  const auto resources = doc.find("resources");
  if (resources == doc.end() || !resources->is_object()) {
    return make_error(Errc::invalid_argument, store_name(file) + " has no \"resources\" object");
  }
  EntryMap entries;
  std::set<std::string, std::less<>> ids;
  for (const auto& [key, value] : resources->items()) {
    auto entry = parse_entry(key, value, file);
    if (!entry) return tl::unexpected(entry.error());
    if (!ids.insert(entry->id).second) {
      return make_error(Errc::invalid_argument, store_name(file) + ": entry '" + key + "': id " +
                                                    entry->id + " is used by another entry");
    }
    entries.emplace(key, std::move(*entry));
  }
  return entries;
}

Result<std::string> serialize_store(const EntryMap& entries) {
  nlohmann::ordered_json resources = nlohmann::ordered_json::object();
  for (const auto& [key, entry] : entries) {
    if (!is_valid_utf8(key) || !is_valid_utf8(entry.label.policy) ||
        !is_valid_utf8(entry.label.label)) {
      return make_error(Errc::invalid_argument,
                        "cannot store the label of '" + key + "': names must be valid UTF-8");
    }
    nlohmann::ordered_json value;
    value["type"] = std::string(label_type_name(entry.label.type));
    value["policy"] = entry.label.policy;
    value["label"] = entry.label.label;
    value["id"] = entry.id;
    resources[key] = std::move(value);
  }
  nlohmann::ordered_json doc;
  doc["format"] = std::string(kStoreFormat);
  doc["version"] = kStoreVersion;
  doc["resources"] = std::move(resources);
  try {
    return doc.dump(2) + "\n";
  } catch (const nlohmann::ordered_json::exception& e) {
    return make_error(Errc::invalid_argument,
                      std::string("cannot serialize the resource label store: ") + e.what());
  }
}

}  // namespace shype::resources::detail
