#include "ezpolicy/policy_editor.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>

#include "acm/file_io.hpp"
#include "acm/semantic_check.hpp"
#include "acm/xml/policy_loader.hpp"
#include "acm/xml/policy_writer.hpp"

namespace shype::ezpolicy {
namespace {

using acm::Errc;
using acm::make_error;
using acm::NamedItem;

std::string q(std::string_view name) {
  return "'" + std::string(name) + "'";
}

std::vector<NamedItem>* label_types(acm::Label& label, TypeKind kind) {
  return kind == TypeKind::ste ? &label.ste_types : &label.chwall_types;
}

std::vector<acm::Label>& labels_of(acm::PolicyModel& model, LabelKind kind) {
  return kind == LabelKind::vm ? model.vm_labels : model.resource_labels;
}

acm::Label* find_label(acm::PolicyModel& model, LabelKind kind, std::string_view name) {
  auto& labels = labels_of(model, kind);
  auto it = std::find_if(labels.begin(), labels.end(),
                         [&](const acm::Label& l) { return l.name == name; });
  return it == labels.end() ? nullptr : &*it;
}

std::vector<NamedItem>* declared_types(acm::PolicyModel& model, TypeKind kind) {
  if (kind == TypeKind::ste) return model.ste ? &model.ste->types : nullptr;
  return model.chwall ? &model.chwall->types : nullptr;
}

std::vector<NamedItem>::iterator find_item(std::vector<NamedItem>& items, std::string_view name) {
  return std::find_if(items.begin(), items.end(),
                      [&](const NamedItem& item) { return item.name == name; });
}

bool has_item(std::vector<NamedItem>& items, std::string_view name) {
  return find_item(items, name) != items.end();
}

NamedItem type_ref(std::string_view name) {
  return NamedItem{std::string(name), {}};
}

// Applies `edit` to every list of `kind` types that refers to declared types:
// each label's list and, for CHWALL, each conflict set's.
template <typename Edit>
void for_each_reference(acm::PolicyModel& model, TypeKind kind, Edit edit) {
  for (acm::Label& label : model.vm_labels)
    edit(*label_types(label, kind));
  for (acm::Label& label : model.resource_labels)
    edit(*label_types(label, kind));
  if (kind == TypeKind::chwall && model.chwall) {
    for (acm::ConflictSet& set : model.chwall->conflict_sets)
      edit(set.types);
  }
}

acm::Status unknown_label(LabelKind kind, std::string_view name) {
  return make_error(Errc::not_found, std::string("no ") + to_string(kind) + " label " + q(name));
}

acm::Status unknown_type(TypeKind kind, std::string_view name) {
  return make_error(Errc::not_found, std::string("no ") + to_string(kind) + " type " + q(name));
}

}  // namespace

const char* to_string(TypeKind kind) noexcept {
  return kind == TypeKind::ste ? "STE" : "CHWALL";
}

const char* to_string(LabelKind kind) noexcept {
  return kind == LabelKind::vm ? "VM" : "resource";
}

// --- loading and saving ---------------------------------------------------

void PolicyEditor::replace_all(acm::PolicyModel model, std::filesystem::path file) {
  current_ = std::move(model);
  file_ = std::move(file);
  loaded_ = true;
  undo_.clear();
  redo_.clear();
  current_id_ = next_id_++;
  saved_id_ = current_id_;
}

acm::Status PolicyEditor::load_file(const std::filesystem::path& path) {
  auto loaded = acm::xml::load_policy_file(path);
  if (!loaded) return tl::unexpected(loaded.error());
  replace_all(std::move(loaded->model), path);
  return {};
}

acm::Status PolicyEditor::load_text(std::string xml_text, std::string file_name) {
  auto loaded = acm::xml::load_policy_text(std::move(xml_text), file_name);
  if (!loaded) return tl::unexpected(loaded.error());
  replace_all(std::move(loaded->model), file_name);
  return {};
}

acm::Status PolicyEditor::reset(acm::PolicyModel model, std::filesystem::path file) {
  acm::Diagnostics findings = acm::check_policy(model);
  if (findings.has_errors()) {
    acm::Diagnostics errors;
    for (const acm::Diagnostic& d : findings.items()) {
      if (d.severity == acm::Severity::error) errors.add(d);
    }
    return tl::unexpected(errors.to_error(Errc::semantic_error));
  }
  replace_all(std::move(model), std::move(file));
  return {};
}

std::string PolicyEditor::xml() const {
  return acm::xml::write_policy(current_);
}

acm::Result<acm::CompiledPolicy> PolicyEditor::validate() const {
  if (auto ok = require_policy(); !ok) return tl::unexpected(ok.error());
  std::string text = xml();
  std::string name = file_.empty() ? std::string("policy.xml") : file_.string();
  auto loaded = acm::xml::load_policy_text(text, name);
  if (!loaded) return tl::unexpected(loaded.error());
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  return acm::compile_policy(loaded->model, std::span<const std::uint8_t>(bytes, text.size()));
}

acm::Status PolicyEditor::save(const std::filesystem::path& path) {
  auto valid = validate();
  if (!valid) return tl::unexpected(valid.error());
  if (auto ok = acm::write_file_atomic(path, std::string_view(xml())); !ok) return ok;
  file_ = path;
  mark_saved();
  return {};
}

acm::Diagnostics PolicyEditor::warnings() const {
  acm::Diagnostics out;
  if (!loaded_) return out;
  const acm::Diagnostics findings = acm::check_policy(current_);
  for (const acm::Diagnostic& d : findings.items()) {
    if (d.severity == acm::Severity::warning) out.add(d);
  }
  return out;
}

// --- the step machinery -----------------------------------------------------

acm::Status PolicyEditor::require_policy() const {
  if (!loaded_) return make_error(Errc::invalid_argument, "no policy is open");
  return {};
}

acm::Status PolicyEditor::commit(acm::PolicyModel next, std::string what) {
  if (next == current_) return {};
  acm::Diagnostics findings = acm::check_policy(next);
  if (findings.has_errors()) {
    // Each line names its own file and line; the error itself has none.
    std::string message = what + " is refused:";
    for (const acm::Diagnostic& d : findings.items()) {
      if (d.severity == acm::Severity::error) message += "\n" + d.to_string();
    }
    return make_error(Errc::semantic_error, std::move(message));
  }
  undo_.push_back(Step{std::move(current_), current_id_, std::move(what)});
  if (undo_.size() > kMaxUndoSteps) undo_.erase(undo_.begin());
  redo_.clear();
  current_ = std::move(next);
  current_id_ = next_id_++;
  return {};
}

std::string PolicyEditor::undo_description() const {
  return undo_.empty() ? std::string() : undo_.back().description;
}

std::string PolicyEditor::redo_description() const {
  return redo_.empty() ? std::string() : redo_.back().description;
}

acm::Status PolicyEditor::undo() {
  if (undo_.empty()) return make_error(Errc::invalid_argument, "nothing to undo");
  Step step = std::move(undo_.back());
  undo_.pop_back();
  redo_.push_back(Step{std::move(current_), current_id_, step.description});
  current_ = std::move(step.policy);
  current_id_ = step.id;
  return {};
}

acm::Status PolicyEditor::redo() {
  if (redo_.empty()) return make_error(Errc::invalid_argument, "nothing to redo");
  Step step = std::move(redo_.back());
  redo_.pop_back();
  undo_.push_back(Step{std::move(current_), current_id_, step.description});
  current_ = std::move(step.policy);
  current_id_ = step.id;
  return {};
}

// --- types ------------------------------------------------------------------

acm::Status PolicyEditor::add_type(TypeKind kind, std::string_view name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  std::vector<NamedItem>& types = kind == TypeKind::ste
                                      ? (next.ste ? *next.ste : next.ste.emplace()).types
                                      : (next.chwall ? *next.chwall : next.chwall.emplace()).types;
  if (has_item(types, name)) {
    return make_error(Errc::invalid_argument,
                      std::string(to_string(kind)) + " type " + q(name) + " already exists");
  }
  types.push_back(type_ref(name));
  return commit(std::move(next), std::string("Add ") + to_string(kind) + " type " + q(name));
}

acm::Status PolicyEditor::rename_type(TypeKind kind, std::string_view old_name,
                                      std::string_view new_name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  std::vector<NamedItem>* types = declared_types(next, kind);
  if (types == nullptr || !has_item(*types, old_name)) return unknown_type(kind, old_name);
  if (old_name == new_name) return {};
  if (has_item(*types, new_name)) {
    return make_error(Errc::invalid_argument,
                      std::string(to_string(kind)) + " type " + q(new_name) + " already exists");
  }
  find_item(*types, old_name)->name = std::string(new_name);
  for_each_reference(next, kind, [&](std::vector<NamedItem>& list) {
    for (NamedItem& ref : list) {
      if (ref.name == old_name) ref.name = std::string(new_name);
    }
  });
  return commit(std::move(next), std::string("Rename ") + to_string(kind) + " type " + q(old_name) +
                                     " to " + q(new_name));
}

acm::Status PolicyEditor::delete_type(TypeKind kind, std::string_view name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  std::vector<NamedItem>* types = declared_types(next, kind);
  if (types == nullptr || !has_item(*types, name)) return unknown_type(kind, name);
  types->erase(find_item(*types, name));
  for_each_reference(next, kind, [&](std::vector<NamedItem>& list) {
    std::erase_if(list, [&](const NamedItem& ref) { return ref.name == name; });
  });
  if (kind == TypeKind::chwall) {
    std::erase_if(next.chwall->conflict_sets,
                  [](const acm::ConflictSet& set) { return set.types.empty(); });
  }
  return commit(std::move(next), std::string("Delete ") + to_string(kind) + " type " + q(name));
}

// --- labels -----------------------------------------------------------------

acm::Status PolicyEditor::add_label(LabelKind kind, std::string_view name,
                                    const std::vector<std::string>& ste_types,
                                    const std::vector<std::string>& chwall_types) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  if (find_label(next, kind, name) != nullptr) {
    return make_error(Errc::invalid_argument,
                      std::string(to_string(kind)) + " label " + q(name) + " already exists");
  }
  acm::Label label;
  label.name = std::string(name);
  for (const std::string& t : ste_types) {
    if (!has_item(label.ste_types, t)) label.ste_types.push_back(type_ref(t));
  }
  for (const std::string& t : chwall_types) {
    if (!has_item(label.chwall_types, t)) label.chwall_types.push_back(type_ref(t));
  }
  labels_of(next, kind).push_back(std::move(label));
  if (kind == LabelKind::vm) next.has_subject_labels = true;
  if (kind == LabelKind::resource) next.has_object_labels = true;
  return commit(std::move(next), std::string("Add ") + to_string(kind) + " label " + q(name));
}

