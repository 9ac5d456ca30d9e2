// What ezPolicy's window shows beside the original layout, computed without
// wxWidgets so that it is unit-tested like the model (STYLE.md rule 2):
//  - the Problems list: what "Save as Xen ACM Security Policy" would warn
//    about or refuse (translator warnings such as rules with fewer than two
//    members, and the policy core's checks of the generated policy);
//  - the read-only XML preview of that policy;
//  - Explain: for two workload types, whether their domains may share
//    (a common STE type) and may run together (no conflict set holds a
//    Chinese Wall type of each), and the rule that decides. The decisions
//    are the policy core's (acm::PolicyEngine, as `acmtool decide`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_model.hpp"
#include "ezpolicy/workload.hpp"

namespace shype::ezpolicy::gui {

// The policy name the window uses for previews until the user gives one.
inline constexpr std::string_view kPreviewPolicyName = "mytest";

enum class ProblemSeverity { error, warning, note };

struct Problem {
  ProblemSeverity severity = ProblemSeverity::warning;
  std::string message;

  friend bool operator==(const Problem&, const Problem&) = default;
};

[[nodiscard]] const char* severity_name(ProblemSeverity severity) noexcept;

// Every problem of `definition` translated as `policy_name`, errors first:
// an error means Save as policy would refuse; warnings come from the
// translation; notes are advice from the manual (10.2.2): no __UNLABELED__
// organization means unlabeled domains cannot run, and a rule without
// __UNLABELED__ lets unlabeled domains run beside its workloads.
[[nodiscard]] std::vector<Problem> find_problems(const WorkloadDefinition& definition,
                                                 std::string_view policy_name);

// The XML Save as policy would write (with `date` in the header), or the
// reason it would refuse.
[[nodiscard]] acm::Result<std::string> preview_policy_xml(const WorkloadDefinition& definition,
                                                          std::string_view policy_name,
                                                          std::string_view date);

// The answer to "may domains labelled `first` and `second` share, and may
// they run at the same time?".
struct Explanation {
  bool may_share = false;
  std::string share_rule;  // the policy core's rule, e.g. "deny: ... no common STE type"
  bool may_run_together = false;
  std::string run_rule;  // the admission of `second` while `first` runs
  // The exclusion rules (by name, "RER" when unnamed) that hold a Chinese
  // Wall type of each, i.e. those that keep them apart.
  std::vector<std::string> deciding_rules;

  // Several lines for the Explain view.
  [[nodiscard]] std::string to_text(std::string_view first, std::string_view second) const;
};

// The label names Explain offers: SystemManagement, then every workload type.
[[nodiscard]] std::vector<std::string> explainable_labels(const WorkloadDefinition& definition);

// Builds the policy (as Save as policy would, without writing it), compiles
// it and asks the decision engine. Errors: a label is not one of
// explainable_labels, or the definition does not translate.
[[nodiscard]] acm::Result<Explanation> explain(const WorkloadDefinition& definition,
                                               std::string_view first, std::string_view second);

// The same for any policy (the policy view of an opened XML policy): `first`
// and `second` are VM labels of `model`; the conflict sets that keep them
// apart are named in deciding_rules.
[[nodiscard]] acm::Result<Explanation> explain_policy(const acm::PolicyModel& model,
                                                      std::string_view first,
                                                      std::string_view second);

}  // namespace shype::ezpolicy::gui
