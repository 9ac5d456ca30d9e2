#include "ezpolicy/workload_editor.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "ezpolicy/workload_rules.hpp"

namespace shype::ezpolicy {
namespace {

using acm::Errc;
using acm::make_error;

std::string in_quotes(std::string_view name) {
  return "'" + std::string(name) + "'";
}

Organization* find_org(WorkloadDefinition& definition, std::string_view name) {
  auto it = std::find_if(definition.organizations.begin(), definition.organizations.end(),
                         [&](const Organization& org) { return org.name == name; });
  return it == definition.organizations.end() ? nullptr : &*it;
}

std::vector<std::string>::iterator find_dept(Organization& org, std::string_view dept) {
  return std::find(org.departments.begin(), org.departments.end(), dept);
}

void normalise_members(std::vector<std::string>& members) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
}

// Applies `rewrite` to every member of every rule (it returns the new name,
// or nothing to drop the member), then deletes rules left empty.
template <typename Rewrite>
void rewrite_rules(WorkloadDefinition& definition, Rewrite rewrite) {
  for (ExclusionRule& rule : definition.rules) {
    std::vector<std::string> members;
    for (const std::string& member : rule.members) {
      if (std::optional<std::string> renamed = rewrite(member)) members.push_back(*renamed);
    }
    normalise_members(members);
    rule.members = std::move(members);
  }
  std::erase_if(definition.rules, [](const ExclusionRule& rule) { return rule.members.empty(); });
}

acm::Status unknown_organization(std::string_view name) {
  return make_error(Errc::not_found, "no organization " + in_quotes(name));
}

}  // namespace

WorkloadEditor::WorkloadEditor() : current_(WorkloadDefinition::initial()) {}

acm::Status WorkloadEditor::reset(WorkloadDefinition definition) {
  if (auto ok = check_definition(definition); !ok) return ok;
  current_ = std::move(definition);
  undo_.clear();
  redo_.clear();
  current_id_ = next_id_++;
  saved_id_ = current_id_;
  return {};
}

void WorkloadEditor::commit(WorkloadDefinition next, std::string what) {
  undo_.push_back(Step{std::move(current_), current_id_, std::move(what)});
  if (undo_.size() > kMaxUndoSteps) undo_.erase(undo_.begin());
  redo_.clear();
  current_ = std::move(next);
  current_id_ = next_id_++;
}

std::string WorkloadEditor::undo_description() const {
  return undo_.empty() ? std::string() : undo_.back().description;
}

std::string WorkloadEditor::redo_description() const {
  return redo_.empty() ? std::string() : redo_.back().description;
}

acm::Status WorkloadEditor::undo() {
  if (undo_.empty()) return make_error(Errc::invalid_argument, "nothing to undo");
  Step step = std::move(undo_.back());
  undo_.pop_back();
  redo_.push_back(Step{std::move(current_), current_id_, step.description});
  current_ = std::move(step.definition);
  current_id_ = step.id;
  return {};
}

acm::Status WorkloadEditor::redo() {
  if (redo_.empty()) return make_error(Errc::invalid_argument, "nothing to redo");
  Step step = std::move(redo_.back());
  redo_.pop_back();
  undo_.push_back(Step{std::move(current_), current_id_, step.description});
  current_ = std::move(step.definition);
  current_id_ = step.id;
  return {};
}

acm::Status WorkloadEditor::add_organization(std::string_view name) {
  if (auto ok = check_workload_name(name); !ok) return ok;
  if (current_.find_organization(name) != nullptr) {
    return make_error(Errc::invalid_argument,
                      "an organization named " + in_quotes(name) + " already exists");
  }
  WorkloadDefinition next = current_;
  next.organizations.push_back(Organization{std::string(name), {}});
  commit(std::move(next), "Add organization " + in_quotes(name));
  return {};
}

acm::Status WorkloadEditor::add_department(std::string_view organization,
                                           std::string_view department) {
  WorkloadDefinition next = current_;
  Organization* org = find_org(next, organization);
  if (org == nullptr) return unknown_organization(organization);
  if (auto ok = check_workload_name(department); !ok) return ok;
  if (auto ok = check_workload_type_name(workload_type(organization, department)); !ok) return ok;
  if (find_dept(*org, department) != org->departments.end()) {
    return make_error(Errc::invalid_argument, "organization " + in_quotes(organization) +
                                                  " already has a department named " +
                                                  in_quotes(department));
  }
  org->departments.emplace_back(department);
  commit(std::move(next), "Add department " + in_quotes(workload_type(organization, department)));
  return {};
}

