// Policy model -> compiled image (the input of both binary writers and the
// decision engine) plus the label numbering (the .map file's content).
#pragma once

#include <cstdint>
#include <span>

#include "acm/diagnostics.hpp"
#include "acm/numbering.hpp"
#include "acm/policy_image.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm {

struct CompiledPolicy {
  PolicyImage image;  // image.names is always filled in
  LabelNumbering numbering;
  Diagnostics warnings;  // non-fatal findings of check_policy
};

// Runs check_policy; any error fails the compilation with all findings in the
// message. xml_text is the policy source whose SHA-1 the Xen header carries
// (pass an empty span for models that have no XML source).
[[nodiscard]] Result<CompiledPolicy> compile_policy(const PolicyModel& model,
                                                    std::span<const std::uint8_t> xml_text);

}  // namespace shype::acm
