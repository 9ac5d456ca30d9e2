#include "vtpm/state_blob.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace shype::vtpm {

namespace {

constexpr std::array<std::uint8_t, 8> kBlobMagic = {'S', 'H', 'V', 'T', 'P', 'M', 'B', '1'};

tl::unexpected<acm::Error> blob_error(const std::string& what, const std::string& why) {
  return acm::make_error(acm::Errc::malformed_binary, what + ": " + why);
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Reads fields out of untrusted bytes; every read checks what remains.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  [[nodiscard]] bool take(std::size_t n, std::span<const std::uint8_t>& out) {
    if (n > bytes_.size() - at_) return false;
    out = bytes_.subspan(at_, n);
    at_ += n;
    return true;
  }
  [[nodiscard]] bool u16(std::uint16_t& v) {
    std::span<const std::uint8_t> b;
    if (!take(2, b)) return false;
    v = static_cast<std::uint16_t>((b[0] << 8) | b[1]);
    return true;
  }
  [[nodiscard]] bool u32(std::uint32_t& v) {
    std::span<const std::uint8_t> b;
    if (!take(4, b)) return false;
    v = 0;
    for (auto x : b)
      v = (v << 8) | x;
    return true;
  }
  [[nodiscard]] bool u64(std::uint64_t& v) {
    std::span<const std::uint8_t> b;
    if (!take(8, b)) return false;
    v = 0;
    for (auto x : b)
      v = (v << 8) | x;
    return true;
  }
  [[nodiscard]] std::size_t offset() const noexcept { return at_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - at_; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

bool printable(std::span<const std::uint8_t> text) {
  for (auto c : text)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

struct BlobCipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using BlobCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, BlobCipherCtxDeleter>;

std::string hex_of(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

bool is_hex(const std::string& s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string hmac_hex(const StateKey& key, std::string_view text) {
  std::array<std::uint8_t, 32> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac.data(), &length);
  return hex_of(mac);
}

nlohmann::json manifest_body(const Manifest& m) {
  nlohmann::json instances = nlohmann::json::object();
  for (const auto& [n, e] : m.instances) {
    instances[std::to_string(n)] = {{"uuid", e.domain_uuid},
                                    {"generation", e.generation},
                                    {"files", e.files},
                                    {"key_sha256", e.key_sha256}};
  }
  return {{"version", 1}, {"counter", m.counter}, {"instances", instances}};
}

}  // namespace

acm::Result<StateKey> random_state_key() {
  StateKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return acm::make_error(acm::Errc::io_error, "the random number generator failed (RAND_bytes)");
  }
  return key;
}

acm::Result<std::vector<std::uint8_t>> seal_state_blob(const StateKey& key,
                                                       const BlobHeader& header,
                                                       std::span<const std::uint8_t> plaintext) {
  if (header.domain_uuid.size() > kMaxBlobText || header.file_name.size() > kMaxBlobText ||
      plaintext.size() > kMaxBlobPayload) {
    return acm::make_error(acm::Errc::limit_exceeded,
                           "state file " + header.file_name + " is too large to protect");
  }
  std::vector<std::uint8_t> out(kBlobMagic.begin(), kBlobMagic.end());
  put_u16(out, kStateBlobVersion);
  put_u32(out, header.instance);
  put_u64(out, header.generation);
  put_u16(out, static_cast<std::uint16_t>(header.domain_uuid.size()));
  out.insert(out.end(), header.domain_uuid.begin(), header.domain_uuid.end());
  put_u16(out, static_cast<std::uint16_t>(header.file_name.size()));
  out.insert(out.end(), header.file_name.begin(), header.file_name.end());
  std::array<std::uint8_t, 12> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return acm::make_error(acm::Errc::io_error, "the random number generator failed (RAND_bytes)");
  }
  out.insert(out.end(), nonce.begin(), nonce.end());
  put_u32(out, static_cast<std::uint32_t>(plaintext.size()));
  const std::size_t aad_size = out.size();

  BlobCipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  out.resize(aad_size + plaintext.size() + 16);
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, out.data(), static_cast<int>(aad_size)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + aad_size, &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + aad_size + plaintext.size(), &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16,
                          out.data() + aad_size + plaintext.size()) != 1) {
    return acm::make_error(acm::Errc::io_error,
                           "AES-256-GCM encryption of " + header.file_name + " failed");
  }
  return out;
}

