// Domain ids: handed out from kDomidFirstGuest upwards and not reused until
// the counter wraps past kDomidMaxGuest (a late message naming a destroyed
// domain then cannot reach a new one), as Xen's toolstack does. Domain-0 is
// 0 and never allocated.
#pragma once

#include <functional>
#include <optional>

#include "shype/abi.hpp"

namespace shype::hv {

class DomidAllocator {
 public:
  // The id the next domain would get: the first id after the last one
  // committed that `in_use` does not claim, wrapping to kDomidFirstGuest;
  // nullopt when every guest id is in use. Nothing is reserved until commit,
  // so a creation that fails (XSM refusal, launch error) costs no id.
  [[nodiscard]] std::optional<abi::domid_t> peek(
      const std::function<bool(abi::domid_t)>& in_use) const;
  void commit(abi::domid_t domid) noexcept { last_ = domid; }

 private:
  abi::domid_t last_ = abi::kDomidFirstGuest - 1;
};

}  // namespace shype::hv
