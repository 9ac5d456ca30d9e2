#include "vtpm/migration.hpp"

#include <memory>
#include <set>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "acm/file_io.hpp"
#include "rpc/base64.hpp"
#include "vtpm/registry.hpp"

namespace shype::vtpm {

namespace {

using acm::Errc;
using acm::make_error;

constexpr std::size_t kX25519Bytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr const char* kHkdfInfo = "shype vtpm migration v1 aes-256-gcm";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

tl::unexpected<acm::Error> crypto_error(const std::string& what) {
  return make_error(Errc::invalid_argument, "vTPM migration package: " + what);
}

acm::Result<std::vector<std::uint8_t>> raw_public(EVP_PKEY* key) {
  std::vector<std::uint8_t> out(kX25519Bytes);
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != kX25519Bytes)
    return crypto_error("cannot read an X25519 public key");
  return out;
}

Pkey x25519_keygen() {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
}

// X25519(own, peer) -> HKDF-SHA256(salt = ephemeral || recipient) -> 32 bytes.
acm::Result<std::vector<std::uint8_t>> derive_key(EVP_PKEY* own,
                                                  const std::vector<std::uint8_t>& peer_public,
                                                  const std::vector<std::uint8_t>& ephemeral,
                                                  const std::vector<std::uint8_t>& recipient) {
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(),
                                        peer_public.size()));
  if (!peer) return crypto_error("the public key is not a valid X25519 key");
  PkeyCtx agree(EVP_PKEY_CTX_new(own, nullptr));
  std::vector<std::uint8_t> secret(kX25519Bytes);
  std::size_t secret_len = secret.size();
  if (!agree || EVP_PKEY_derive_init(agree.get()) != 1 ||
      EVP_PKEY_derive_set_peer(agree.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(agree.get(), secret.data(), &secret_len) != 1 || secret_len != kX25519Bytes) {
    return crypto_error("X25519 key agreement failed");
  }
  std::vector<std::uint8_t> salt = ephemeral;
  salt.insert(salt.end(), recipient.begin(), recipient.end());
  PkeyCtx hkdf(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::vector<std::uint8_t> key(32);
  std::size_t key_len = key.size();
  const std::string_view info = kHkdfInfo;
  const bool ok =
      hkdf && EVP_PKEY_derive_init(hkdf.get()) == 1 &&
      EVP_PKEY_CTX_set_hkdf_md(hkdf.get(), EVP_sha256()) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_salt(hkdf.get(), salt.data(), static_cast<int>(salt.size())) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_key(hkdf.get(), secret.data(), static_cast<int>(secret.size())) == 1 &&
      EVP_PKEY_CTX_add1_hkdf_info(hkdf.get(), reinterpret_cast<const unsigned char*>(info.data()),
                                  static_cast<int>(info.size())) == 1 &&
      EVP_PKEY_derive(hkdf.get(), key.data(), &key_len) == 1 && key_len == key.size();
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok) return crypto_error("HKDF-SHA256 failed");
  return key;
}

nlohmann::json metadata_to_json(const MigrationMetadata& m) {
  return {{"name", m.name}, {"uuid", m.uuid}, {"instance", m.instance}, {"files", m.files}};
}

// What the AEAD authenticates besides the ciphertext.
std::string associated_data(const MigrationPackage& p) {
  return std::string(kMigrationFormat) + "\n" + metadata_to_json(p.metadata).dump() + "\n" +
         to_hex(p.recipient) + "\n" + to_hex(p.ephemeral) + "\n" + to_hex(p.challenge);
}

bool valid_file_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace


acm::Result<MigrationKey> MigrationKey::generate() {
  Pkey key = x25519_keygen();
  if (!key) return crypto_error("cannot generate an X25519 key");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return crypto_error("cannot encode the migration key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  MigrationKey out;
  out.private_pem_.assign(data, static_cast<std::size_t>(len));
  auto pub = raw_public(key.get());
  if (!pub) return tl::unexpected(pub.error());
  out.public_ = std::move(*pub);
  return out;
}

acm::Result<MigrationKey> MigrationKey::load_or_create(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    auto made = generate();
    if (!made) return made;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (auto ok = acm::write_file_atomic(path, made->private_pem_, 0600); !ok)
      return tl::unexpected(ok.error());
    return made;
  }
  auto text = acm::read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_X25519) {
    return make_error(Errc::malformed_binary,
                      path.string() + ": not a PEM X25519 private key (the migration key)");
  }
  MigrationKey out;
  out.private_pem_ = std::move(*text);
  auto pub = raw_public(key.get());
  if (!pub) return tl::unexpected(pub.error());
  out.public_ = std::move(*pub);
  return out;
}

std::string MigrationKey::public_hex() const {
  return to_hex(public_);
}

acm::Result<std::vector<std::uint8_t>> new_migration_challenge() {
  std::vector<std::uint8_t> out(kMigrationChallengeBytes);
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    return crypto_error("no random bytes for a challenge");
  return out;
}

