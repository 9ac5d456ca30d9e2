#include "ezpolicy/gui/workload_views.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "acm/diagnostics.hpp"
#include "acm/policy_model.hpp"
#include "ezpolicy/translator.hpp"

namespace shype::ezpolicy::gui {
namespace {

using acm::Errc;

// Previews and explanations do not depend on the date; a fixed one keeps
// them stable while the user edits.
constexpr std::string_view kExplainDate = "Mon Jan  1 00:00:00 2001";

bool holds(const acm::Label& label, std::string_view chwall_type) {
  return std::any_of(label.chwall_types.begin(), label.chwall_types.end(),
                     [&](const acm::NamedItem& t) { return t.name == chwall_type; });
}

bool holds(const acm::ConflictSet& set, std::string_view chwall_type) {
  return std::any_of(set.types.begin(), set.types.end(),
                     [&](const acm::NamedItem& t) { return t.name == chwall_type; });
}

// The conflict sets that name a Chinese Wall type of `a` and a different
// one of `b`: those keep the two labels from running together.
std::vector<std::string> separating_sets(const acm::PolicyModel& model, const acm::Label& a,
                                         const acm::Label& b) {
  std::vector<std::string> names;
  if (!model.chwall) return names;
  for (const acm::ConflictSet& set : model.chwall->conflict_sets) {
    bool separates = false;
    for (const acm::NamedItem& ta : a.chwall_types) {
      for (const acm::NamedItem& tb : b.chwall_types) {
        if (ta.name != tb.name && holds(set, ta.name) && holds(set, tb.name) &&
            !holds(b, ta.name) && !holds(a, tb.name)) {
          separates = true;
        }
      }
    }
    if (separates) names.push_back(set.name);
  }
  return names;
}

}  // namespace

const char* severity_name(ProblemSeverity severity) noexcept {
  switch (severity) {
    case ProblemSeverity::error:
      return "error";
    case ProblemSeverity::warning:
      return "warning";
    case ProblemSeverity::note:
      return "note";
  }
  return "note";
}

std::vector<Problem> find_problems(const WorkloadDefinition& definition,
                                   std::string_view policy_name) {
  std::vector<Problem> problems;
  auto translation = translate(definition, policy_name, std::string(kExplainDate));
  if (!translation) {
    // One problem per line of the policy core's findings.
    const std::string text = translation.error().to_string();
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      if (end > start)
        problems.push_back({ProblemSeverity::error, text.substr(start, end - start)});
      start = end + 1;
    }
  } else {
    for (const acm::Diagnostic& warning : translation->warnings.items()) {
      problems.push_back({ProblemSeverity::warning, warning.to_string()});
    }
  }
  const std::string unlabeled(acm::kUnlabeled);
  if (definition.find_organization(unlabeled) == nullptr) {
    problems.push_back({ProblemSeverity::note,
                        "There is no organization __UNLABELED__: domains and resources without a "
                        "label cannot run or be used under this policy"});
  } else {
    for (const ExclusionRule& rule : definition.rules) {
      if (rule.members.size() < 2) continue;
      if (std::find(rule.members.begin(), rule.members.end(), unlabeled) == rule.members.end()) {
        problems.push_back(
            {ProblemSeverity::note,
             "Run-time exclusion rule '" +
                 (rule.name.empty() ? std::string(kDefaultRuleName) : rule.name) +
                 "' does not hold __UNLABELED__: unlabeled domains may run beside its "
                 "workloads (manual 10.2.2 advises adding it)"});
      }
    }
  }
  return problems;
}

acm::Result<std::string> preview_policy_xml(const WorkloadDefinition& definition,
                                            std::string_view policy_name, std::string_view date) {
  auto translation = translate(definition, policy_name, std::string(date));
  if (!translation) return tl::unexpected(translation.error());
  return std::move(translation->xml);
}

std::vector<std::string> explainable_labels(const WorkloadDefinition& definition) {
  std::vector<std::string> labels{std::string(kSystemManagement)};
  const std::vector<std::string> types = definition.workload_types();
  labels.insert(labels.end(), types.begin(), types.end());
  return labels;
}

acm::Result<Explanation> explain(const WorkloadDefinition& definition, std::string_view first,
                                 std::string_view second) {
  acm::Diagnostics warnings;
  const acm::PolicyModel model =
      build_policy_model(definition, kPreviewPolicyName, kExplainDate, warnings);
  const std::array<std::string_view, 2> asked{first, second};
  for (std::string_view name : asked) {
    if (model.find_vm_label(name) == nullptr) {
      return acm::make_error(
          Errc::not_found, "'" + std::string(name) + "' is not a workload type of this definition");
    }
  }
  return explain_policy(model, first, second);
}

acm::Result<Explanation> explain_policy(const acm::PolicyModel& model, std::string_view first,
                                        std::string_view second) {
  const std::array<std::string_view, 2> asked{first, second};
  for (std::string_view name : asked) {
    if (model.find_vm_label(name) == nullptr) {
      return acm::make_error(Errc::not_found,
                             "'" + std::string(name) + "' is not a VM label of this policy");
    }
  }
  auto compiled = acm::compile_policy(model, {});
  if (!compiled) return tl::unexpected(compiled.error());
  const auto ssid_first = compiled->numbering.vm_label_ssidref(first);
  const auto ssid_second = compiled->numbering.vm_label_ssidref(second);
  if (!ssid_first || !ssid_second) {
    return acm::make_error(Errc::not_found, "the compiled policy has no label for the selection");
  }
  auto engine = acm::PolicyEngine::build(std::move(compiled->image));
  if (!engine) return tl::unexpected(engine.error());

  Explanation result;
  const acm::Decision share = engine->explain_share(*ssid_first, *ssid_second);
  result.may_share = share.permitted;
  result.share_rule = share.rule;

  const std::array<acm::RunningDomain, 1> running{acm::RunningDomain{1, *ssid_first}};
  auto state = engine->rebuild_chinese_wall(running);
  if (!state) return tl::unexpected(state.error());
  const acm::Decision admit = engine->explain_admission(*state, *ssid_second);
  result.may_run_together = admit.permitted;
  result.run_rule = admit.rule;
  result.deciding_rules =
      separating_sets(model, *model.find_vm_label(first), *model.find_vm_label(second));
  return result;
}

std::string Explanation::to_text(std::string_view first, std::string_view second) const {
  const std::string a(first);
  const std::string b(second);
  std::string text;
  text += may_share ? "Share: YES. " : "Share: NO. ";
  text += "Domains labelled " + a + " and " + b +
          (may_share ? " may share event channels, memory and resources of each other's type.\n"
                     : " may not share event channels or memory.\n");
  text += "  " + share_rule + "\n\n";
  text += may_run_together ? "Run together: YES. " : "Run together: NO. ";
  text += "A domain labelled " + b + (may_run_together ? " may start" : " may not start") +
          " while one labelled " + a + " runs.\n";
  text += "  " + run_rule + "\n";
  if (!deciding_rules.empty()) {
    text += "\nRun-time exclusion rules that keep them apart:";
    for (const std::string& rule : deciding_rules)
      text += " '" + rule + "'";
    text += "\n";
  }
  return text;
}

}  // namespace shype::ezpolicy::gui
