// A small, obviously correct evaluator of STE and Chinese Wall decisions,
// written from the manual's words over the policy model by label NAMES: no
// numbering, no bitsets, no precomputation (STYLE.md rule 13). Tests compare
// it with the compiled PolicyEngine on the shipped and on random policies.
//
// Manual 10.3.2: two domains may share iff their labels have at least one
// STE type in common; a domain may access a resource iff the domain's and
// the resource's labels have a common STE type.
// Manual 10.2.7 / reference 10: Domain-0's label authorizes a VM label iff
// it includes all of the VM label's STE types (and, as the hypervisor's
// authorization hook also requires, they share one).
// Manual 10.3.3: of the types of one run-time exclusion rule (conflict set)
// at most one may run. A candidate is denied iff some running domain d and
// conflict set c exist such that d has a type of c and the candidate has a
// type of c that d does not have.
//
// Unlabeled: a domain or resource without a label ("" or __UNLABELED__)
// carries the label __UNLABELED__. For resources Xen's tools give it ssidref
// 0, the VM label __UNLABELED__, so that label's types apply. A name the
// policy does not define has no types (shares nothing, conflicts with
// nothing, and is authorized by nothing).
#pragma once

#include <set>
#include <span>
#include <string>
#include <string_view>

#include "acm/policy_model.hpp"

namespace shype::acm {

class ReferenceEvaluator {
 public:
  // Keeps a reference: the model must outlive the evaluator.
  explicit ReferenceEvaluator(const PolicyModel& model) : model_(model) {}

  [[nodiscard]] bool share(std::string_view vm_a, std::string_view vm_b) const;
  [[nodiscard]] bool authorize(std::string_view dom0, std::string_view vm) const;
  [[nodiscard]] bool resource_access(std::string_view vm, std::string_view resource) const;
  // `running` holds the labels of the running domains (a multiset).
  [[nodiscard]] bool admissible(std::string_view vm, std::span<const std::string> running) const;

 private:
  using Types = std::set<std::string>;
  [[nodiscard]] Types vm_ste_types(std::string_view vm) const;
  [[nodiscard]] Types vm_chwall_types(std::string_view vm) const;
  [[nodiscard]] Types resource_ste_types(std::string_view resource) const;

  const PolicyModel& model_;
};

}  // namespace shype::acm
