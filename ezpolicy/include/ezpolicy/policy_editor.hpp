// Refining an existing XML security policy (reference xen-acm-tools.md 8:
// what xensec_gen did in a web page): types, labels, conflict sets, the
// bootstrap label and the header, on an acm::PolicyModel, with undo and redo.
// GUI-free; the window only asks for names and selections and calls these.
//
// Like WorkloadEditor: each operation either succeeds, changes the policy
// and becomes one undo step, or fails with a reason and changes nothing. An
// operation that would change nothing succeeds without an undo step. Any new
// change clears the redo steps; history is kept as snapshots (the oldest are
// dropped beyond kMaxUndoSteps).
//
// The policy is valid at every step: it is loaded through the policy core's
// reader (schema + semantic checks), and every operation's result is checked
// with acm::check_policy; an operation whose result has errors is refused
// with the core's findings ("file:line: error: reason" lines; elements added
// in the editor have no location). validate() adds the compilation, and
// save() refuses a policy that does not load back and compile.
//
// Conflict sets are addressed by index in chwall->conflict_sets (names may
// repeat, as in the manual's mytest policy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acm/compiler.hpp"
#include "acm/diagnostics.hpp"
#include "acm/error.hpp"
#include "acm/policy_model.hpp"

namespace shype::ezpolicy {

enum class TypeKind { ste, chwall };
enum class LabelKind { vm, resource };

class PolicyEditor {
 public:
  static constexpr std::size_t kMaxUndoSteps = 1000;

  // Starts without a policy (has_policy() false); every operation but the
  // loads is refused until one is loaded.
  PolicyEditor() = default;

  [[nodiscard]] bool has_policy() const noexcept { return loaded_; }
  [[nodiscard]] const acm::PolicyModel& policy() const noexcept { return current_; }
  // The file the policy was loaded from or last saved to (may be empty).
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

  // --- loading and saving ----------------------------------------------
  // Loads through acm::xml::load_policy_file: well-formedness, schema,
  // semantic checks. On failure nothing changes and the error is the core's
  // ("file:line: reason", or one such line per finding). On success the
  // history is cleared and the policy is unmodified.
  [[nodiscard]] acm::Status load_file(const std::filesystem::path& path);
  // The same from text; `file_name` names it in messages (file() is set to it).
  [[nodiscard]] acm::Status load_text(std::string xml_text, std::string file_name);
  // Starts from a model (e.g. a translated workload); refused if
  // check_policy reports errors. file() becomes `file`.
  [[nodiscard]] acm::Status reset(acm::PolicyModel model, std::filesystem::path file = {});

  // The policy as XML (acm::xml::write_policy).
  [[nodiscard]] std::string xml() const;
  // Writes the XML, loads it back (schema + semantic checks) and compiles
  // it; the compiled policy carries the warnings.
  [[nodiscard]] acm::Result<acm::CompiledPolicy> validate() const;
  // Validates, then writes xml() to `path` atomically (acm::write_file_atomic);
  // on success file() becomes `path` and the policy is marked saved. An
  // invalid policy or an I/O error leaves the file and the state unchanged.
  [[nodiscard]] acm::Status save(const std::filesystem::path& path);
  // check_policy's warnings of the current policy.
  [[nodiscard]] acm::Diagnostics warnings() const;

  // --- types -----------------------------------------------------------
  // Appends a type (creating the component if the policy has none).
  // Refused: a name check_policy rejects, or a duplicate.
  [[nodiscard]] acm::Status add_type(TypeKind kind, std::string_view name);
  // Renames a type; every label and (CHWALL) conflict set naming it follows.
  [[nodiscard]] acm::Status rename_type(TypeKind kind, std::string_view old_name,
                                        std::string_view new_name);
  // Deletes a type; it leaves every label and conflict set, and conflict sets
  // left empty are deleted. Refused if the result is invalid (e.g. a
  // resource label would be left without its STE type).
  [[nodiscard]] acm::Status delete_type(TypeKind kind, std::string_view name);

