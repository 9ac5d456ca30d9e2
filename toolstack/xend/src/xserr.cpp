#include "xend/xserr.hpp"

namespace shype::xend {

const char* xserr_text(Xserr code) noexcept {
  switch (code) {
    case Xserr::success: return "Success";
    case Xserr::general_failure: return "General Failure";
    case Xserr::bad_xml: return "XML is malformed";
    case Xserr::xml_processing: return "Error while processing XML";
    case Xserr::policy_inconsistent: return "Policy has inconsistencies";
    case Xserr::file_error: return "A file access error occurred";
    case Xserr::bad_resource_format: return "The resource format is not valid";
    case Xserr::bad_label_format: return "The label format is not valid";
    case Xserr::resource_not_labeled: return "The resource is not labeled";
    case Xserr::resource_already_labeled: return "The resource is already labeled";
    case Xserr::wrong_policy_type: return "The policy type is wrong";
    case Xserr::bootpolicy_installed: return "The system boot policy is installed";
    case Xserr::no_default_boot_title: return "Could not find the default boot title";
    case Xserr::policy_load_failed: return "Loading of the policy failed";
    case Xserr::policy_loaded: return "The policy is loaded";
    case Xserr::policy_type_unsupported: return "The policy type is unsupported";
    case Xserr::bad_conflictset: return "There is a bad conflict set";
    case Xserr::resource_in_use: return "The resource is in use";
    case Xserr::bad_policy_name: return "The policy has an invalid name";
    case Xserr::version_prevents_update: return "The version of the policy prevents an update";
    case Xserr::bad_label: return "The label is bad";
    case Xserr::vm_wrong_state: return "Operation not permitted - the VM is in the wrong state";
    case Xserr::policy_not_loaded: return "The policy is not loaded";
    case Xserr::resource_access: return "Error accessing resource";
    case Xserr::hv_op_failed: return "Operation failed in hypervisor";
    case Xserr::boot_policy_install_error: return "Boot policy installation error";
    case Xserr::vm_not_authorized: return "VM is not authorized to run";
    case Xserr::vm_in_conflict: return "VM label conflicts with another VM";
    case Xserr::policy_has_duplicates: return "Duplicate labels or types in policy";
  }
  return "Unknown XSERR code";
}

}  // namespace shype::xend
