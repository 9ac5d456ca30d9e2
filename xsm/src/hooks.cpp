#include "xsm/hooks.hpp"

namespace shype::xsm {

const char* hook_name(Hook hook) noexcept {
  switch (hook) {
#define SHYPE_XSM_HOOK_NAME(name, subject, object) \
  case Hook::name:                                 \
    return #name;
    SHYPE_XSM_HOOKS(SHYPE_XSM_HOOK_NAME)
#undef SHYPE_XSM_HOOK_NAME
  }
  // A value outside the list (a corrupted or future hook number).
  return "unknown";
}

}  // namespace shype::xsm