acm::Status PolicyEditor::rename_label(LabelKind kind, std::string_view old_name,
                                       std::string_view new_name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  acm::Label* label = find_label(next, kind, old_name);
  if (label == nullptr) return unknown_label(kind, old_name);
  if (old_name == new_name) return {};
  if (find_label(next, kind, new_name) != nullptr) {
    return make_error(Errc::invalid_argument,
                      std::string(to_string(kind)) + " label " + q(new_name) + " already exists");
  }
  label->name = std::string(new_name);
  if (kind == LabelKind::vm && next.bootstrap.name == old_name) {
    next.bootstrap.name = std::string(new_name);
  }
  return commit(std::move(next), std::string("Rename ") + to_string(kind) + " label " +
                                     q(old_name) + " to " + q(new_name));
}

acm::Status PolicyEditor::delete_label(LabelKind kind, std::string_view name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  if (find_label(next, kind, name) == nullptr) return unknown_label(kind, name);
  std::erase_if(labels_of(next, kind), [&](const acm::Label& l) { return l.name == name; });
  return commit(std::move(next), std::string("Delete ") + to_string(kind) + " label " + q(name));
}

acm::Status PolicyEditor::add_label_type(LabelKind kind, std::string_view label_name,
                                         TypeKind type_kind, std::string_view type) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  acm::Label* label = find_label(next, kind, label_name);
  if (label == nullptr) return unknown_label(kind, label_name);
  std::vector<NamedItem>& types = *label_types(*label, type_kind);
  if (has_item(types, type)) {
    return make_error(Errc::invalid_argument, std::string(to_string(kind)) + " label " +
                                                  q(label_name) + " already has " +
                                                  to_string(type_kind) + " type " + q(type));
  }
  types.push_back(type_ref(type));
  return commit(std::move(next), std::string("Add ") + to_string(type_kind) + " type " + q(type) +
                                     " to " + to_string(kind) + " label " + q(label_name));
}

