// A tpm2-tss ESAPI context on a TCTI configuration string ("device:/dev/tpmrm0",
// "swtpm:path=/run/vtpm/3/tpm.sock", ...), owned: the context and its TCTI are
// finalized together. Used for every TPM the manager talks to itself: the
// platform TPM (sealing, deep quotes) and its own instances (EK set-up).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <tss2/tss2_esys.h>

#include "acm/error.hpp"

namespace shype::vtpm {

class EsysContext {
 public:
  // Loads the TCTI (tss2-tctildr) and initializes ESAPI on it. The error
  // names the TCTI and tpm2-tss's reason.
  [[nodiscard]] static acm::Result<EsysContext> open(const std::string& tcti_config);

  EsysContext(EsysContext&& other) noexcept;
  EsysContext& operator=(EsysContext&& other) noexcept;
  EsysContext(const EsysContext&) = delete;
  EsysContext& operator=(const EsysContext&) = delete;
  ~EsysContext();

  [[nodiscard]] ESYS_CONTEXT* get() const noexcept { return esys_; }
  [[nodiscard]] const std::string& tcti_config() const noexcept { return config_; }

  // An acm::Error for a failed ESAPI call: "<what> on <tcti>: <decoded rc>".
  [[nodiscard]] tl::unexpected<acm::Error> fail(std::string_view what, TSS2_RC rc) const;

 private:
  EsysContext() = default;
  void reset() noexcept;

  std::string config_;
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  ESYS_CONTEXT* esys_ = nullptr;
};

// tpm2-tss's text for a response code (Tss2_RC_Decode).
[[nodiscard]] std::string tss2_rc_text(TSS2_RC rc);

}  // namespace shype::vtpm