acm::Result<ParsedStateBlob> parse_state_blob(std::span<const std::uint8_t> bytes,
                                              const std::string& what) {
  Cursor c(bytes);
  std::span<const std::uint8_t> field;
  if (!c.take(kBlobMagic.size(), field) ||
      !std::equal(field.begin(), field.end(), kBlobMagic.begin())) {
    return blob_error(what, "not a protected vTPM state file (bad magic)");
  }
  std::uint16_t version = 0;
  if (!c.u16(version)) return blob_error(what, "truncated (version)");
  if (version != kStateBlobVersion) {
    return blob_error(what, "unsupported format version " + std::to_string(version));
  }
  ParsedStateBlob blob;
  if (!c.u32(blob.header.instance)) return blob_error(what, "truncated (instance)");
  if (!c.u64(blob.header.generation)) return blob_error(what, "truncated (generation)");
  for (std::string* text : {&blob.header.domain_uuid, &blob.header.file_name}) {
    const char* name = text == &blob.header.domain_uuid ? "uuid" : "file name";
    std::uint16_t length = 0;
    if (!c.u16(length)) return blob_error(what, std::string("truncated (") + name + " length)");
    if (length > kMaxBlobText) return blob_error(what, std::string(name) + " too long");
    if (!c.take(length, field)) return blob_error(what, std::string("truncated (") + name + ")");
    if (!printable(field)) return blob_error(what, std::string(name) + " is not printable");
    text->assign(field.begin(), field.end());
  }
  if (!c.take(blob.nonce.size(), field)) return blob_error(what, "truncated (nonce)");
  std::copy(field.begin(), field.end(), blob.nonce.begin());
  std::uint32_t length = 0;
  if (!c.u32(length)) return blob_error(what, "truncated (ciphertext length)");
  if (length > kMaxBlobPayload) return blob_error(what, "ciphertext length beyond the limit");
  blob.aad.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(c.offset()));
  if (c.remaining() != std::size_t{length} + blob.tag.size()) {
    return blob_error(what, "truncated or extended (" + std::to_string(bytes.size()) +
                                " bytes, the header says " +
                                std::to_string(c.offset() + length + blob.tag.size()) + ")");
  }
  if (!c.take(length, field)) return blob_error(what, "truncated (ciphertext)");
  blob.ciphertext.assign(field.begin(), field.end());
  if (!c.take(blob.tag.size(), field)) return blob_error(what, "truncated (tag)");
  std::copy(field.begin(), field.end(), blob.tag.begin());
  return blob;
}

acm::Result<std::vector<std::uint8_t>> open_state_blob(const StateKey& key,
                                                       const ParsedStateBlob& blob,
                                                       const BlobHeader& expected,
                                                       const std::string& what) {
  const BlobHeader& h = blob.header;
  if (h.instance != expected.instance) {
    return blob_error(what, "belongs to instance " + std::to_string(h.instance) + ", not " +
                                std::to_string(expected.instance) + "; refused");
  }
  if (h.domain_uuid != expected.domain_uuid) {
    return blob_error(
        what, "belongs to domain " + h.domain_uuid + ", not " + expected.domain_uuid + "; refused");
  }
  if (h.file_name != expected.file_name) {
    return blob_error(what, "holds " + h.file_name + ", not " + expected.file_name + "; refused");
  }
  if (h.generation != expected.generation) {
    return blob_error(
        what,
        "generation " + std::to_string(h.generation) + ", but the manifest expects " +
            std::to_string(expected.generation) +
            (h.generation < expected.generation ? ": an older copy was put back (rollback); refused"
                                                : ": not a committed save; refused"));
  }
  std::vector<std::uint8_t> plain(blob.ciphertext.size());
  BlobCipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  auto tag = blob.tag;
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), blob.nonce.data()) ==
          1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, blob.aad.data(),
                        static_cast<int>(blob.aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &length, blob.ciphertext.data(),
                        static_cast<int>(blob.ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + blob.ciphertext.size(), &length) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return blob_error(what,
                      "authentication failed (modified, or not encrypted with this "
                      "instance's key); refused");
  }
  return plain;
}

