#include "acm/numbering.hpp"

#include <algorithm>

namespace shype::acm {
namespace {

std::optional<std::uint32_t> find_sorted(const std::vector<std::string>& sorted, std::size_t first,
                                         std::string_view name) {
  auto begin = sorted.begin() + static_cast<std::ptrdiff_t>(first);
  auto it = std::lower_bound(begin, sorted.end(), name,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it == sorted.end() || *it != name) return std::nullopt;
  return static_cast<std::uint32_t>(it - sorted.begin());
}

std::vector<std::string> sorted_names(const std::vector<NamedItem>& items) {
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const auto& item : items)
    names.push_back(item.name);
  std::sort(names.begin(), names.end());
  return names;
}

bool has_adjacent_duplicate(const std::vector<std::string>& sorted) {
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

}  // namespace

std::optional<std::uint32_t> LabelNumbering::ste_type_index(std::string_view name) const {
  return find_sorted(ste_types, 0, name);
}

std::optional<std::uint32_t> LabelNumbering::chwall_type_index(std::string_view name) const {
  return find_sorted(chwall_types, 0, name);
}

std::optional<std::uint32_t> LabelNumbering::vm_label_index(std::string_view name) const {
  if (name == kUnlabeled) return 0;  // unlabeled domains are always ssidref 0
  if (vm_labels.size() > 1 && vm_labels[1] == name) return 1;
  if (vm_labels.size() <= 2) return std::nullopt;
  return find_sorted(vm_labels, 2, name);
}

std::optional<std::uint32_t> LabelNumbering::resource_ste_row(std::string_view name) const {
  if (name == kUnlabeled) return 0;
  auto r = find_sorted(resource_labels, 0, name);
  if (!r) return std::nullopt;
  return static_cast<std::uint32_t>(vm_labels.size()) + *r;
}

std::optional<Ssidref> LabelNumbering::vm_label_ssidref(std::string_view name) const {
  auto index = vm_label_index(name);
  if (!index) return std::nullopt;
  return vm_ssidref(*index);
}

std::optional<Ssidref> LabelNumbering::resource_label_ssidref(std::string_view name) const {
  auto row = resource_ste_row(name);
  if (!row) return std::nullopt;
  return resource_ssidref(*row);
}

Result<LabelNumbering> number_policy(const PolicyModel& model) {
  LabelNumbering n;
  if (model.ste) n.ste_types = sorted_names(model.ste->types);
  if (model.chwall) n.chwall_types = sorted_names(model.chwall->types);
  if (has_adjacent_duplicate(n.ste_types) || has_adjacent_duplicate(n.chwall_types)) {
    return make_error(Errc::semantic_error,
                      "duplicate type names in policy '" + model.header.name + "'");
  }

  const std::string& bootstrap = model.bootstrap.name;
  if (bootstrap.empty() || bootstrap == kUnlabeled || !model.find_vm_label(bootstrap)) {
    return make_error(Errc::semantic_error, "bootstrap label '" + bootstrap +
                                                "' is not a VM label of policy '" +
                                                model.header.name + "'");
  }

  n.unlabeled_defined = model.find_vm_label(kUnlabeled) != nullptr;
  n.vm_labels.reserve(model.vm_labels.size() + 1);
  n.vm_labels.emplace_back(n.unlabeled_defined ? kUnlabeled : kNullLabel);
  n.vm_labels.push_back(bootstrap);
  std::vector<std::string> rest;
  rest.reserve(model.vm_labels.size());
  for (const auto& label : model.vm_labels) {
    if (label.name != kUnlabeled && label.name != bootstrap) rest.push_back(label.name);
  }
  std::sort(rest.begin(), rest.end());
  if (has_adjacent_duplicate(rest) ||
      rest.size() + 1 + (n.unlabeled_defined ? 1 : 0) != model.vm_labels.size()) {
    return make_error(Errc::semantic_error,
                      "duplicate VM label names in policy '" + model.header.name + "'");
  }
  n.vm_labels.insert(n.vm_labels.end(), std::make_move_iterator(rest.begin()),
                     std::make_move_iterator(rest.end()));

  for (const auto& label : model.resource_labels) {
    if (label.name != kUnlabeled) n.resource_labels.push_back(label.name);
  }
  std::sort(n.resource_labels.begin(), n.resource_labels.end());
  if (has_adjacent_duplicate(n.resource_labels)) {
    return make_error(Errc::semantic_error,
                      "duplicate resource label names in policy '" + model.header.name + "'");
  }
  if (n.vm_labels.size() > 0xffff || n.vm_labels.size() + n.resource_labels.size() > 0xffff) {
    return make_error(
        Errc::limit_exceeded,
        "policy '" + model.header.name + "' has more labels than 16-bit ssidrefs can number");
  }

  if (model.chwall) {
    const auto& sets = model.chwall->conflict_sets;
    n.conflict_set_order.resize(sets.size());
    for (std::uint32_t i = 0; i < sets.size(); ++i)
      n.conflict_set_order[i] = i;
    std::stable_sort(n.conflict_set_order.begin(), n.conflict_set_order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return sets[a].name < sets[b].name; });
  }
  return n;
}

}  // namespace shype::acm
