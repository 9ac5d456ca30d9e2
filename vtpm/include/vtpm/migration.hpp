// vTPM migration packages (docs/vtpm.md, "Migration"): an instance's saved
// state, encrypted by the source manager to the destination manager's
// migration key, so that nothing between the two managers (vtpm_migratord,
// the network) sees the state in the clear.
//
// Sealing: an ephemeral X25519 key agrees a secret with the recipient's
// X25519 public key; HKDF-SHA256 turns it into an AES-256-GCM key; the
// ciphertext is the state files, and the additional authenticated data
// binds the format, the metadata (domain name, uuid, instance number, file
// list), both public keys and the destination's challenge (fresh random
// bytes it hands out for this one migration, so an old package cannot be
// offered again). Changing any of them, or opening with another key or
// challenge, fails. All crypto is OpenSSL EVP.
//
// The stored form of a package (a JSON object, carried inside a peer message,
// migration_wire.hpp):
//   {"format": "shype-vtpm-migration-1",
//    "metadata": {"name", "uuid", "instance", "files": [names]},
//    "recipient": hex(32), "ephemeral": hex(32), "challenge": hex(16), "nonce": hex(12),
//    "ciphertext": base64, "tag": hex(16)}
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acm/error.hpp"
#include "vtpm/layout.hpp"

#include "vtpm/deepquote.hpp"

namespace shype::vtpm {

inline constexpr const char* kMigrationFormat = "shype-vtpm-migration-1";
// Upper bounds checked before anything is decoded or allocated.
inline constexpr std::size_t kMaxMigrationFiles = 4;
inline constexpr std::size_t kMaxMigrationFileBytes = 1u << 20;
inline constexpr std::size_t kMigrationChallengeBytes = 16;

// An instance's saved state: file name -> contents.
using StateFiles = std::map<std::string, std::vector<std::uint8_t>>;

// Where migration keeps its files under SHYPE_ROOT:
//   var/lib/vtpm/migration/recipient.key   the manager's X25519 migration key (PEM, 0600)
//   var/lib/vtpm/migration/identity.key    vtpm_migratord's TLS key, EC P-256 (PEM, 0600)
//   var/lib/vtpm/migration/identity.pem    its self-signed certificate (PEM, 0644)
//   var/lib/vtpm/migration/peers/*.pem     the pinned certificates of trusted peers
//   var/lib/vtpm/instances/<N>/migration.json   an instance's migration mark
//   run/vtpm/vtpm_migratord.sock (.lock, .pid)  vtpmctl's socket to vtpm_migratord
//   var/log/vtpm/vtpm_migratord.log        its log
struct MigrationPaths {
  std::filesystem::path dir;
  std::filesystem::path recipient_key;
  std::filesystem::path identity_key;
  std::filesystem::path identity_cert;
  std::filesystem::path peers;
  std::filesystem::path socket;
  std::filesystem::path lock;
  std::filesystem::path pid;
  std::filesystem::path log;

  explicit MigrationPaths(const Layout& layout)
      : dir(layout.state_dir / "migration"),
        recipient_key(dir / "recipient.key"),
        identity_key(dir / "identity.key"),
        identity_cert(dir / "identity.pem"),
        peers(dir / "peers"),
        socket(layout.run_dir / "vtpm_migratord.sock"),
        lock(layout.run_dir / "vtpm_migratord.lock"),
        pid(layout.run_dir / "vtpm_migratord.pid"),
        log(layout.root / "var/log/vtpm/vtpm_migratord.log") {}
};

// The metadata that travels with the state (authenticated, not encrypted).
struct MigrationMetadata {
  std::string name;          // the domain name (registry.hpp rules)
  std::string uuid;          // canonical domain uuid
  std::uint32_t instance{};  // the instance number at the source (requested at the destination)
  std::vector<std::string> files;
};

// A decoded, not yet opened package.
struct MigrationPackage {
  MigrationMetadata metadata;
  std::vector<std::uint8_t> recipient;  // 32 bytes
  std::vector<std::uint8_t> ephemeral;  // 32 bytes
  std::vector<std::uint8_t> challenge;  // kMigrationChallengeBytes, from the destination
  std::vector<std::uint8_t> nonce;      // 12 bytes
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> tag;  // 16 bytes
};

// The manager's migration key pair (X25519).
class MigrationKey {
 public:
  // Loads the key from `path`, creating it (0600, atomically) if missing.
  [[nodiscard]] static acm::Result<MigrationKey> load_or_create(const std::filesystem::path& path);
  [[nodiscard]] static acm::Result<MigrationKey> generate();

  // The raw 32-byte public key, and as lower-case hex.
  [[nodiscard]] const std::vector<std::uint8_t>& public_key() const noexcept { return public_; }
  [[nodiscard]] std::string public_hex() const;
  [[nodiscard]] const std::string& private_pem() const noexcept { return private_pem_; }

 private:
  std::string private_pem_;
  std::vector<std::uint8_t> public_;
};

// Validates metadata: a valid domain name, canonical uuid, instance 1..255,
// 1..kMaxMigrationFiles distinct names of [A-Za-z0-9._-] (no "." or "..").
[[nodiscard]] acm::Status check_metadata(const MigrationMetadata& metadata);

// Seals `files` (whose names must equal metadata.files) to the recipient's
// 32-byte X25519 public key, for the recipient's challenge.
[[nodiscard]] acm::Result<MigrationPackage> seal_package(
    const MigrationMetadata& metadata, const StateFiles& files,
    const std::vector<std::uint8_t>& recipient_public, const std::vector<std::uint8_t>& challenge);

// Decrypts with the recipient's key; refuses a package addressed to another
// key or made for another challenge than `expected_challenge` (the one the
// recipient handed out), any modification (authentication failure), and
// state files that do not match the metadata's list.
[[nodiscard]] acm::Result<StateFiles> open_package(
    const MigrationPackage& package, const MigrationKey& key,
    const std::vector<std::uint8_t>& expected_challenge);

// A fresh random challenge (kMigrationChallengeBytes).
[[nodiscard]] acm::Result<std::vector<std::uint8_t>> new_migration_challenge();

// The stored form (see above). from_json validates every field (types,
// lengths, hex/base64, metadata) before it allocates by a size it read;
// errors name the field.
[[nodiscard]] nlohmann::json package_to_json(const MigrationPackage& package);
[[nodiscard]] acm::Result<MigrationPackage> package_from_json(const nlohmann::json& stored);

// Hex: to_hex and from_hex of deepquote.hpp.

}  // namespace shype::vtpm