acm::Status PolicyEditor::remove_label_type(LabelKind kind, std::string_view label_name,
                                            TypeKind type_kind, std::string_view type) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  acm::Label* label = find_label(next, kind, label_name);
  if (label == nullptr) return unknown_label(kind, label_name);
  std::vector<NamedItem>& types = *label_types(*label, type_kind);
  auto it = find_item(types, type);
  if (it == types.end()) {
    return make_error(Errc::not_found, std::string(to_string(kind)) + " label " + q(label_name) +
                                           " has no " + to_string(type_kind) + " type " + q(type));
  }
  types.erase(it);
  return commit(std::move(next), std::string("Remove ") + to_string(type_kind) + " type " +
                                     q(type) + " from " + to_string(kind) + " label " +
                                     q(label_name));
}

acm::Status PolicyEditor::replace_label_type(LabelKind kind, std::string_view label_name,
                                             TypeKind type_kind, std::string_view old_type,
                                             std::string_view new_type) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  acm::Label* label = find_label(next, kind, label_name);
  if (label == nullptr) return unknown_label(kind, label_name);
  std::vector<NamedItem>& types = *label_types(*label, type_kind);
  auto it = find_item(types, old_type);
  if (it == types.end()) {
    return make_error(Errc::not_found, std::string(to_string(kind)) + " label " + q(label_name) +
                                           " has no " + to_string(type_kind) + " type " +
                                           q(old_type));
  }
  if (old_type == new_type) return {};
  if (has_item(types, new_type)) {
    return make_error(Errc::invalid_argument, std::string(to_string(kind)) + " label " +
                                                  q(label_name) + " already has " +
                                                  to_string(type_kind) + " type " + q(new_type));
  }
  *it = type_ref(new_type);
  return commit(std::move(next), std::string("Replace ") + to_string(type_kind) + " type " +
                                     q(old_type) + " by " + q(new_type) + " in " + to_string(kind) +
                                     " label " + q(label_name));
}

