#include "acm/semantic_check.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace shype::acm {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A policy name is a dotted path: it becomes a file path (a.b.c ->
// a/b/c-security_policy.xml), so nothing that could escape the policy
// directory is allowed.
bool valid_policy_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  bool part_empty = true;
  for (char c : name) {
    if (c == '.') {
      if (part_empty) return false;
      part_empty = true;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+';
    if (!ok) return false;
    part_empty = false;
  }
  return !part_empty;
}

class Checker {
 public:
  explicit Checker(const PolicyModel& model) : model_(model) {}

  Diagnostics run() {
    check_header();
    check_components();
    check_vm_labels();
    check_resource_labels();
    return std::move(out_);
  }

 private:
  SourceLocation at(const SourceLocation& where) const {
    if (!where.file.empty() || where.line != 0) return where;
    return SourceLocation{model_.source_file, 0, 0};
  }

  // Names of types and labels: non-empty, no ':' (it separates the parts of
  // a label string ACM:policy:label), no whitespace.
  void check_name(const std::string& name, const SourceLocation& where, const char* what) {
    if (name.empty()) {
      out_.error(at(where), std::string(what) + " name is empty");
      return;
    }
    if (name.find(':') != std::string::npos) {
      out_.error(at(where), std::string(what) + " name '" + name + "' contains ':'");
    }
    if (std::any_of(name.begin(), name.end(), is_space)) {
      out_.error(at(where), std::string(what) + " name '" + name + "' contains whitespace");
    }
  }

  void check_header() {
    const PolicyHeader& h = model_.header;
    if (!valid_policy_name(h.name)) {
      out_.error(at(h.where), "policy name '" + h.name +
                                  "' is not a dotted name of letters, digits, '_', '-' or '+'");
    }
    if (h.from_policy) {
      if (!valid_policy_name(h.from_policy->name)) {
        out_.error(at(h.where),
                   "FromPolicy name '" + h.from_policy->name + "' is not a valid policy name");
      }
      if (h.from_policy->name == h.name && !(h.from_policy->version < h.version)) {
        out_.error(at(h.where), "policy version " + h.version.to_string() +
                                    " must be greater than the version it updates (FromPolicy " +
                                    h.from_policy->version.to_string() + ")");
      }
    }
  }

  // Names are views into the model, which outlives the checker.
  using NameSet = std::unordered_set<std::string_view>;

  void declare_types(const std::vector<NamedItem>& types, NameSet& declared, const char* what) {
    std::unordered_map<std::string_view, const NamedItem*> first;
    first.reserve(types.size());
    declared.reserve(types.size());
    for (const auto& t : types) {
      check_name(t.name, t.where, what);
      auto [it, inserted] = first.emplace(t.name, &t);
      if (!inserted) {
        out_.error(at(t.where), std::string("duplicate ") + what + " '" + t.name +
                                    "' (first declared at " + at(it->second->where).to_string() +
                                    ")");
      }
      declared.insert(t.name);
    }
  }

  void check_components() {
    const bool has_ste = model_.ste && !model_.ste->types.empty();
    const bool has_chwall = model_.chwall && !model_.chwall->types.empty();
    if (!has_ste && !has_chwall) {
      out_.error(at(model_.header.where),
                 "policy defines neither Simple Type Enforcement nor Chinese Wall types");
    }
    if (model_.ste) declare_types(model_.ste->types, ste_types_, "STE type");
    if (model_.chwall) declare_types(model_.chwall->types, chwall_types_, "Chinese Wall type");

    if (model_.ste && model_.ste->primary && has_chwall) {
      out_.warning(at(model_.ste->where),
                   "priority of SimpleTypeEnforcement is ignored: a policy with Chinese Wall "
                   "types is always compiled with Chinese Wall as primary component");
    }
    if (!model_.chwall) return;
    const auto& sets = model_.chwall->conflict_sets;
    for (std::size_t index = 0; index < sets.size(); ++index) {
      const ConflictSet& set = sets[index];
      if (set.name.empty()) out_.error(at(set.where), "conflict set has no name");
      if (set.types.empty()) {
        out_.error(at(set.where), "conflict set '" + set.name + "' is empty");
        continue;
      }
      NameSet seen;
      for (const auto& t : set.types) {
        if (!chwall_types_.count(t.name)) {
          out_.error(at(t.where), "conflict set '" + set.name +
                                      "' names undeclared Chinese Wall type '" + t.name + "'");
        }
        if (!seen.insert(t.name).second) {
          out_.error(at(t.where),
                     "conflict set '" + set.name + "' names type '" + t.name + "' twice");
        } else {
          sets_with_type_[t.name].push_back(index);
        }
      }
      if (seen.size() == 1) {
        out_.warning(at(set.where), "conflict set '" + set.name +
                                        "' has a single type and can never deny a domain");
      }
    }
  }