acm::Status WorkloadEditor::rename_organization(std::string_view old_name,
                                                std::string_view new_name) {
  WorkloadDefinition next = current_;
  Organization* org = find_org(next, old_name);
  if (org == nullptr) return unknown_organization(old_name);
  if (old_name == new_name) return {};
  if (auto ok = check_workload_name(new_name); !ok) return ok;
  if (current_.find_organization(new_name) != nullptr) {
    return make_error(Errc::invalid_argument,
                      "an organization named " + in_quotes(new_name) + " already exists");
  }
  for (const std::string& dept : org->departments) {
    if (auto ok = check_workload_type_name(workload_type(new_name, dept)); !ok) return ok;
  }
  org->name = std::string(new_name);
  rewrite_rules(next, [&](const std::string& member) -> std::optional<std::string> {
    if (organization_of(member) != old_name) return member;
    return std::string(new_name) + member.substr(old_name.size());
  });
  commit(std::move(next),
         "Rename organization " + in_quotes(old_name) + " to " + in_quotes(new_name));
  return {};
}

acm::Status WorkloadEditor::rename_department(std::string_view organization,
                                              std::string_view old_name,
                                              std::string_view new_name) {
  WorkloadDefinition next = current_;
  Organization* org = find_org(next, organization);
  if (org == nullptr) return unknown_organization(organization);
  auto dept = find_dept(*org, old_name);
  if (dept == org->departments.end()) {
    return make_error(Errc::not_found, "organization " + in_quotes(organization) +
                                           " has no department " + in_quotes(old_name));
  }
  if (old_name == new_name) return {};
  if (auto ok = check_workload_name(new_name); !ok) return ok;
  if (auto ok = check_workload_type_name(workload_type(organization, new_name)); !ok) return ok;
  if (find_dept(*org, new_name) != org->departments.end()) {
    return make_error(Errc::invalid_argument, "organization " + in_quotes(organization) +
                                                  " already has a department named " +
                                                  in_quotes(new_name));
  }
  *dept = std::string(new_name);
  const std::string old_type = workload_type(organization, old_name);
  const std::string new_type = workload_type(organization, new_name);
  rewrite_rules(next, [&](const std::string& member) -> std::optional<std::string> {
    return member == old_type ? new_type : member;
  });
  commit(std::move(next),
         "Rename department " + in_quotes(old_type) + " to " + in_quotes(new_type));
  return {};
}

acm::Status WorkloadEditor::delete_organization(std::string_view name) {
  WorkloadDefinition next = current_;
  Organization* org = find_org(next, name);
  if (org == nullptr) return unknown_organization(name);
  next.organizations.erase(next.organizations.begin() + (org - next.organizations.data()));
  rewrite_rules(next, [&](const std::string& member) -> std::optional<std::string> {
    if (organization_of(member) == name) return std::nullopt;
    return member;
  });
  commit(std::move(next), "Delete organization " + in_quotes(name));
  return {};
}

acm::Status WorkloadEditor::delete_department(std::string_view organization,
                                              std::string_view department) {
  WorkloadDefinition next = current_;
  Organization* org = find_org(next, organization);
  if (org == nullptr) return unknown_organization(organization);
  auto dept = find_dept(*org, department);
  if (dept == org->departments.end()) {
    return make_error(Errc::not_found, "organization " + in_quotes(organization) +
                                           " has no department " + in_quotes(department));
  }
  org->departments.erase(dept);
  const std::string type = workload_type(organization, department);
  rewrite_rules(next, [&](const std::string& member) -> std::optional<std::string> {
    if (member == type) return std::nullopt;
    return member;
  });
  commit(std::move(next), "Delete department " + in_quotes(type));
  return {};
}

acm::Status WorkloadEditor::sort_departments() {
  WorkloadDefinition next = current_;
  for (Organization& org : next.organizations) {
    std::sort(org.departments.begin(), org.departments.end());
  }
  if (next == current_) return {};
  commit(std::move(next), "Sort departments");
  return {};
}

