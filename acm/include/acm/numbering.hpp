// Label and type numbering: the compatibility rule that makes ssidrefs
// compiled here equal to those of Xen 3.3/3.4's tools (reference
// xen-acm-tools.md 5.2, xen-acm-hypervisor.md 2.7):
//  - STE and CHWALL types are indexed in byte order of their names;
//  - VM label 0 is __UNLABELED__ (a placeholder __NULL_LABEL__ with no types
//    if the policy does not define it), 1 is the bootstrap label, then the
//    others in byte order; VM label i has ssidref (i << 16) | i;
//  - resource labels (without __UNLABELED__) follow in byte order as STE rows
//    n, n+1, ... where n is the number of VM labels; ssidref (row << 16);
//    the resource label __UNLABELED__ is STE row 0;
//  - conflict sets are ordered by name (stable for equal names).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_model.hpp"
#include "acm/ssidref.hpp"

namespace shype::acm {

struct LabelNumbering {
  std::vector<std::string> ste_types;
  std::vector<std::string> chwall_types;
  std::vector<std::string> vm_labels;
  bool unlabeled_defined = false;  // the policy defines a VM label __UNLABELED__
  std::vector<std::string> resource_labels;
  // Model indexes of the conflict sets in compiled order.
  std::vector<std::uint32_t> conflict_set_order;

  [[nodiscard]] std::optional<std::uint32_t> ste_type_index(std::string_view name) const;
  [[nodiscard]] std::optional<std::uint32_t> chwall_type_index(std::string_view name) const;
  [[nodiscard]] std::optional<std::uint32_t> vm_label_index(std::string_view name) const;
  // STE row of a resource label; __UNLABELED__ is row 0.
  [[nodiscard]] std::optional<std::uint32_t> resource_ste_row(std::string_view name) const;
  [[nodiscard]] std::optional<Ssidref> vm_label_ssidref(std::string_view name) const;
  [[nodiscard]] std::optional<Ssidref> resource_label_ssidref(std::string_view name) const;
};

// Numbers a model that passed check_policy (fails with semantic_error if the
// bootstrap label is missing or names are duplicated).
[[nodiscard]] Result<LabelNumbering> number_policy(const PolicyModel& model);

}  // namespace shype::acm