// --- conflict sets ------------------------------------------------------------

acm::Result<std::size_t> PolicyEditor::add_conflict_set(std::string_view name,
                                                        const std::vector<std::string>& types) {
  if (auto ok = require_policy(); !ok) return tl::unexpected(ok.error());
  if (!current_.chwall) {
    return make_error(Errc::invalid_argument,
                      "the policy has no Chinese Wall types: add a CHWALL type first");
  }
  acm::PolicyModel next = current_;
  acm::ConflictSet set;
  set.name = std::string(name);
  for (const std::string& t : types) {
    if (!has_item(set.types, t)) set.types.push_back(type_ref(t));
  }
  next.chwall->conflict_sets.push_back(std::move(set));
  std::size_t index = next.chwall->conflict_sets.size() - 1;
  if (auto ok = commit(std::move(next), "Add conflict set " + q(name)); !ok) {
    return tl::unexpected(ok.error());
  }
  return index;
}

namespace {

acm::Result<acm::ConflictSet*> conflict_set(acm::PolicyModel& model, std::size_t index) {
  if (!model.chwall || index >= model.chwall->conflict_sets.size()) {
    return make_error(Errc::not_found, "no conflict set number " + std::to_string(index + 1));
  }
  return &model.chwall->conflict_sets[index];
}

}  // namespace

