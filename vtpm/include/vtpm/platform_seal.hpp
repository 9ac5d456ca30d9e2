// The manager key's anchor in the platform TPM (a hardware TPM through
// device:/dev/tpmrm0 in production, a swtpm in tests), through tpm2-tss ESAPI.
// Every call opens its own EsysContext and closes it before returning, and
// flushes every transient object and session it loaded: the platform TPM may
// accept one client at a time and have no resource manager.
//
//  - Sealing: a storage primary key (ECC P-256, AES-128-CFB) created in the
//    owner hierarchy from a fixed template, so it is the same key every time
//    and nothing is persisted in the TPM; under it a keyed-hash sealed object
//    holding the secret, whose authPolicy is TPM2_PolicyPCR over a PCR
//    selection. Only its public and private parts are stored (SealedSecret).
//  - Rollback: an NV counter (TPMA_NV_COUNTER, owner read/write) in the owner
//    range, defined on first use.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "vtpm/state_blob.hpp"

namespace shype::vtpm {

// A PCR selection: one bank and a set of PCRs, e.g. "sha256:0,2,4,7".
struct PcrSelection {
  std::string bank = "sha256";  // sha1, sha256, sha384 or sha512
  std::vector<unsigned> pcrs;   // 0..23
  [[nodiscard]] std::string to_string() const;
  bool operator==(const PcrSelection&) const = default;
};

inline constexpr const char* kDefaultSealPcrs = "sha256:0,2,4,7";
inline constexpr std::uint32_t kDefaultCounterIndex = 0x01500a70;

[[nodiscard]] acm::Result<PcrSelection> parse_pcr_selection(std::string_view text);
// $SHYPE_VTPM_SEAL_PCRS, else kDefaultSealPcrs.
[[nodiscard]] acm::Result<PcrSelection> seal_pcrs_from_environment();
// $SHYPE_VTPM_NV_COUNTER (hex, in the owner range 0x01000000..0x01bfffff),
// else kDefaultCounterIndex.
[[nodiscard]] acm::Result<std::uint32_t> counter_index_from_environment();

// The stored form of a sealed secret (var/lib/vtpm/manager-key.sealed):
//   magic "SHVTPMK1" | u16 version | u32 NV counter index |
//   TPML_PCR_SELECTION | TPM2B_PUBLIC | TPM2B_PRIVATE   (tss2-mu marshalling)
struct SealedSecret {
  PcrSelection pcrs;
  std::uint32_t counter_index = kDefaultCounterIndex;
  std::vector<std::uint8_t> public_area;   // marshalled TPM2B_PUBLIC
  std::vector<std::uint8_t> private_area;  // marshalled TPM2B_PRIVATE

  [[nodiscard]] std::vector<std::uint8_t> serialize() const;
};
// Structure only (untrusted bytes; fuzzed).
[[nodiscard]] acm::Result<SealedSecret> parse_sealed_secret(std::span<const std::uint8_t> bytes,
                                                            const std::string& what);

// Seals `secret` to the platform TPM under PolicyPCR(pcrs) at their current
// values.
[[nodiscard]] acm::Result<SealedSecret> seal_secret(const std::string& tcti,
                                                    const PcrSelection& pcrs,
                                                    std::uint32_t counter_index,
                                                    const StateKey& secret);
// Unseals; a PCR change or another TPM is an error that says so.
[[nodiscard]] acm::Result<StateKey> unseal_secret(const std::string& tcti,
                                                  const SealedSecret& sealed);

// Defines the NV counter if it does not exist (and increments it once so it
// can be read), then returns its value.
[[nodiscard]] acm::Result<std::uint64_t> ensure_counter(const std::string& tcti,
                                                        std::uint32_t index);
[[nodiscard]] acm::Result<std::uint64_t> read_counter(const std::string& tcti, std::uint32_t index);
// Increments and returns the new value.
[[nodiscard]] acm::Result<std::uint64_t> increment_counter(const std::string& tcti,
                                                           std::uint32_t index);

}  // namespace shype::vtpm
