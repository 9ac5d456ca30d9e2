#include "vtpm/migration_wire.hpp"

#include "vtpm/migration.hpp"
#include "vtpm/registry.hpp"

namespace shype::vtpm {

namespace {

tl::unexpected<acm::Error> bad_message(const std::string& why) {
  return acm::make_error(acm::Errc::malformed_binary, "vTPM migration message: " + why);
}

bool has_string(const nlohmann::json& m, const char* field, std::size_t max) {
  return m.contains(field) && m[field].is_string() &&
         m[field].get_ref<const std::string&>().size() <= max;
}

acm::Status need_uuid(const nlohmann::json& m) {
  if (!has_string(m, "uuid", 36)) return bad_message("field 'uuid' is missing or not a string");
  const auto& text = m["uuid"].get_ref<const std::string&>();
  const auto uuid = canonical_uuid(text);
  if (!uuid || *uuid != text) return bad_message("field 'uuid' is not a canonical uuid");
  return {};
}

}  // namespace

acm::Result<std::uint32_t> peer_frame_length(const std::array<std::uint8_t, 4>& header) {
  const std::uint32_t n = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                          (std::uint32_t{header[2]} << 8) | header[3];
  if (n == 0) return bad_message("an empty frame");
  if (n > kMaxPeerFrameBytes) {
    return bad_message("a frame of " + std::to_string(n) + " bytes (the limit is " +
                       std::to_string(kMaxPeerFrameBytes) + ")");
  }
  return n;
}

std::string encode_peer_frame(const nlohmann::json& message) {
  const std::string body = message.dump();
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string out;
  out.reserve(4 + body.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out += body;
  return out;
}

acm::Result<nlohmann::json> decode_peer_message(std::string_view payload) {
  if (payload.empty() || payload.size() > kMaxPeerFrameBytes)
    return bad_message("bad payload length " + std::to_string(payload.size()));
  nlohmann::json m = nlohmann::json::parse(payload, nullptr, false);
  if (m.is_discarded()) return bad_message("not valid JSON");
  if (!m.is_object()) return bad_message("not a JSON object");
  if (!has_string(m, "type", 16)) return bad_message("field 'type' is missing or not a string");
  const std::string type = m["type"].get<std::string>();
  if (type == "hello") return m;
  if (type == "recipient") {
    if (!has_string(m, "public_key", 64))
      return bad_message("field 'public_key' is missing or not a string");
    const auto key = from_hex(m["public_key"].get<std::string>());
    if (!key || key->size() != 32) return bad_message("field 'public_key' is not 32 bytes of hex");
    if (!has_string(m, "challenge", 2 * kMigrationChallengeBytes))
      return bad_message("field 'challenge' is missing or not a string");
    const auto challenge = from_hex(m["challenge"].get<std::string>());
    if (!challenge || challenge->size() != kMigrationChallengeBytes)
      return bad_message("field 'challenge' is not 16 bytes of hex");
    return m;
  }
  if (type == "import") {
    if (!m.contains("package")) return bad_message("field 'package' is missing");
    if (auto p = package_from_json(m["package"]); !p) return bad_message(p.error().message);
    return m;
  }
  if (type == "imported") {
    if (!m.contains("instance") || !m["instance"].is_number_unsigned() ||
        m["instance"].get<std::uint64_t>() == 0 ||
        m["instance"].get<std::uint64_t>() > kMaxInstance)
      return bad_message("field 'instance' is not an instance number");
    if (!has_string(m, "name", 64) || !is_valid_domain_name(m["name"].get<std::string>()))
      return bad_message("field 'name' is not a domain name");
    if (auto ok = need_uuid(m); !ok) return tl::unexpected(ok.error());
    return m;
  }
  if (type == "commit" || type == "abort" || type == "done") {
    if (auto ok = need_uuid(m); !ok) return tl::unexpected(ok.error());
    return m;
  }
  if (type == "error") {
    if (!has_string(m, "message", 4096))
      return bad_message("field 'message' is missing, not a string or too long");
    return m;
  }
  return bad_message("unknown type '" + type + "'");
}

}  // namespace shype::vtpm
