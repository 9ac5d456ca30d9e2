// How a module decides each hook (STYLE.md rule 4; Xen's xsm_operations
// with xsm_fixup_ops, but failing closed): one entry per hook of the one
// list in hooks.hpp. A module starts from the all-deny table and overrides
// what it decides, so a hook added to the list later is denied by every
// module until someone decides it (FLASK's unknown permission), rather
// than silently permitted as Xen's fixup with the dummy did.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "xsm/hooks.hpp"

namespace shype::xsm {

enum class HookRule : std::uint8_t {
  deny,               // not decided by the module: denied
  permit,             // decided, no objection (ACM on domain control)
  lifecycle,          // admission and labels: its own entry point
  ste_event_channel,  // STE common type, event channel statistics and cache
  ste_grant,          // STE common type, grant statistics and cache
  ste_resource,       // STE common type of a domain and a resource label
  ste_frame,          // STE common type of two domains a bridge passes a frame between
  policy_op,          // xsm_op
};

using HookTable = std::array<HookRule, kHookCount>;

[[nodiscard]] constexpr HookTable make_hook_table(
    HookRule fallback, std::initializer_list<std::pair<Hook, HookRule>> overrides) {
  HookTable table{};
  for (auto& rule : table)
    rule = fallback;
  for (const auto& [hook, rule] : overrides)
    table[static_cast<std::size_t>(hook)] = rule;
  return table;
}

// A hook value outside the list is denied by every table.
[[nodiscard]] constexpr HookRule rule_of(const HookTable& table, Hook hook) noexcept {
  const auto index = static_cast<std::size_t>(hook);
  return index < table.size() ? table[index] : HookRule::deny;
}

[[nodiscard]] constexpr bool is_sharing_rule(HookRule rule) noexcept {
  return rule == HookRule::ste_event_channel || rule == HookRule::ste_grant;
}

}  // namespace shype::xsm
