#include "acm/reference_evaluator.hpp"

#include <algorithm>

namespace shype::acm {
namespace {

std::string_view label_or_unlabeled(std::string_view name) {
  return name.empty() ? kUnlabeled : name;
}

std::set<std::string> names_of(const std::vector<NamedItem>& items) {
  std::set<std::string> out;
  for (const auto& item : items)
    out.insert(item.name);
  return out;
}

bool have_common(const std::set<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& t) { return b.count(t) > 0; });
}

}  // namespace

ReferenceEvaluator::Types ReferenceEvaluator::vm_ste_types(std::string_view vm) const {
  const Label* label = model_.find_vm_label(label_or_unlabeled(vm));
  return label ? names_of(label->ste_types) : Types{};
}

ReferenceEvaluator::Types ReferenceEvaluator::vm_chwall_types(std::string_view vm) const {
  const Label* label = model_.find_vm_label(label_or_unlabeled(vm));
  return label ? names_of(label->chwall_types) : Types{};
}

ReferenceEvaluator::Types ReferenceEvaluator::resource_ste_types(std::string_view resource) const {
  const std::string_view name = label_or_unlabeled(resource);
  if (name == kUnlabeled) return vm_ste_types(kUnlabeled);
  const Label* label = model_.find_resource_label(name);
  return label ? names_of(label->ste_types) : Types{};
}

bool ReferenceEvaluator::share(std::string_view vm_a, std::string_view vm_b) const {
  return have_common(vm_ste_types(vm_a), vm_ste_types(vm_b));
}

bool ReferenceEvaluator::authorize(std::string_view dom0, std::string_view vm) const {
  const Types d = vm_ste_types(dom0);
  const Types v = vm_ste_types(vm);
  const bool includes_all = std::includes(d.begin(), d.end(), v.begin(), v.end());
  return includes_all && have_common(d, v);
}

bool ReferenceEvaluator::resource_access(std::string_view vm, std::string_view resource) const {
  return have_common(vm_ste_types(vm), resource_ste_types(resource));
}

bool ReferenceEvaluator::admissible(std::string_view vm,
                                    std::span<const std::string> running) const {
  if (!model_.chwall) return true;
  const Types candidate = vm_chwall_types(vm);
  for (const std::string& other : running) {
    const Types d = vm_chwall_types(other);
    for (const ConflictSet& c : model_.chwall->conflict_sets) {
      const Types set = names_of(c.types);
      const bool d_has_type_of_c = have_common(d, set);
      const bool candidate_has_type_of_c_d_lacks =
          std::any_of(candidate.begin(), candidate.end(),
                      [&](const std::string& t) { return set.count(t) > 0 && d.count(t) == 0; });
      if (d_has_type_of_c && candidate_has_type_of_c_d_lacks) return false;
    }
  }
  return true;
}

}  // namespace shype::acm
