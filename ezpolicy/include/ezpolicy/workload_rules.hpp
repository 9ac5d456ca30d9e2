// The rules a workload definition obeys (reference xen-acm-tools.md 7.4),
// as checks that return the reason for a refusal. WorkloadEditor applies
// them to every change and the .wld reader to every file, so a definition
// that passes them always translates into a policy the policy core accepts.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "acm/error.hpp"
#include "ezpolicy/workload.hpp"

namespace shype::ezpolicy {

// An organization or department name: not empty, no '.' (it separates
// organization and department in a type name), not SystemManagement, valid
// UTF-8 without control characters, and a name the policy core accepts as a
// type and label name (acm::check_policy: no ':' or whitespace, not a
// reserved label name such as __NULL_LABEL__). Errc::invalid_argument with
// the reason.
[[nodiscard]] acm::Status check_workload_name(std::string_view name);

// A complete workload type ("Org" or "Org.Dept"), as the policy will hold it:
// the rules above for each part, and at most acm::kMaxNameLength bytes.
[[nodiscard]] acm::Status check_workload_type_name(std::string_view type);

// A rule name: may be empty (the translation names it RER); otherwise valid
// UTF-8 without control characters, single spaces only between words (the
// policy keeps conflict-set names as XML tokens), and whatever else the
// policy core's checks require of a conflict-set name.
[[nodiscard]] acm::Status check_rule_name(std::string_view name);

// A selection of workload types for a rule: at least one; every type exists
// in `definition` (Errc::not_found otherwise); no organization together with
// one of its own departments ("Invalid Selection [ Org, Org.Dept ]").
// Repeated types are allowed (they count once).
[[nodiscard]] acm::Status check_selection(const WorkloadDefinition& definition,
                                          std::span<const std::string> types);

// The whole definition: names valid, organizations unique, departments
// unique within their organization, every rule's name valid and its members
// a valid, non-empty, sorted and unique selection. The first problem found.
[[nodiscard]] acm::Status check_definition(const WorkloadDefinition& definition);

}  // namespace shype::ezpolicy