acm::Status check_metadata(const MigrationMetadata& m) {
  if (!is_valid_domain_name(m.name))
    return crypto_error("metadata.name '" + m.name + "' is not a valid domain name");
  const auto uuid = canonical_uuid(m.uuid);
  if (!uuid || *uuid != m.uuid)
    return crypto_error("metadata.uuid '" + m.uuid + "' is not a canonical uuid");
  if (m.instance == kReservedInstance || m.instance > kMaxInstance)
    return crypto_error("metadata.instance " + std::to_string(m.instance) + " is not in 1..255");
  if (m.files.empty() || m.files.size() > kMaxMigrationFiles)
    return crypto_error("metadata.files must list 1.." + std::to_string(kMaxMigrationFiles) +
                        " files");
  std::set<std::string> seen;
  for (const auto& f : m.files) {
    if (!valid_file_name(f)) return crypto_error("metadata.files: bad file name '" + f + "'");
    if (!seen.insert(f).second) return crypto_error("metadata.files: '" + f + "' twice");
  }
  return {};
}

acm::Result<MigrationPackage> seal_package(const MigrationMetadata& metadata,
                                           const StateFiles& files,
                                           const std::vector<std::uint8_t>& recipient_public,
                                           const std::vector<std::uint8_t>& challenge) {
  if (auto ok = check_metadata(metadata); !ok) return tl::unexpected(ok.error());
  if (challenge.size() != kMigrationChallengeBytes)
    return crypto_error("the challenge must be " + std::to_string(kMigrationChallengeBytes) +
                        " bytes");
  if (recipient_public.size() != kX25519Bytes)
    return crypto_error("the recipient key must be 32 bytes (X25519)");
  if (files.size() != metadata.files.size())
    return crypto_error("the state files do not match metadata.files");
  // Plaintext: for each file in metadata order, a 4-byte big-endian length
  // and the bytes.
  std::vector<std::uint8_t> plain;
  for (const auto& name : metadata.files) {
    const auto it = files.find(name);
    if (it == files.end()) return crypto_error("state file '" + name + "' is missing");
    if (it->second.size() > kMaxMigrationFileBytes)
      return crypto_error("state file '" + name + "' is larger than the limit");
    const auto n = static_cast<std::uint32_t>(it->second.size());
    for (int shift = 24; shift >= 0; shift -= 8)
      plain.push_back(static_cast<std::uint8_t>(n >> shift));
    plain.insert(plain.end(), it->second.begin(), it->second.end());
  }

  Pkey ephemeral = x25519_keygen();
  if (!ephemeral) return crypto_error("cannot generate an ephemeral X25519 key");
  MigrationPackage p;
  p.metadata = metadata;
  p.recipient = recipient_public;
  p.challenge = challenge;
  auto eph_pub = raw_public(ephemeral.get());
  if (!eph_pub) return tl::unexpected(eph_pub.error());
  p.ephemeral = std::move(*eph_pub);
  p.nonce.resize(kNonceBytes);
  if (RAND_bytes(p.nonce.data(), static_cast<int>(p.nonce.size())) != 1)
    return crypto_error("no random bytes for the nonce");
  auto key = derive_key(ephemeral.get(), recipient_public, p.ephemeral, p.recipient);
  if (!key) return tl::unexpected(key.error());

  const std::string aad = associated_data(p);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  p.ciphertext.resize(plain.size());
  p.tag.resize(kTagBytes);
  int len = 0;
  int final_len = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key->data(), p.nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), p.ciphertext.data(), &len, plain.data(),
                        static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), p.ciphertext.data() + len, &final_len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, p.tag.data()) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!ok) return crypto_error("AES-256-GCM encryption failed");
  return p;
}

