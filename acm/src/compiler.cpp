#include "acm/compiler.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "acm/fingerprint.hpp"
#include "acm/semantic_check.hpp"

namespace shype::acm {
namespace {

// Resolves type names to sorted, unique indexes. The model passed
// check_policy, so every name resolves; an unresolved one is a bug in the
// checker and is reported rather than silently dropped.
template <typename Lookup>
Status resolve_types(const std::vector<NamedItem>& items, Lookup lookup,
                     std::vector<std::uint32_t>& out) {
  out.clear();
  for (const auto& item : items) {
    auto index = lookup(item.name);
    if (!index) {
      return make_error(Errc::semantic_error, "type '" + item.name + "' is not declared",
                        item.where);
    }
    out.push_back(*index);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return {};
}

}  // namespace

Result<CompiledPolicy> compile_policy(const PolicyModel& model,
                                      std::span<const std::uint8_t> xml_text) {
  Diagnostics findings = check_policy(model);
  if (findings.has_errors()) return tl::unexpected(findings.to_error(Errc::semantic_error));

  auto numbering = number_policy(model);
  if (!numbering) return tl::unexpected(numbering.error());

  CompiledPolicy out;
  out.warnings = std::move(findings);
  out.numbering = std::move(*numbering);
  const LabelNumbering& n = out.numbering;
  PolicyImage& image = out.image;

  image.name = model.header.name;
  image.xml_version = model.header.version;
  if (!xml_text.empty()) image.xml_sha1 = sha1(xml_text);

  // Chinese Wall is primary whenever it has types (the only combination the
  // run-time paths support); otherwise STE alone. Xen's tools left the
  // secondary code at 15 (undefined) in that case; NULL is what they meant.
  const bool chwall = !n.chwall_types.empty();
  image.primary = chwall ? PolicyCode::chinese_wall : PolicyCode::simple_type_enforcement;
  image.secondary = chwall ? PolicyCode::simple_type_enforcement : PolicyCode::null;

  auto ste_lookup = [&](const std::string& name) { return n.ste_type_index(name); };
  auto chwall_lookup = [&](const std::string& name) { return n.chwall_type_index(name); };

  // Labels by name (views into the model), so that filling the rows stays
  // linear in the size of the policy.
  std::unordered_map<std::string_view, const Label*> vm_by_name;
  std::unordered_map<std::string_view, const Label*> resource_by_name;
  vm_by_name.reserve(model.vm_labels.size());
  resource_by_name.reserve(model.resource_labels.size());
  for (const auto& l : model.vm_labels)
    vm_by_name.emplace(l.name, &l);
  for (const auto& l : model.resource_labels)
    resource_by_name.emplace(l.name, &l);
  auto lookup = [](const auto& map, const std::string& name) -> const Label* {
    auto it = map.find(name);
    return it == map.end() ? nullptr : it->second;
  };

  std::vector<std::uint32_t> row;
  const std::size_t vm_count = n.vm_labels.size();
  image.vm_label_count = static_cast<std::uint32_t>(vm_count);
  image.ste_type_count = static_cast<std::uint32_t>(n.ste_types.size());
  image.ste_labels.reserve(vm_count + n.resource_labels.size(),
                           vm_count + n.resource_labels.size());

  if (chwall) {
    image.chwall_type_count = static_cast<std::uint32_t>(n.chwall_types.size());
    image.chwall_labels.reserve(vm_count, vm_count);
  }
  for (std::size_t i = 0; i < vm_count; ++i) {
    const Label* label = lookup(vm_by_name, n.vm_labels[i]);  // null for __NULL_LABEL__
    if (label) {
      if (auto s = resolve_types(label->ste_types, ste_lookup, row); !s)
        return tl::unexpected(s.error());
    } else {
      row.clear();
    }
    image.ste_labels.add_row(row);
    if (!chwall) continue;
    if (label) {
      if (auto s = resolve_types(label->chwall_types, chwall_lookup, row); !s)
        return tl::unexpected(s.error());
    } else {
      row.clear();
    }
    image.chwall_labels.add_row(row);
  }
  for (const auto& name : n.resource_labels) {
    const Label* label = lookup(resource_by_name, name);
    if (auto s = resolve_types(label->ste_types, ste_lookup, row); !s)
      return tl::unexpected(s.error());
    image.ste_labels.add_row(row);
  }
  if (chwall) {
    for (std::uint32_t index : n.conflict_set_order) {
      const ConflictSet& set = model.chwall->conflict_sets[index];
      if (auto s = resolve_types(set.types, chwall_lookup, row); !s)
        return tl::unexpected(s.error());
      image.conflict_sets.add_row(row);
    }
  }

  PolicyNames names;
  names.ste_types = n.ste_types;
  names.chwall_types = chwall ? n.chwall_types : std::vector<std::string>{};
  names.vm_labels = n.vm_labels;
  names.resource_labels = n.resource_labels;
  if (chwall) {
    for (std::uint32_t index : n.conflict_set_order) {
      names.conflict_sets.push_back(model.chwall->conflict_sets[index].name);
    }
  }
  image.names = std::move(names);
  return out;
}

}  // namespace shype::acm
