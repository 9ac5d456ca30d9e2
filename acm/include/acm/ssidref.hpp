// ssidrefs: the 32-bit labels the hypervisor sees (reference
// xen-acm-hypervisor.md 1). With Chinese Wall primary and STE secondary the
// low half is the CHWALL row and the high half the STE row; the tools number
// every VM label with one index i used for both halves: (i << 16) | i.
#pragma once

#include <cstdint>
#include <string>

namespace shype::acm {

using Ssidref = std::uint32_t;

inline constexpr Ssidref kUnlabeledSsidref = 0;
inline constexpr Ssidref kBootstrapSsidref = 0x00010001;
inline constexpr Ssidref kInvalidSsidref = 0xffffffff;

[[nodiscard]] constexpr std::uint32_t primary_half(Ssidref s) noexcept {
  return s & 0xffffu;
}
[[nodiscard]] constexpr std::uint32_t secondary_half(Ssidref s) noexcept {
  return s >> 16;
}
[[nodiscard]] constexpr Ssidref make_ssidref(std::uint32_t primary,
                                             std::uint32_t secondary) noexcept {
  return ((secondary & 0xffffu) << 16) | (primary & 0xffffu);
}
// A VM label at index i.
[[nodiscard]] constexpr Ssidref vm_ssidref(std::uint32_t index) noexcept {
  return make_ssidref(index, index);
}
// A resource label: STE row only, CHWALL half 0 (so 0x00NN0000).
[[nodiscard]] constexpr Ssidref resource_ssidref(std::uint32_t ste_row) noexcept {
  return make_ssidref(0, ste_row);
}

// "0x00020002": how ssidrefs (and other 32-bit codes) are written in
// messages, map files and JSON.
[[nodiscard]] std::string hex32(std::uint32_t value);

static_assert(vm_ssidref(1) == kBootstrapSsidref);
static_assert(vm_ssidref(2) == 0x00020002);
static_assert(resource_ssidref(7) == 0x00070000);

}  // namespace shype::acm
