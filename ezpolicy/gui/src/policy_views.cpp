#include "ezpolicy/gui/policy_views.hpp"

#include <algorithm>

namespace shype::ezpolicy::gui {

std::vector<Problem> find_policy_problems(const PolicyEditor& editor) {
  std::vector<Problem> problems;
  if (!editor.has_policy()) return problems;
  auto compiled = editor.validate();
  if (!compiled) {
    const std::string text = compiled.error().to_string();
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      if (end > start)
        problems.push_back({ProblemSeverity::error, text.substr(start, end - start)});
      start = end + 1;
    }
    return problems;
  }
  for (const acm::Diagnostic& warning : compiled->warnings.items()) {
    problems.push_back({ProblemSeverity::warning, warning.to_string()});
  }
  return problems;
}

std::vector<std::string> vm_label_names(const acm::PolicyModel& model) {
  std::vector<std::string> names;
  names.reserve(model.vm_labels.size());
  for (const acm::Label& label : model.vm_labels)
    names.push_back(label.name);
  return names;
}

}  // namespace shype::ezpolicy::gui