std::string Manifest::serialize(const StateKey& mac_key) const {
  const std::string body = manifest_body(*this).dump();
  nlohmann::json stored = nlohmann::json::parse(body);
  stored["mac"] = hmac_hex(mac_key, body);
  return stored.dump(1) + "\n";
}

bool ParsedManifest::verify(const StateKey& mac_key) const {
  const std::string expected = hmac_hex(mac_key, signed_text);
  return expected.size() == mac_hex.size() &&
         CRYPTO_memcmp(expected.data(), mac_hex.data(), expected.size()) == 0;
}

acm::Result<ParsedManifest> parse_manifest(std::string_view text, const std::string& what) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  const auto bad = [&](const std::string& why) {
    return acm::make_error(acm::Errc::malformed_binary, what + ": " + why);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("version") || !j["version"].is_number_unsigned() || j["version"] != 1)
    return bad("unsupported or missing 'version'");
  if (!j.contains("counter") || !j["counter"].is_number_unsigned())
    return bad("'counter' must be an unsigned integer");
  if (!j.contains("mac") || !j["mac"].is_string() || !is_hex(j["mac"].get<std::string>(), 64))
    return bad("'mac' must be 64 hex digits");
  if (!j.contains("instances") || !j["instances"].is_object())
    return bad("'instances' must be an object");
  if (j.size() != 4) return bad("unexpected fields");
  ParsedManifest out;
  out.mac_hex = j["mac"].get<std::string>();
  out.manifest.counter = j["counter"].get<std::uint64_t>();
  for (const auto& [key, e] : j["instances"].items()) {
    const std::string where = "instance '" + key + "'";
    if (key.empty() || key.size() > 3 || key.find_first_not_of("0123456789") != std::string::npos ||
        key[0] == '0')
      return bad(where + ": not an instance number");
    const auto n = static_cast<std::uint32_t>(std::stoul(key));
    if (n < 1 || n > 255) return bad(where + ": out of range 1..255");
    if (!e.is_object() || e.size() != 4) return bad(where + ": must be an object of 4 fields");
    if (!e.contains("uuid") || !e["uuid"].is_string() ||
        e["uuid"].get<std::string>().size() > kMaxBlobText)
      return bad(where + ": bad 'uuid'");
    if (!e.contains("generation") || !e["generation"].is_number_unsigned())
      return bad(where + ": bad 'generation'");
    if (!e.contains("key_sha256") || !e["key_sha256"].is_string() ||
        !is_hex(e["key_sha256"].get<std::string>(), 64))
      return bad(where + ": bad 'key_sha256'");
    if (!e.contains("files") || !e["files"].is_array() || e["files"].size() > 8)
      return bad(where + ": bad 'files'");
    ManifestEntry entry;
    entry.domain_uuid = e["uuid"].get<std::string>();
    entry.generation = e["generation"].get<std::uint64_t>();
    entry.key_sha256 = e["key_sha256"].get<std::string>();
    for (const auto& f : e["files"]) {
      if (!f.is_string()) return bad(where + ": a file name is not a string");
      const std::string name = f.get<std::string>();
      if (name.empty() || name.size() > kMaxBlobText || name.find('/') != std::string::npos ||
          name[0] == '.')
        return bad(where + ": bad file name '" + name + "'");
      entry.files.push_back(name);
    }
    out.manifest.instances[n] = std::move(entry);
  }
  out.signed_text = manifest_body(out.manifest).dump();
  return out;
}

StateKey derive_key(const StateKey& key, std::string_view label) {
  std::string info(label);
  info.push_back('\x01');
  StateKey out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(info.data()), info.size(), out.data(), &length);
  return out;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return hex_of(digest);
}

}  // namespace shype::vtpm
