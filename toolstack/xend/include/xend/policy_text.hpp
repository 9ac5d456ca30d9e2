// Texts xend builds from policies for xm to print.
#pragma once

#include <string>

#include "acm/policy_image.hpp"
#include "acm/ssidref.hpp"
#include "shype/xsm_op.hpp"

namespace shype::xend {

// `xm dumppolicy`: the hypervisor's policy in xensec_tool's layout
// (reference xen-acm-tools.md 1.10), with shype's statistics and the
// policy's SHA-256 fingerprint.
[[nodiscard]] std::string dump_policy_text(const acm::PolicyImage& image, acm::Ssidref dom0,
                                           const abi::AcmStats* stats,
                                           const std::string& fingerprint_hex);

// One hypervisor error tuple as Xen's xm printed it (reference 1.7).
[[nodiscard]] std::string hypervisor_error_text(const abi::AcmErrorTuple& error);

}  // namespace shype::xend
