#include "hv/domid_allocator.hpp"

namespace shype::hv {

std::optional<abi::domid_t> DomidAllocator::peek(
    const std::function<bool(abi::domid_t)>& in_use) const {
  constexpr unsigned kGuestIds = abi::kDomidMaxGuest - abi::kDomidFirstGuest + 1;
  abi::domid_t candidate = last_;
  for (unsigned tries = 0; tries < kGuestIds; ++tries) {
    candidate = candidate >= abi::kDomidMaxGuest ? abi::kDomidFirstGuest
                                                 : static_cast<abi::domid_t>(candidate + 1);
    if (!in_use(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace shype::hv