  // --- labels ------------------------------------------------------------
  // Appends a label with the given types (a resource label needs exactly one
  // STE type and no CHWALL type; a VM label may start empty).
  [[nodiscard]] acm::Status add_label(LabelKind kind, std::string_view name,
                                      const std::vector<std::string>& ste_types = {},
                                      const std::vector<std::string>& chwall_types = {});
  // Renames a label; for a VM label the bootstrap follows.
  [[nodiscard]] acm::Status rename_label(LabelKind kind, std::string_view old_name,
                                         std::string_view new_name);
  // Deletes a label (refused for the bootstrap label: check_policy).
  [[nodiscard]] acm::Status delete_label(LabelKind kind, std::string_view name);
  // Adds a type to a label. Refused: unknown label, the label already has
  // the type, or an invalid result (an undeclared type, two CHWALL types of
  // one conflict set, a second STE type on a resource label).
  [[nodiscard]] acm::Status add_label_type(LabelKind kind, std::string_view label,
                                           TypeKind type_kind, std::string_view type);
  // Removes a type from a label (it must have it; the result must be valid).
  [[nodiscard]] acm::Status remove_label_type(LabelKind kind, std::string_view label,
                                              TypeKind type_kind, std::string_view type);
  // Replaces one type of a label by another in place (a resource label's
  // single STE type can only be changed this way).
  [[nodiscard]] acm::Status replace_label_type(LabelKind kind, std::string_view label,
                                               TypeKind type_kind, std::string_view old_type,
                                               std::string_view new_type);

  // --- conflict sets -----------------------------------------------------
  // Appends a conflict set with `types` (CHWALL types; at least one) and
  // returns its index. Refused without a Chinese Wall component.
  [[nodiscard]] acm::Result<std::size_t> add_conflict_set(std::string_view name,
                                                          const std::vector<std::string>& types);
  [[nodiscard]] acm::Status rename_conflict_set(std::size_t index, std::string_view name);
  [[nodiscard]] acm::Status delete_conflict_set(std::size_t index);
  // Adds members (those already members are ignored; at least one must be new).
  [[nodiscard]] acm::Status add_conflict_members(std::size_t index,
                                                 const std::vector<std::string>& types);
  // Removes members (each must be a member; the set must not become empty:
  // delete it instead).
  [[nodiscard]] acm::Status remove_conflict_members(std::size_t index,
                                                    const std::vector<std::string>& types);

  // --- bootstrap and header ------------------------------------------------
  [[nodiscard]] acm::Status set_bootstrap(std::string_view vm_label);
  [[nodiscard]] acm::Status set_policy_name(std::string_view name);
  [[nodiscard]] acm::Status set_version(std::string_view version);  // "major.minor"
  // FromPolicy for a run-time update (xm setpolicy: it names the active
  // policy and its version); nullopt removes it.
  [[nodiscard]] acm::Status set_from_policy(std::optional<acm::FromPolicy> from);
  // One step: FromPolicy := this policy's name and version, and the version's
  // minor number goes up by one (the usual way to refine the active policy).
  [[nodiscard]] acm::Status make_update();

  // --- history -----------------------------------------------------------
  [[nodiscard]] bool can_undo() const noexcept { return !undo_.empty(); }
  [[nodiscard]] bool can_redo() const noexcept { return !redo_.empty(); }
  [[nodiscard]] std::string undo_description() const;
  [[nodiscard]] std::string redo_description() const;
  // Errc::invalid_argument when there is nothing to undo / redo.
  [[nodiscard]] acm::Status undo();
  [[nodiscard]] acm::Status redo();
  [[nodiscard]] std::size_t undo_steps() const noexcept { return undo_.size(); }
  [[nodiscard]] bool modified() const noexcept { return current_id_ != saved_id_; }
  void mark_saved() noexcept { saved_id_ = current_id_; }

 private:
  struct Step {
    acm::PolicyModel policy;
    std::uint64_t id = 0;
    std::string description;
  };

  // Checks `next` and records it as one step described by `what` (nothing
  // if it equals the current policy).
  [[nodiscard]] acm::Status commit(acm::PolicyModel next, std::string what);
  [[nodiscard]] acm::Status require_policy() const;
  void replace_all(acm::PolicyModel model, std::filesystem::path file);

  bool loaded_ = false;
  acm::PolicyModel current_;
  std::filesystem::path file_;
  std::uint64_t current_id_ = 0;
  std::uint64_t saved_id_ = 0;
  std::uint64_t next_id_ = 1;
  std::vector<Step> undo_;
  std::vector<Step> redo_;
};

[[nodiscard]] const char* to_string(TypeKind kind) noexcept;   // "STE" / "CHWALL"
[[nodiscard]] const char* to_string(LabelKind kind) noexcept;  // "VM" / "resource"

}  // namespace shype::ezpolicy