acm::Status PolicyEditor::rename_conflict_set(std::size_t index, std::string_view name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  auto set = conflict_set(next, index);
  if (!set) return tl::unexpected(set.error());
  std::string what = "Rename conflict set " + q((*set)->name) + " to " + q(name);
  (*set)->name = std::string(name);
  return commit(std::move(next), std::move(what));
}

acm::Status PolicyEditor::delete_conflict_set(std::size_t index) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  auto set = conflict_set(next, index);
  if (!set) return tl::unexpected(set.error());
  std::string what = "Delete conflict set " + q((*set)->name);
  next.chwall->conflict_sets.erase(next.chwall->conflict_sets.begin() +
                                   static_cast<std::ptrdiff_t>(index));
  return commit(std::move(next), std::move(what));
}

acm::Status PolicyEditor::add_conflict_members(std::size_t index,
                                               const std::vector<std::string>& types) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  auto set = conflict_set(next, index);
  if (!set) return tl::unexpected(set.error());
  bool added = false;
  for (const std::string& t : types) {
    if (has_item((*set)->types, t)) continue;
    (*set)->types.push_back(type_ref(t));
    added = true;
  }
  if (!added) {
    return make_error(Errc::invalid_argument,
                      "conflict set " + q((*set)->name) + " already has every selected type");
  }
  return commit(std::move(next), "Add types to conflict set " + q((*set)->name));
}

acm::Status PolicyEditor::remove_conflict_members(std::size_t index,
                                                  const std::vector<std::string>& types) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  auto set = conflict_set(next, index);
  if (!set) return tl::unexpected(set.error());
  for (const std::string& t : types) {
    auto it = find_item((*set)->types, t);
    if (it == (*set)->types.end()) {
      return make_error(Errc::not_found,
                        "conflict set " + q((*set)->name) + " has no type " + q(t));
    }
    (*set)->types.erase(it);
  }
  if ((*set)->types.empty()) {
    return make_error(Errc::invalid_argument, "conflict set " + q((*set)->name) +
                                                  " would be left empty: delete it instead");
  }
  return commit(std::move(next), "Remove types from conflict set " + q((*set)->name));
}

// --- bootstrap and header -------------------------------------------------------

acm::Status PolicyEditor::set_bootstrap(std::string_view vm_label) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  next.bootstrap.name = std::string(vm_label);
  next.has_subject_labels = true;
  return commit(std::move(next), "Set the bootstrap label to " + q(vm_label));
}

acm::Status PolicyEditor::set_policy_name(std::string_view name) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  next.header.name = std::string(name);
  return commit(std::move(next), "Set the policy name to " + q(name));
}

acm::Status PolicyEditor::set_version(std::string_view version) {
  if (auto ok = require_policy(); !ok) return ok;
  auto parsed = acm::PolicyVersion::parse(version);
  if (!parsed) return tl::unexpected(parsed.error());
  acm::PolicyModel next = current_;
  next.header.version = *parsed;
  return commit(std::move(next), "Set the version to " + parsed->to_string());
}

acm::Status PolicyEditor::set_from_policy(std::optional<acm::FromPolicy> from) {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  std::string what = from ? "Set FromPolicy to " + q(from->name) + " " + from->version.to_string()
                          : std::string("Remove FromPolicy");
  next.header.from_policy = std::move(from);
  return commit(std::move(next), std::move(what));
}

acm::Status PolicyEditor::make_update() {
  if (auto ok = require_policy(); !ok) return ok;
  acm::PolicyModel next = current_;
  next.header.from_policy = acm::FromPolicy{next.header.name, next.header.version};
  ++next.header.version.minor;
  return commit(std::move(next), "Make an update of " + q(current_.header.name) + " " +
                                     current_.header.version.to_string());
}

}  // namespace shype::ezpolicy
