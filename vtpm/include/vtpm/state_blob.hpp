// The at-rest formats of the vTPM manager's protected state (docs/vtpm.md,
// "Protected state"):
//
//  - a state blob: one file (a swtpm state file, or an instance's wrapped key)
//    encrypted with AES-256-GCM. Its header names what it is, and the whole
//    header is the GCM additional data, so a blob moved to another instance or
//    file, or an older generation put back, is refused:
//      magic "SHVTPMB1" | u16 version | u32 instance | u64 generation |
//      u16 uuid length | uuid | u16 file-name length | file name |
//      12-byte nonce | u32 ciphertext length | ciphertext | 16-byte tag
//    (all integers big-endian; the additional data is everything before the
//    ciphertext);
//  - the manifest: which instances exist, the generation of each one's blobs,
//    its files, a hash of its wrapped key, and the value of the platform TPM's
//    monotonic counter it was written with; JSON authenticated with
//    HMAC-SHA256 under a key derived from the manager key.
//
// Decoding is split from decryption: parse_state_blob() and parse_manifest()
// take untrusted bytes and only check structure (fuzzed by
// tests/fuzz/fuzz_vtpm_state_blob.cpp); open_state_blob() and
// Manifest::verify() then check them against a key and what is expected.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "acm/error.hpp"

namespace shype::vtpm {

inline constexpr std::size_t kStateKeyBytes = 32;  // AES-256
using StateKey = std::array<std::uint8_t, kStateKeyBytes>;

// A fresh random key (OpenSSL RAND_bytes).
[[nodiscard]] acm::Result<StateKey> random_state_key();

// What a blob says it is; authenticated as GCM additional data.
struct BlobHeader {
  std::uint32_t instance = 0;
  std::uint64_t generation = 0;
  std::string domain_uuid;
  std::string file_name;
  bool operator==(const BlobHeader&) const = default;
};

inline constexpr std::uint16_t kStateBlobVersion = 1;
inline constexpr std::size_t kMaxBlobPayload = std::size_t{16} << 20;
inline constexpr std::size_t kMaxBlobText = 64;  // uuid and file name

struct ParsedStateBlob {
  BlobHeader header;
  std::vector<std::uint8_t> aad;  // the header bytes, nonce and length
  std::array<std::uint8_t, 12> nonce{};
  std::vector<std::uint8_t> ciphertext;
  std::array<std::uint8_t, 16> tag{};
};

// Encrypts `plaintext` under `key` with a fresh random nonce.
[[nodiscard]] acm::Result<std::vector<std::uint8_t>> seal_state_blob(
    const StateKey& key, const BlobHeader& header, std::span<const std::uint8_t> plaintext);

// Structure only: magic, version, lengths within limits and the exact size.
// `what` (a path) starts every error message.
[[nodiscard]] acm::Result<ParsedStateBlob> parse_state_blob(std::span<const std::uint8_t> bytes,
                                                            const std::string& what);

// Checks the header against `expected` (instance, uuid, file name and
// generation, each mismatch named in the error), then decrypts and
// authenticates. A wrong key or any modified byte fails authentication.
[[nodiscard]] acm::Result<std::vector<std::uint8_t>> open_state_blob(const StateKey& key,
                                                                     const ParsedStateBlob& blob,
                                                                     const BlobHeader& expected,
                                                                     const std::string& what);

struct ManifestEntry {
  std::string domain_uuid;
  std::uint64_t generation = 0;    // of every file in `files`
  std::vector<std::string> files;  // the state files saved at that generation
  std::string key_sha256;          // hex SHA-256 of the instance's wrapped key file
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  std::uint64_t counter = 0;  // the platform TPM's NV counter this manifest goes with
  std::map<std::uint32_t, ManifestEntry> instances;
  bool operator==(const Manifest&) const = default;

  // The stored form, with its MAC under `mac_key`.
  [[nodiscard]] std::string serialize(const StateKey& mac_key) const;
};

struct ParsedManifest {
  Manifest manifest;
  std::string mac_hex;
  std::string signed_text;  // what the MAC covers
  // Whether the MAC is right for `mac_key` (constant-time compare).
  [[nodiscard]] bool verify(const StateKey& mac_key) const;
};

// Structure only (JSON shape, field types, instance numbers, hex lengths).
[[nodiscard]] acm::Result<ParsedManifest> parse_manifest(std::string_view text,
                                                         const std::string& what);

// HMAC-SHA256(key, label || 0x01): a key for one purpose derived from the
// manager key (the first block of HKDF-Expand).
[[nodiscard]] StateKey derive_key(const StateKey& key, std::string_view label);

[[nodiscard]] std::string sha256_hex(std::span<const std::uint8_t> bytes);

}  // namespace shype::vtpm
