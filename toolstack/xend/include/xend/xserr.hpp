// xend's error codes and their texts (reference xen-acm-tools.md 5.9: value
// 0x1000 + n). xm prints the texts; the original spelling mistakes
// ("labeld", "premittend") are corrected here: nothing parses these texts,
// and users read them.
#pragma once

#include <string>

namespace shype::xend {

enum class Xserr : int {
  success = 0,
  general_failure = 1,
  bad_xml = 2,
  xml_processing = 3,
  policy_inconsistent = 4,
  file_error = 5,
  bad_resource_format = 6,
  bad_label_format = 7,
  resource_not_labeled = 8,
  resource_already_labeled = 9,
  wrong_policy_type = 10,
  bootpolicy_installed = 11,
  no_default_boot_title = 12,
  policy_load_failed = 13,
  policy_loaded = 14,
  policy_type_unsupported = 15,
  bad_conflictset = 16,
  resource_in_use = 17,
  bad_policy_name = 18,
  version_prevents_update = 19,
  bad_label = 20,
  vm_wrong_state = 21,
  policy_not_loaded = 22,
  resource_access = 23,
  hv_op_failed = 24,
  boot_policy_install_error = 25,
  vm_not_authorized = 26,
  vm_in_conflict = 27,
  policy_has_duplicates = 28,
};

[[nodiscard]] const char* xserr_text(Xserr code) noexcept;
[[nodiscard]] inline int xserr_value(Xserr code) noexcept {
  return code == Xserr::success ? 0 : 0x1000 + static_cast<int>(code);
}

}  // namespace shype::xend
