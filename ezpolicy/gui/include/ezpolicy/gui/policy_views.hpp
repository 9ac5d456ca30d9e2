// What the policy view (an opened XML policy, PolicyFrame) shows beside its
// lists, without wxWidgets: the Problems list of the refined policy (the
// policy core's validation: schema, semantic checks and compilation, then
// its warnings) and the names Explain offers. The XML preview is
// PolicyEditor::xml(); Explain is explain_policy (workload_views.hpp).
#pragma once

#include <string>
#include <vector>

#include "ezpolicy/gui/workload_views.hpp"
#include "ezpolicy/policy_editor.hpp"

namespace shype::ezpolicy::gui {

// Errors first (one per line of the core's findings: Save Policy would
// refuse), then the core's warnings. Empty without a policy.
[[nodiscard]] std::vector<Problem> find_policy_problems(const PolicyEditor& editor);

// The VM label names of the policy, in policy order.
[[nodiscard]] std::vector<std::string> vm_label_names(const acm::PolicyModel& model);

}  // namespace shype::ezpolicy::gui