acm::Result<std::size_t> WorkloadEditor::rule_index(std::size_t rule) const {
  if (rule >= current_.rules.size()) {
    return make_error(Errc::not_found, "no run-time exclusion rule number " +
                                           std::to_string(rule + 1) + " (there are " +
                                           std::to_string(current_.rules.size()) + ")");
  }
  return rule;
}

acm::Result<std::size_t> WorkloadEditor::create_rule(std::string_view name,
                                                     const std::vector<std::string>& types) {
  if (auto ok = check_selection(current_, types); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_rule_name(name); !ok) return tl::unexpected(ok.error());
  WorkloadDefinition next = current_;
  ExclusionRule rule{std::string(name), types};
  normalise_members(rule.members);
  next.rules.push_back(std::move(rule));
  const std::size_t index = next.rules.size() - 1;
  commit(std::move(next), "Create run-time exclusion rule " + in_quotes(name));
  return index;
}

acm::Result<std::vector<std::string>> WorkloadEditor::add_to_rule(
    std::size_t rule, const std::vector<std::string>& types) {
  auto index = rule_index(rule);
  if (!index) return tl::unexpected(index.error());
  if (types.empty()) {
    return make_error(Errc::invalid_argument,
                      "select at least one organization or department workload first");
  }
  const ExclusionRule& existing = current_.rules[*index];
  std::vector<std::string> combined = existing.members;
  combined.insert(combined.end(), types.begin(), types.end());
  if (auto ok = check_selection(current_, combined); !ok) return tl::unexpected(ok.error());
  std::vector<std::string> ignored;
  for (const std::string& type : std::set<std::string>(types.begin(), types.end())) {
    if (std::binary_search(existing.members.begin(), existing.members.end(), type)) {
      ignored.push_back(type);
    }
  }
  normalise_members(combined);
  if (combined == existing.members) return ignored;
  WorkloadDefinition next = current_;
  next.rules[*index].members = std::move(combined);
  commit(std::move(next), "Add to run-time exclusion rule " + in_quotes(existing.name));
  return ignored;
}

acm::Status WorkloadEditor::remove_from_rule(std::size_t rule,
                                             const std::vector<std::string>& members) {
  auto index = rule_index(rule);
  if (!index) return tl::unexpected(index.error());
  WorkloadDefinition next = current_;
  std::vector<std::string>& kept = next.rules[*index].members;
  for (const std::string& member : std::set<std::string>(members.begin(), members.end())) {
    auto it = std::find(kept.begin(), kept.end(), member);
    if (it == kept.end()) {
      return make_error(Errc::not_found, in_quotes(member) + " is not a member of rule " +
                                             in_quotes(current_.rules[*index].name));
    }
    kept.erase(it);
  }
  if (members.empty()) return {};
  const std::string name = current_.rules[*index].name;
  if (kept.empty()) {
    next.rules.erase(next.rules.begin() + static_cast<std::ptrdiff_t>(*index));
  }
  commit(std::move(next), "Remove from run-time exclusion rule " + in_quotes(name));
  return {};
}

acm::Status WorkloadEditor::rename_rule(std::size_t rule, std::string_view name) {
  auto index = rule_index(rule);
  if (!index) return tl::unexpected(index.error());
  if (auto ok = check_rule_name(name); !ok) return ok;
  const std::string old_name = current_.rules[*index].name;
  if (old_name == name) return {};
  WorkloadDefinition next = current_;
  next.rules[*index].name = std::string(name);
  commit(std::move(next),
         "Rename run-time exclusion rule " + in_quotes(old_name) + " to " + in_quotes(name));
  return {};
}

acm::Status WorkloadEditor::delete_rule(std::size_t rule) {
  auto index = rule_index(rule);
  if (!index) return tl::unexpected(index.error());
  WorkloadDefinition next = current_;
  const std::string name = next.rules[*index].name;
  next.rules.erase(next.rules.begin() + static_cast<std::ptrdiff_t>(*index));
  commit(std::move(next), "Delete run-time exclusion rule " + in_quotes(name));
  return {};
}

}  // namespace shype::ezpolicy
