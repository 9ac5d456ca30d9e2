// The manager's local certificate authority: an ECDSA P-256 key and a
// self-signed CA certificate, created at the manager's first start under
// var/lib/vtpm/ca/ (ca-key.pem mode 0600, ca-cert.pem 0644, both written
// atomically). It issues each instance's EK certificate. Its certificate is
// the "platform credential" a verifier pins (vtpmctl ca-cert).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"

namespace shype::vtpm {

// What the TCG EK credential profile puts in the certificate's
// subjectAltName (TPM manufacturer, model, firmware version), read from the
// instance's TPM_PT_* properties.
struct TpmIdentity {
  std::string manufacturer;  // "id:49424D00"
  std::string model;         // the vendor strings, e.g. "swtpm"
  std::string version;       // "id:20191023"
};

class LocalCa {
 public:
  // Loads the CA from `dir`, or creates it if neither file exists. A
  // directory holding only one of the two files is an error naming it.
  [[nodiscard]] static acm::Result<LocalCa> open_or_create(const std::filesystem::path& dir);

  LocalCa(LocalCa&&) noexcept;
  LocalCa& operator=(LocalCa&&) noexcept;
  ~LocalCa();

  [[nodiscard]] const std::string& certificate_pem() const noexcept;

  // An X.509 v3 EK certificate (DER) for the key in `ek_public` (a
  // marshalled TPM2B_PUBLIC): empty subject, critical subjectAltName
  // directoryName with the TPM identity, EKU tcg-kp-EKCertificate
  // (2.23.133.8.1), keyUsage keyEncipherment, basicConstraints CA:FALSE,
  // a random serial, valid for 20 years.
  [[nodiscard]] acm::Result<std::vector<std::uint8_t>> issue_ek_certificate(
      std::span<const std::uint8_t> ek_public, const TpmIdentity& identity) const;

 private:
  struct Impl;
  explicit LocalCa(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A DER certificate as PEM text.
[[nodiscard]] acm::Result<std::string> certificate_der_to_pem(std::span<const std::uint8_t> der);
// A PEM certificate as DER.
[[nodiscard]] acm::Result<std::vector<std::uint8_t>> certificate_pem_to_der(std::string_view pem);

}  // namespace shype::vtpm
