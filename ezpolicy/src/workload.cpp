#include "ezpolicy/workload.hpp"

#include <algorithm>

#include "acm/policy_model.hpp"

namespace shype::ezpolicy {

WorkloadDefinition WorkloadDefinition::initial() {
  WorkloadDefinition definition;
  definition.organizations.push_back(Organization{std::string(acm::kUnlabeled), {}});
  return definition;
}

std::vector<std::string> WorkloadDefinition::workload_types() const {
  std::vector<std::string> types;
  for (const Organization& org : organizations) {
    types.push_back(org.name);
    for (const std::string& dept : org.departments)
      types.push_back(workload_type(org.name, dept));
  }
  return types;
}

const Organization* WorkloadDefinition::find_organization(std::string_view name) const {
  auto it = std::find_if(organizations.begin(), organizations.end(),
                         [&](const Organization& org) { return org.name == name; });
  return it == organizations.end() ? nullptr : &*it;
}

bool WorkloadDefinition::has_workload_type(std::string_view type) const {
  const Organization* org = find_organization(organization_of(type));
  if (org == nullptr) return false;
  if (!is_department_type(type)) return true;
  const std::string_view dept = type.substr(org->name.size() + 1);
  return std::find(org->departments.begin(), org->departments.end(), dept) !=
         org->departments.end();
}

std::string workload_type(std::string_view organization, std::string_view department) {
  std::string type(organization);
  if (!department.empty()) {
    type += '.';
    type += department;
  }
  return type;
}

std::string_view organization_of(std::string_view type) {
  return type.substr(0, type.find('.'));
}

bool is_department_type(std::string_view type) {
  return type.find('.') != std::string_view::npos;
}

}  // namespace shype::ezpolicy
