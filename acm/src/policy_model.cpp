#include "acm/policy_model.hpp"

#include <algorithm>

namespace shype::acm {
namespace {

const Label* find_label(const std::vector<Label>& labels, std::string_view name) {
  auto it =
      std::find_if(labels.begin(), labels.end(), [&](const Label& l) { return l.name == name; });
  return it == labels.end() ? nullptr : &*it;
}

}  // namespace

const Label* PolicyModel::find_vm_label(std::string_view name) const {
  return find_label(vm_labels, name);
}

const Label* PolicyModel::find_resource_label(std::string_view name) const {
  return find_label(resource_labels, name);
}

std::string policy_file_path(std::string_view policy_name) {
  std::string path(policy_name);
  std::replace(path.begin(), path.end(), '.', '/');
  return path + "-security_policy.xml";
}

}  // namespace shype::acm
