// A TPM public area as an OpenSSL key (shared by the verifier and the local CA).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acm/error.hpp"

namespace shype::vtpm::detail {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// A marshalled TPM2B_PUBLIC (RSA, or ECC on NIST P-256) as an EVP_PKEY.
[[nodiscard]] acm::Result<PkeyPtr> tpm_public_to_pkey(std::span<const std::uint8_t> tpm2b_public);

}  // namespace shype::vtpm::detail
