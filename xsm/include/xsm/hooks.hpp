// The one list of XSM hooks (STYLE.md rule 4, Xen's xsm/hooks.h): every
// point where the hypervisor lets domains start, stop, share or change the
// policy. Statistics, audit records and default decisions are keyed by it.
// A hook a module does not decide is denied (FLASK's unknown permission).
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::xsm {

// X(name, subject, object): who asks, and about what.
#define SHYPE_XSM_HOOKS(X)                                                        \
  X(domain_create, "Domain-0", "the new domain")                                  \
  X(domain_destroy, "Domain-0", "the domain")                                     \
  X(domain_pause, "Domain-0", "the domain")                                       \
  X(domain_unpause, "Domain-0", "the domain")                                     \
  X(domain_save, "Domain-0", "the domain")                                        \
  X(domain_restore, "Domain-0", "the restored domain")                            \
  X(domain_getinfo, "Domain-0", "the domain")                                     \
  X(domain_relabel, "Domain-0", "the domain, with its new ssidref")               \
  X(console_io, "the domain", "its own console")                                  \
  X(evtchn_unbound, "the port's owner", "the remote domain")                      \
  X(evtchn_interdomain, "the binding domain", "the remote domain")                \
  X(evtchn_send, "the sender", "the receiver")                                    \
  X(grant_setup, "the granting domain", "the grantee")                            \
  X(grant_map, "the mapping domain", "the granting domain")                       \
  X(grant_copy, "the copying domain", "the other domain")                         \
  X(grant_transfer, "the transferring domain", "the receiver")                    \
  X(resource_access, "the domain", "a resource label (ssidref)")                  \
  X(frame_access, "the sending domain", "the receiving domain")                   \
  X(policy_op, "the caller", "the policy")                                        \
  X(getdecision, "the caller", "two ssidrefs")

enum class Hook : std::uint8_t {
#define SHYPE_XSM_HOOK_ENUM(name, subject, object) name,
  SHYPE_XSM_HOOKS(SHYPE_XSM_HOOK_ENUM)
#undef SHYPE_XSM_HOOK_ENUM
};

inline constexpr std::size_t kHookCount = [] {
  std::size_t count = 0;
#define SHYPE_XSM_HOOK_COUNT(name, subject, object) ++count;
  SHYPE_XSM_HOOKS(SHYPE_XSM_HOOK_COUNT)
#undef SHYPE_XSM_HOOK_COUNT
  return count;
}();

// "domain_create", ... ("unknown" for a value outside the list).
[[nodiscard]] const char* hook_name(Hook hook) noexcept;

}  // namespace shype::xsm