acm::Result<StateFiles> open_package(const MigrationPackage& p, const MigrationKey& recipient,
                                     const std::vector<std::uint8_t>& expected_challenge) {
  if (auto ok = check_metadata(p.metadata); !ok) return tl::unexpected(ok.error());
  if (p.recipient != recipient.public_key()) {
    return crypto_error("it is sealed to another manager's key (" + to_hex(p.recipient) +
                        ", this manager's is " + recipient.public_hex() + ")");
  }
  if (p.challenge != expected_challenge) {
    return crypto_error(
        "it was made for another migration (its challenge is not the one this manager's peer "
        "handed out)");
  }
  if (p.ephemeral.size() != kX25519Bytes || p.nonce.size() != kNonceBytes ||
      p.tag.size() != kTagBytes) {
    return crypto_error("bad key, nonce or tag length");
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(
      recipient.private_pem().data(), static_cast<int>(recipient.private_pem().size())));
  Pkey own(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!own) return crypto_error("cannot load this manager's migration key");
  auto key = derive_key(own.get(), p.ephemeral, p.ephemeral, p.recipient);
  if (!key) return tl::unexpected(key.error());

  const std::string aad = associated_data(p);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::vector<std::uint8_t> plain(p.ciphertext.size());
  std::vector<std::uint8_t> tag = p.tag;
  int len = 0;
  int final_len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key->data(), p.nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, p.ciphertext.data(),
                        static_cast<int>(p.ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &final_len) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!ok) {
    return crypto_error(
        "authentication failed (the package was modified, or it was not sealed to this key)");
  }

  StateFiles files;
  std::size_t at = 0;
  for (const auto& name : p.metadata.files) {
    if (plain.size() - at < 4) return crypto_error("state file '" + name + "' is truncated");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n = (n << 8) | plain[at + static_cast<std::size_t>(i)];
    at += 4;
    if (n > kMaxMigrationFileBytes || plain.size() - at < n)
      return crypto_error("state file '" + name + "' has a bad length");
    files[name].assign(plain.begin() + static_cast<std::ptrdiff_t>(at),
                       plain.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  if (at != plain.size()) return crypto_error("trailing bytes after the state files");
  OPENSSL_cleanse(plain.data(), plain.size());
  return files;
}

nlohmann::json package_to_json(const MigrationPackage& p) {
  const std::string_view ct(reinterpret_cast<const char*>(p.ciphertext.data()),
                            p.ciphertext.size());
  return {{"format", kMigrationFormat},           {"metadata", metadata_to_json(p.metadata)},
          {"recipient", to_hex(p.recipient)},     {"ephemeral", to_hex(p.ephemeral)},
          {"challenge", to_hex(p.challenge)},     {"nonce", to_hex(p.nonce)},
          {"ciphertext", rpc::base64_encode(ct)}, {"tag", to_hex(p.tag)}};
}

acm::Result<MigrationPackage> package_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return crypto_error("not a JSON object");
  const auto string_field = [&](const nlohmann::json& obj, const char* field,
                                std::size_t max) -> acm::Result<std::string> {
    if (!obj.contains(field) || !obj[field].is_string())
      return crypto_error(std::string("field '") + field + "' is missing or not a string");
    const auto& s = obj[field].get_ref<const std::string&>();
    if (s.size() > max) return crypto_error(std::string("field '") + field + "' is too long");
    return s;
  };
  const auto hex_field = [&](const char* field,
                             std::size_t bytes) -> acm::Result<std::vector<std::uint8_t>> {
    auto s = string_field(j, field, bytes * 2);
    if (!s) return tl::unexpected(s.error());
    auto raw = from_hex(*s);
    if (!raw || raw->size() != bytes) {
      return crypto_error(std::string("field '") + field + "' must be " + std::to_string(bytes) +
                          " bytes of hex");
    }
    return *raw;
  };
  auto format = string_field(j, "format", 64);
  if (!format) return tl::unexpected(format.error());
  if (*format != kMigrationFormat)
    return crypto_error("unknown format '" + *format + "' (expected " + kMigrationFormat + ")");
  if (!j.contains("metadata") || !j["metadata"].is_object())
    return crypto_error("field 'metadata' is missing or not an object");
  const auto& m = j["metadata"];
  MigrationPackage p;
  auto name = string_field(m, "name", 64);
  if (!name) return tl::unexpected(name.error());
  auto uuid = string_field(m, "uuid", 36);
  if (!uuid) return tl::unexpected(uuid.error());
  p.metadata.name = *name;
  p.metadata.uuid = *uuid;
  if (!m.contains("instance") || !m["instance"].is_number_unsigned() ||
      m["instance"].get<std::uint64_t>() > kMaxInstance) {
    return crypto_error("field 'metadata.instance' must be an instance number");
  }
  p.metadata.instance = m["instance"].get<std::uint32_t>();
  if (!m.contains("files") || !m["files"].is_array() || m["files"].size() > kMaxMigrationFiles)
    return crypto_error("field 'metadata.files' must be a short array");
  for (const auto& f : m["files"]) {
    if (!f.is_string()) return crypto_error("field 'metadata.files' must hold strings");
    p.metadata.files.push_back(f.get<std::string>());
  }
  if (auto ok = check_metadata(p.metadata); !ok) return tl::unexpected(ok.error());
  for (const auto& [field, bytes, out] :
       {std::tuple{"recipient", kX25519Bytes, &p.recipient},
        std::tuple{"ephemeral", kX25519Bytes, &p.ephemeral},
        std::tuple{"challenge", kMigrationChallengeBytes, &p.challenge},
        std::tuple{"nonce", kNonceBytes, &p.nonce}, std::tuple{"tag", kTagBytes, &p.tag}}) {
    auto raw = hex_field(field, bytes);
    if (!raw) return tl::unexpected(raw.error());
    *out = std::move(*raw);
  }
  // Base64 of at most kMaxMigrationFiles files with their length fields.
  const std::size_t max_plain = kMaxMigrationFiles * (kMaxMigrationFileBytes + 4);
  auto ct = string_field(j, "ciphertext", (max_plain + 2) / 3 * 4);
  if (!ct) return tl::unexpected(ct.error());
  auto raw = rpc::base64_decode(*ct);
  if (!raw) return crypto_error("field 'ciphertext' is not base64");
  p.ciphertext.assign(raw->begin(), raw->end());
  return p;
}

}  // namespace shype::vtpm
