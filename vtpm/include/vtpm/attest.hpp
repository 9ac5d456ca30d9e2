// TPM work for attestation (docs/vtpm.md, "Attestation"), all through ESAPI
// (esys.hpp) with one connection per operation, closed afterwards, and every
// transient object flushed:
//  - manufacture_instance: a new instance's PCR banks, its TCG EK, the EK
//    certificate from the local CA in the EK's standard NV index;
//  - read_instance_evidence: a running instance's EK public and PCRs;
//  - the platform TPM's attestation key and its quote;
//  - make_deep_quote: both together (deepquote.hpp for the document).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "vtpm/deepquote.hpp"
#include "vtpm/local_ca.hpp"

namespace shype::vtpm {

// TCG EK Credential Profile 2.0: the RSA-2048 EK certificate's NV index, and
// the persistent handle the EK is kept at (TCG Provisioning Guidance).
inline constexpr std::uint32_t kEkCertNvIndexRsa = 0x01c00002;
inline constexpr std::uint32_t kEkPersistentHandle = 0x81010001;

// The PCR banks an instance may have: sha1, sha256, sha384, sha512.
[[nodiscard]] bool is_known_pcr_bank(std::string_view bank) noexcept;
// "sha1,sha256" -> {"sha1", "sha256"} (validated, no duplicates, not empty).
[[nodiscard]] acm::Result<std::vector<std::string>> parse_pcr_banks(std::string_view text);

struct Manufactured {
  Bytes ek_public;  // marshalled TPM2B_PUBLIC
  Bytes ek_cert_der;
  TpmIdentity identity;
  std::vector<std::string> pcr_banks;  // what the TPM reports afterwards
};

// Manufactures a fresh instance whose worker is running: TPM2_Startup;
// PCR_Allocate to exactly `pcr_banks` if the TPM has others, then a TPM
// restart (Shutdown, INIT over `ctrl_socket`, Startup) so the allocation
// takes effect; CreatePrimary of the TCG default RSA-2048 EK (template L-1)
// in the endorsement hierarchy, made persistent at kEkPersistentHandle; its
// certificate from `ca` written to kEkCertNvIndexRsa (platform-created,
// write-locked). The TPM is left started.
[[nodiscard]] acm::Result<Manufactured> manufacture_instance(
    const std::string& tcti, const std::filesystem::path& ctrl_socket,
    const std::vector<std::string>& pcr_banks, const LocalCa& ca);

// The PCR banks a TPM has allocated (with at least one PCR selected).
[[nodiscard]] acm::Result<std::vector<std::string>> allocated_pcr_banks(const std::string& tcti);

struct InstanceEvidence {
  Bytes ek_public;
  std::vector<PcrValue> pcrs;  // sha256 bank
};
// Reads the EK public at kEkPersistentHandle and the given sha256 PCRs.
[[nodiscard]] acm::Result<InstanceEvidence> read_instance_evidence(
    const std::string& tcti, const std::vector<std::uint32_t>& pcrs);

// The platform attestation key: a restricted ECDSA P-256 / SHA-256 signing
// key, a primary in the endorsement hierarchy derived from a fixed template,
// so the same TPM gives the same key every time; nothing is persisted.
[[nodiscard]] acm::Result<Bytes> platform_ak_public(const std::string& platform_tcti);

// TPM2_Quote by the platform AK over `qualifying_data` and the sha256 PCRs
// `pcrs`, with their values read right after.
[[nodiscard]] acm::Result<PlatformEvidence> platform_quote(
    const std::string& platform_tcti, std::span<const std::uint8_t> qualifying_data,
    const std::vector<std::uint32_t>& pcrs);

struct DeepQuoteRequest {
  std::string instance_tcti;
  std::string platform_tcti;
  Bytes nonce;
  std::string uuid;
  std::uint32_t instance = 0;
  std::string ek_cert_pem;
  std::vector<std::uint32_t> vtpm_pcrs;
  std::vector<std::uint32_t> platform_pcrs;
};
[[nodiscard]] acm::Result<DeepQuote> make_deep_quote(const DeepQuoteRequest& request);

}  // namespace shype::vtpm
