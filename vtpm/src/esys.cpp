#include "vtpm/esys.hpp"

#include <utility>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

namespace shype::vtpm {

std::string tss2_rc_text(TSS2_RC rc) {
  const char* text = Tss2_RC_Decode(rc);
  return text != nullptr ? text : "TSS2 error " + std::to_string(rc);
}

acm::Result<EsysContext> EsysContext::open(const std::string& tcti_config) {
  EsysContext context;
  context.config_ = tcti_config;
  if (const TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti_config.c_str(), &context.tcti_);
      rc != TSS2_RC_SUCCESS) {
    context.tcti_ = nullptr;
    return acm::make_error(acm::Errc::io_error,
                           "cannot open the TPM '" + tcti_config + "': " + tss2_rc_text(rc));
  }
  if (const TSS2_RC rc = Esys_Initialize(&context.esys_, context.tcti_, nullptr);
      rc != TSS2_RC_SUCCESS) {
    context.esys_ = nullptr;
    return acm::make_error(acm::Errc::io_error, "cannot start ESAPI on the TPM '" + tcti_config +
                                                    "': " + tss2_rc_text(rc));
  }
  return context;
}

EsysContext::EsysContext(EsysContext&& other) noexcept
    : config_(std::move(other.config_)),
      tcti_(std::exchange(other.tcti_, nullptr)),
      esys_(std::exchange(other.esys_, nullptr)) {}

EsysContext& EsysContext::operator=(EsysContext&& other) noexcept {
  if (this != &other) {
    reset();
    config_ = std::move(other.config_);
    tcti_ = std::exchange(other.tcti_, nullptr);
    esys_ = std::exchange(other.esys_, nullptr);
  }
  return *this;
}

EsysContext::~EsysContext() {
  reset();
}

void EsysContext::reset() noexcept {
  if (esys_ != nullptr) Esys_Finalize(&esys_);
  if (tcti_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_);
  esys_ = nullptr;
  tcti_ = nullptr;
}

tl::unexpected<acm::Error> EsysContext::fail(std::string_view what, TSS2_RC rc) const {
  return acm::make_error(acm::Errc::io_error,
                         std::string(what) + " on the TPM '" + config_ + "': " + tss2_rc_text(rc));
}

}  // namespace shype::vtpm
