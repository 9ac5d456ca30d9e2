// Property fuzzer for the deep quote document (STYLE.md rule 12;
// vtpm/src/deepquote.cpp parse_deep_quote and verify_deep_quote): what a
// verifier reads from whoever hands it a quote, so untrusted input.
//
// Input: the document's bytes.
//
// Properties, for every input:
//  - nothing crashes or reads out of bounds (ASan);
//  - a document the decoder accepts is encoded again (deep_quote_to_json)
//    and decoded to an equal document (decode -> encode -> decode is stable);
//  - the verifier runs on every accepted document, pinned to the document's
//    own nonce and AK so the signature and digest paths are reached, and
//    reports each of its fixed checks; its verdict is ok exactly when every
//    check is ok; with a nonce of one more byte it never verifies.
// Any violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vtpm/deepquote.hpp"

namespace {

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_vtpm_deepquote: property violated: %s\n", property);
  std::abort();
}

bool has_check(const shype::vtpm::VerifyVerdict& v, std::string_view name) {
  return std::any_of(v.checks.begin(), v.checks.end(),
                     [&](const shype::vtpm::VerifyCheck& c) { return c.name == name; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // SAFETY: the bytes are only read, as characters.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = shype::vtpm::parse_deep_quote(text);
  if (!parsed) return 0;
  const std::string encoded = shype::vtpm::deep_quote_to_json(*parsed).dump();
  auto again = shype::vtpm::parse_deep_quote(encoded);
  if (!again) violated("an accepted document does not decode after encoding");
  if (!(*again == *parsed)) violated("decode -> encode -> decode changed the document");

  const auto ak = shype::vtpm::tpm_public_to_pem(parsed->platform.ak_public);
  const std::string ak_pem = ak ? *ak : std::string();
  // The pinned "CA" is the AK's key (a public key, not a certificate), or
  // junk if the AK is not even a key.
  const std::string not_a_ca = ak_pem.empty() ? std::string("not a certificate") : ak_pem;
  const auto verdict = shype::vtpm::verify_deep_quote(*parsed, parsed->nonce, ak_pem, not_a_ca);
  for (const char* name : {"nonce", "attest", "qualifying-data", "ak", "signature", "ek-cert-key",
                           "ek-cert-chain"}) {
    if (!has_check(verdict, name)) violated("the verifier skipped a check");
  }
  const bool all = std::all_of(verdict.checks.begin(), verdict.checks.end(),
                               [](const shype::vtpm::VerifyCheck& c) { return c.ok; });
  if (verdict.ok != all) violated("the verdict disagrees with its checks");
  // The chain check cannot pass without a CA certificate, so nothing verifies.
  if (verdict.ok) violated("a document verified against a CA that is not a certificate");
  shype::vtpm::Bytes longer = parsed->nonce;
  longer.push_back(0);
  if (shype::vtpm::verify_deep_quote(*parsed, longer, ak_pem, {}).ok) {
    violated("a document verified under a different nonce");
  }
  return 0;
}
