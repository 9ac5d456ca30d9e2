// The workload definition ezPolicy edits (manual 10.2.2, Figure 10.2;
// reference xen-acm-tools.md 7): organizations, their departments and the
// run-time exclusion rules. Plain data: the rules that keep it consistent
// live in workload_rules.hpp and every change goes through WorkloadEditor
// (workload_editor.hpp).
//
// Workload types: an organization "Org" is the type "Org"; its department
// "Dept" is the type "Org.Dept". Names never contain '.', so a type names
// its organization unambiguously.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shype::ezpolicy {

// The label Domain-0 boots with; every translated policy has it, so no
// workload may take the name.
inline constexpr std::string_view kSystemManagement = "SystemManagement";
// The name a translated conflict set gets when its rule has none.
inline constexpr std::string_view kDefaultRuleName = "RER";

struct Organization {
  std::string name;
  std::vector<std::string> departments;  // in tree order

  friend bool operator==(const Organization&, const Organization&) = default;
};

// A run-time exclusion rule: of its workload types at most one may run at a
// time (a Chinese Wall conflict set). The name may be empty. Members are
// workload types, kept sorted (byte order) and unique, as the rule box lists
// them; an organization and one of its own departments are never both
// members.
struct ExclusionRule {
  std::string name;
  std::vector<std::string> members;

  friend bool operator==(const ExclusionRule&, const ExclusionRule&) = default;
};

struct WorkloadDefinition {
  std::vector<Organization> organizations;  // in tree order
  std::vector<ExclusionRule> rules;         // in the order they were created

  // What a new definition holds: the one organization __UNLABELED__, no rules.
  [[nodiscard]] static WorkloadDefinition initial();

  // Every workload type in tree order: each organization, then its
  // departments (the order the translation gives STE and CHWALL types).
  [[nodiscard]] std::vector<std::string> workload_types() const;
  [[nodiscard]] bool has_workload_type(std::string_view type) const;
  [[nodiscard]] const Organization* find_organization(std::string_view name) const;

  friend bool operator==(const WorkloadDefinition&, const WorkloadDefinition&) = default;
};

// "Org" for an organization (dept empty), "Org.Dept" for a department.
[[nodiscard]] std::string workload_type(std::string_view organization,
                                        std::string_view department = {});
// The organization part of a workload type ("A-Bank.MarketAnalysis" -> "A-Bank").
[[nodiscard]] std::string_view organization_of(std::string_view type);
// True for "Org.Dept", false for "Org".
[[nodiscard]] bool is_department_type(std::string_view type);

}  // namespace shype::ezpolicy
