// The deep quote document and its verifier (docs/vtpm.md, "Attestation").
//
// A deep quote binds one vTPM instance (its domain UUID, its EK public key
// and, optionally, some of its sha256 PCR values) to a quote by the platform
// TPM over a verifier's nonce:
//
//   qualifyingData = SHA-256( "shype-vtpm-deepquote-v1\0"
//                             || be32(len(nonce)) || nonce
//                             || uuid (16 bytes)
//                             || be32(len(ek_public)) || ek_public   (marshalled TPM2B_PUBLIC)
//                             || be32(count) || count * (be32(pcr index) || 32-byte sha256 value) )
//
// and the platform TPM signs TPMS_ATTEST(TPM_ST_ATTEST_QUOTE, extraData =
// qualifyingData, platform PCRs) with its attestation key (attest.hpp).
//
// Everything here is pure data and OpenSSL/tss2-mu: a verifier needs neither
// the manager nor a TPM. The document decoder is the one place that reads a
// deep quote (untrusted input); fuzz_vtpm_deepquote checks it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acm/error.hpp"

namespace shype::vtpm {

inline constexpr std::string_view kDeepQuoteFormat = "shype-vtpm-deepquote/1";
inline constexpr std::size_t kMaxNonceBytes = 64;
inline constexpr std::uint32_t kMaxPcrIndex = 23;

using Bytes = std::vector<std::uint8_t>;

struct PcrValue {
  std::uint32_t index = 0;
  Bytes value;  // 32 bytes (sha256 bank)
  bool operator==(const PcrValue&) const = default;
};

struct PlatformEvidence {
  Bytes attest;     // TPM2B_ATTEST's buffer: a marshalled TPMS_ATTEST
  Bytes signature;  // a marshalled TPMT_SIGNATURE
  Bytes ak_public;  // the attestation key, a marshalled TPM2B_PUBLIC
  std::vector<std::uint32_t> pcrs;  // the quoted sha256 PCRs, ascending
  std::optional<std::vector<PcrValue>> pcr_values;  // their values, if included
  bool operator==(const PlatformEvidence&) const = default;
};

struct DeepQuote {
  Bytes nonce;
  std::string uuid;  // canonical domain UUID
  std::uint32_t instance = 0;
  Bytes ek_public;          // the vTPM's EK, a marshalled TPM2B_PUBLIC
  std::string ek_cert_pem;  // its certificate from the manager's local CA
  std::vector<PcrValue> vtpm_pcrs;  // sha256 bank, ascending
  PlatformEvidence platform;
  bool operator==(const DeepQuote&) const = default;
};

// Hex helpers (lower case out; either case in).
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);
[[nodiscard]] acm::Result<Bytes> from_hex(std::string_view text);
// "0,1,2", "0-7", "0-3,16": indices 0..23, returned ascending without duplicates.
[[nodiscard]] acm::Result<std::vector<std::uint32_t>> parse_pcr_list(std::string_view text);
[[nodiscard]] std::string format_pcr_list(const std::vector<std::uint32_t>& pcrs);

// The stored form (binary fields in hex, the certificate in PEM).
[[nodiscard]] nlohmann::json deep_quote_to_json(const DeepQuote& quote);
// Decodes and range-checks a document; errors (malformed_binary) name the field.
[[nodiscard]] acm::Result<DeepQuote> parse_deep_quote(std::string_view text);

// The qualifyingData defined above. Errors: a UUID that is not canonical, a
// nonce out of 1..64 bytes, a PCR value that is not 32 bytes.
[[nodiscard]] acm::Result<Bytes> deep_quote_qualifying_data(std::span<const std::uint8_t> nonce,
                                                            std::string_view uuid,
                                                            std::span<const std::uint8_t> ek_public,
                                                            const std::vector<PcrValue>& vtpm_pcrs);

// A TPM2B_PUBLIC (RSA or ECC P-256) as a PEM SubjectPublicKeyInfo.
[[nodiscard]] acm::Result<std::string> tpm_public_to_pem(std::span<const std::uint8_t> tpm2b_public);

struct VerifyCheck {
  std::string name;  // "nonce", "attest", "qualifying-data", "ak", "signature", ...
  bool ok = false;
  std::string detail;
};
struct VerifyVerdict {
  bool ok = false;
  std::vector<VerifyCheck> checks;
  [[nodiscard]] nlohmann::json to_json() const;
};

// Verifies a deep quote against the verifier's own nonce, the pinned
// platform AK (PEM public key) and, if ca_pem is not empty, the pinned
// manager CA certificate (PEM). ok only if every check passed; each check
// says what it compared. Never throws.
[[nodiscard]] VerifyVerdict verify_deep_quote(const DeepQuote& quote,
                                              std::span<const std::uint8_t> nonce,
                                              std::string_view ak_pem, std::string_view ca_pem);

}  // namespace shype::vtpm