  void check_label_types(const Label& label, const std::vector<NamedItem>& types,
                         const NameSet& declared, const char* kind) {
    for (const auto& t : types) {
      if (!declared.count(t.name)) {
        out_.error(at(t.where),
                   "label '" + label.name + "' uses undeclared " + kind + " '" + t.name + "'");
      }
    }
    if (types.size() < 2) return;
    // Labels hold a handful of types, except a few (Domain-0's) that hold
    // them all: sorting views finds repeats without a set per label.
    std::vector<const NamedItem*> sorted;
    sorted.reserve(types.size());
    for (const auto& t : types)
      sorted.push_back(&t);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const NamedItem* a, const NamedItem* b) { return a->name < b->name; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i]->name == sorted[i - 1]->name) {
        out_.error(at(sorted[i]->where),
                   "label '" + label.name + "' names " + kind + " '" + sorted[i]->name + "' twice");
      }
    }
  }

  void check_renames(const std::vector<Label>& labels, const char* kind) {
    std::unordered_map<std::string_view, const Label*> renamed_from;
    for (const auto& label : labels) {
      if (!label.from) continue;
      if (label.from->empty()) {
        out_.error(at(label.where),
                   std::string(kind) + " '" + label.name + "' has an empty 'from' attribute");
        continue;
      }
      auto [it, inserted] = renamed_from.emplace(*label.from, &label);
      if (!inserted) {
        out_.error(at(label.where), std::string(kind) + "s '" + it->second->name + "' and '" +
                                        label.name + "' are both renamed from '" + *label.from +
                                        "'");
      }
    }
  }

  void check_vm_labels() {
    std::unordered_map<std::string_view, const Label*> names;
    names.reserve(model_.vm_labels.size());
    for (const auto& label : model_.vm_labels) {
      check_name(label.name, label.where, "VM label");
      auto [it, inserted] = names.emplace(label.name, &label);
      if (!inserted) {
        out_.error(at(label.where), "duplicate VM label '" + label.name + "' (first defined at " +
                                        at(it->second->where).to_string() + ")");
      }
      if (label.name == kNullLabel || label.name == kInaccessible) {
        out_.error(at(label.where),
                   "'" + label.name + "' is a reserved name and cannot be a VM label");
      }
      check_label_types(label, label.ste_types, ste_types_, "STE type");
      check_label_types(label, label.chwall_types, chwall_types_, "Chinese Wall type");
      if (label.ste_types.empty()) {
        out_.warning(at(label.where),
                     "VM label '" + label.name + "' has no STE type and can share with nothing");
      }
      check_conflicting_types(label);
    }
    check_renames(model_.vm_labels, "VM label");

    const NamedItem& boot = model_.bootstrap;
    if (!model_.has_subject_labels) {
      out_.error(at(model_.header.where),
                 "policy has no SubjectLabels, so there is no bootstrap label for Domain-0");
    } else if (boot.name.empty()) {
      out_.error(at(boot.where), "bootstrap label is missing");
    } else if (!names.count(boot.name)) {
      out_.error(at(boot.where), "bootstrap label '" + boot.name + "' is not a VM label");
    } else if (boot.name == kUnlabeled) {
      out_.error(at(boot.where), "bootstrap label cannot be '" + std::string(kUnlabeled) + "'");
    }
  }

  // Manual 10.3.3: "It is illegal to define labels including conflicting
  // Chinese Wall types" - two types of one conflict set in one label. Looks
  // only at the sets that name one of the label's types.
  void check_conflicting_types(const Label& label) {
    if (!model_.chwall || label.chwall_types.size() < 2) return;
    std::unordered_map<std::size_t, std::vector<std::string_view>>
        hits;  // set -> label types in it
    NameSet own;
    for (const auto& t : label.chwall_types) {
      if (!own.insert(t.name).second) continue;
      auto it = sets_with_type_.find(t.name);
      if (it == sets_with_type_.end()) continue;
      for (std::size_t set : it->second)
        hits[set].push_back(t.name);
    }
    std::vector<std::size_t> conflicting;
    for (const auto& [set, types] : hits) {
      if (types.size() >= 2) conflicting.push_back(set);
    }
    std::sort(conflicting.begin(), conflicting.end());  // report in document order
    for (std::size_t set : conflicting) {
      const auto& types = hits[set];
      out_.error(at(label.where), "VM label '" + label.name + "' holds Chinese Wall types '" +
                                      std::string(types[0]) + "' and '" + std::string(types[1]) +
                                      "' of conflict set '" +
                                      model_.chwall->conflict_sets[set].name + "'");
    }
  }

  void check_resource_labels() {
    std::unordered_map<std::string_view, const Label*> names;
    names.reserve(model_.resource_labels.size());
    for (const auto& label : model_.resource_labels) {
      check_name(label.name, label.where, "resource label");
      auto [it, inserted] = names.emplace(label.name, &label);
      if (!inserted) {
        out_.error(at(label.where), "duplicate resource label '" + label.name +
                                        "' (first defined at " + at(it->second->where).to_string() +
                                        ")");
      }
      if (label.name == kNullLabel || label.name == kInaccessible) {
        out_.error(at(label.where),
                   "'" + label.name + "' is a reserved name and cannot be a resource label");
      }
      if (!label.chwall_types.empty()) {
        out_.error(at(label.where),
                   "resource label '" + label.name +
                       "' has Chinese Wall types; resource labels carry STE types only");
      }
      if (label.ste_types.size() != 1) {
        out_.error(at(label.where), "resource label '" + label.name +
                                        "' must have exactly one STE type (has " +
                                        std::to_string(label.ste_types.size()) + ")");
      }
      check_label_types(label, label.ste_types, ste_types_, "STE type");
    }
    check_renames(model_.resource_labels, "resource label");
    check_unlabeled_resource();
  }

  // Unlabeled resources are decided with STE row 0, the VM label
  // __UNLABELED__ (Xen's numbering, numbering.hpp). A resource label
  // __UNLABELED__ whose types differ from that row would silently not mean
  // what it says.
  void check_unlabeled_resource() {
    const Label* res = model_.find_resource_label(kUnlabeled);
    if (!res) return;
    const Label* vm = model_.find_vm_label(kUnlabeled);
    auto names = [](const Label* l) {
      std::vector<std::string_view> out;
      if (l) {
        for (const auto& t : l->ste_types)
          out.push_back(t.name);
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    if (names(res) != names(vm)) {
      out_.warning(at(res->where), std::string("resource label '") + std::string(kUnlabeled) +
                                       "' is decided with the STE types of the VM label '" +
                                       std::string(kUnlabeled) + "' (" +
                                       (vm ? "which differ" : "which this policy does not define") +
                                       "); its own types are ignored");
    }
  }

  const PolicyModel& model_;
  Diagnostics out_;
  NameSet ste_types_;
  NameSet chwall_types_;
  // CHWALL type -> indexes of the conflict sets naming it.
  std::unordered_map<std::string_view, std::vector<std::size_t>> sets_with_type_;
};

}  // namespace

Diagnostics check_policy(const PolicyModel& model) {
  return Checker(model).run();
}

}  // namespace shype::acm
