// Every editing operation of ezPolicy's window (reference xen-acm-tools.md
// 7.3-7.4), on a WorkloadDefinition, with undo and redo. The GUI only asks
// for names and selections and calls these; every rule is enforced here.
//
// Each operation either succeeds, changes the definition and becomes one
// undo step, or fails with a reason and changes nothing. An operation that
// would change nothing (renaming to the same name, adding only members that
// are already there) succeeds without an undo step. Any new change clears
// the redo steps. History is kept as snapshots of the definition (they are
// small); the oldest steps are dropped beyond kMaxUndoSteps.
//
// Rules are addressed by index in definition().rules (names may repeat or be
// empty).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "ezpolicy/workload.hpp"

namespace shype::ezpolicy {

class WorkloadEditor {
 public:
  static constexpr std::size_t kMaxUndoSteps = 1000;

  // Starts from WorkloadDefinition::initial() (__UNLABELED__ only), unmodified.
  WorkloadEditor();

  [[nodiscard]] const WorkloadDefinition& definition() const noexcept { return current_; }

  // New or Open: replaces the whole definition, clears the history and
  // marks it unmodified. Fails (and keeps the current one) if `definition`
  // breaks a rule of check_definition.
  [[nodiscard]] acm::Status reset(WorkloadDefinition definition);

  // --- organizations and departments ---------------------------------
  // Appends an organization. Refused: invalid name (check_workload_name),
  // or an organization of that name already exists.
  [[nodiscard]] acm::Status add_organization(std::string_view name);
  // Appends a department to `organization`. Refused: unknown organization,
  // invalid name, or the organization already has it.
  [[nodiscard]] acm::Status add_department(std::string_view organization,
                                           std::string_view department);
  // Renames an organization; every rule's "Org" and "Org.Dept" follow.
  [[nodiscard]] acm::Status rename_organization(std::string_view old_name,
                                                std::string_view new_name);
  // Renames a department; every rule's "Org.Dept" follows.
  [[nodiscard]] acm::Status rename_department(std::string_view organization,
                                              std::string_view old_name, std::string_view new_name);
  // Deletes an organization with its departments; "Org" and every
  // "Org.Dept" leave all rules, and rules left empty are deleted.
  // __UNLABELED__ is an ordinary organization and may be deleted.
  [[nodiscard]] acm::Status delete_organization(std::string_view name);
  // Deletes a department; "Org.Dept" leaves all rules, rules left empty go.
  [[nodiscard]] acm::Status delete_department(std::string_view organization,
                                              std::string_view department);
  // View > Sort All: sorts the departments within each organization
  // (organizations keep their order).
  [[nodiscard]] acm::Status sort_departments();

  // --- run-time exclusion rules --------------------------------------
  // Appends a rule with the selected types (check_selection; repeated types
  // count once) and returns its index. `name` may be empty.
  [[nodiscard]] acm::Result<std::size_t> create_rule(std::string_view name,
                                                     const std::vector<std::string>& types);
  // --> Add: adds the selected types to a rule. Refused if a type does not
  // exist or if the rule would then hold an organization and one of its
  // own departments. Returns the types that were already members (ignored).
  [[nodiscard]] acm::Result<std::vector<std::string>> add_to_rule(
      std::size_t rule, const std::vector<std::string>& types);
  // <-- Del: removes the given members (each must be a member). A rule left
  // without members is deleted; one left with a single member stays (the
  // window asks whether to delete it; the translation skips it).
  [[nodiscard]] acm::Status remove_from_rule(std::size_t rule,
                                             const std::vector<std::string>& members);
  [[nodiscard]] acm::Status rename_rule(std::size_t rule, std::string_view name);
  [[nodiscard]] acm::Status delete_rule(std::size_t rule);

  // --- history ---------------------------------------------------------
  [[nodiscard]] bool can_undo() const noexcept { return !undo_.empty(); }
  [[nodiscard]] bool can_redo() const noexcept { return !redo_.empty(); }
  // What the next undo / redo would revert or repeat, e.g. "Rename
  // organization 'A-Bank' to 'C-Bank'" (empty if there is none).
  [[nodiscard]] std::string undo_description() const;
  [[nodiscard]] std::string redo_description() const;
  // Errc::invalid_argument when there is nothing to undo / redo.
  [[nodiscard]] acm::Status undo();
  [[nodiscard]] acm::Status redo();
  [[nodiscard]] std::size_t undo_steps() const noexcept { return undo_.size(); }

  // Unsaved changes: true iff the definition differs, by history, from the
  // one last marked saved (undoing back to it makes it false again).
  [[nodiscard]] bool modified() const noexcept { return current_id_ != saved_id_; }
  void mark_saved() noexcept { saved_id_ = current_id_; }

 private:
  struct Step {
    WorkloadDefinition definition;
    std::uint64_t id = 0;
    std::string description;
  };

  // Records `next` as the result of one operation described by `what`.
  void commit(WorkloadDefinition next, std::string what);
  [[nodiscard]] acm::Result<std::size_t> rule_index(std::size_t rule) const;

  WorkloadDefinition current_;
  std::uint64_t current_id_ = 0;
  std::uint64_t saved_id_ = 0;
  std::uint64_t next_id_ = 1;
  std::vector<Step> undo_;  // back() is the most recent
  std::vector<Step> redo_;
};

}  // namespace shype::ezpolicy
