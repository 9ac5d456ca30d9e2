#include "xsm/xsm.hpp"

#include "default_policy.hpp"
#include "modules.hpp"

namespace shype::xsm {

std::span<const std::uint8_t> builtin_default_policy() noexcept {
  const std::string_view bytes = embedded::kDefaultPolicy;
  // SAFETY: reading chars as unsigned chars of the same object is allowed
  // (char and unsigned char may alias anything); the bytes are static.
  return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

acm::Result<std::unique_ptr<Xsm>> Xsm::create(const XsmConfig& config, AuditLog& audit) {
  if (config.module == "dummy") return make_dummy_module(config);
  if (config.module == "acm") return make_acm_module(config, audit);
  return acm::make_error(acm::Errc::invalid_argument,
                         "unknown XSM module '" + config.module + "' (acm or dummy)");
}

}  // namespace shype::xsm
