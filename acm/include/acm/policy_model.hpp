// The policy as an administrator wrote it (manual 10.3, Figures 10.3-10.7):
// header, STE types, Chinese Wall types and conflict sets, VM and resource
// labels. No XML here: the XML front end (acm/xml) fills this model in, and
// so can ezPolicy or a generator. Every element remembers where it came from
// so that checks can name file and line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_version.hpp"

namespace shype::acm {

// Reserved names (reference xen-acm-tools.md 2.4).
inline constexpr std::string_view kUnlabeled = "__UNLABELED__";
inline constexpr std::string_view kNullLabel = "__NULL_LABEL__";
inline constexpr std::string_view kInaccessible = "__INACCESSIBLE__";
inline constexpr std::string_view kDefaultPolicyName = "DEFAULT";
// The XML namespace of security policies.
inline constexpr std::string_view kPolicyNamespace = "http://www.ibm.com";

// A name (type, label, bootstrap reference) and where it was written.
struct NamedItem {
  std::string name;
  SourceLocation where;

  friend bool operator==(const NamedItem& a, const NamedItem& b) { return a.name == b.name; }
};

struct FromPolicy {
  std::string name;
  PolicyVersion version;
  friend bool operator==(const FromPolicy&, const FromPolicy&) = default;
};

struct PolicyHeader {
  std::string name;  // dotted policy name, e.g. "example.test"
  std::optional<std::string> url;
  std::optional<std::string> reference;
  std::optional<std::string> date;
  std::optional<std::string> namespace_url;
  PolicyVersion version;
  std::optional<FromPolicy> from_policy;  // present in update policies
  SourceLocation where;

  friend bool operator==(const PolicyHeader& a, const PolicyHeader& b) {
    return a.name == b.name && a.url == b.url && a.reference == b.reference && a.date == b.date &&
           a.namespace_url == b.namespace_url && a.version == b.version &&
           a.from_policy == b.from_policy;
  }
};

// A VirtualMachineLabel or a ResourceLabel.
struct Label {
  std::string name;
  std::optional<std::string> from;  // old name when an update renames the label
  std::vector<NamedItem> ste_types;
  std::vector<NamedItem> chwall_types;  // always empty for resource labels
  SourceLocation where;

  friend bool operator==(const Label& a, const Label& b) {
    return a.name == b.name && a.from == b.from && a.ste_types == b.ste_types &&
           a.chwall_types == b.chwall_types;
  }
};

struct ConflictSet {
  std::string name;
  std::vector<NamedItem> types;
  SourceLocation where;

  friend bool operator==(const ConflictSet& a, const ConflictSet& b) {
    return a.name == b.name && a.types == b.types;
  }
};

struct SimpleTypeEnforcementComponent {
  bool primary = false;  // priority="PrimaryPolicyComponent"
  std::vector<NamedItem> types;
  SourceLocation where;
  friend bool operator==(const SimpleTypeEnforcementComponent& a,
                         const SimpleTypeEnforcementComponent& b) {
    return a.primary == b.primary && a.types == b.types;
  }
};

struct ChineseWallComponent {
  bool primary = false;
  std::vector<NamedItem> types;
  std::vector<ConflictSet> conflict_sets;
  SourceLocation where;
  friend bool operator==(const ChineseWallComponent& a, const ChineseWallComponent& b) {
    return a.primary == b.primary && a.types == b.types && a.conflict_sets == b.conflict_sets;
  }
};

// Equality ignores source locations, so a policy that is written and read
// again compares equal to the original.
struct PolicyModel {
  std::string source_file;  // for messages; not part of the policy
  PolicyHeader header;
  std::optional<SimpleTypeEnforcementComponent> ste;
  std::optional<ChineseWallComponent> chwall;
  bool has_subject_labels = false;  // <SubjectLabels> present
  NamedItem bootstrap;              // the bootstrap attribute of SubjectLabels
  std::vector<Label> vm_labels;
  bool has_object_labels = false;  // <ObjectLabels> present
  std::vector<Label> resource_labels;

  friend bool operator==(const PolicyModel& a, const PolicyModel& b) {
    return a.header == b.header && a.ste == b.ste && a.chwall == b.chwall &&
           a.has_subject_labels == b.has_subject_labels && a.bootstrap == b.bootstrap &&
           a.vm_labels == b.vm_labels && a.has_object_labels == b.has_object_labels &&
           a.resource_labels == b.resource_labels;
  }

  [[nodiscard]] const Label* find_vm_label(std::string_view name) const;
  [[nodiscard]] const Label* find_resource_label(std::string_view name) const;
};

// "a.b.c" -> "a/b/c-security_policy.xml" (manual 10.3.1; dots, not colons).
[[nodiscard]] std::string policy_file_path(std::string_view policy_name);

}  // namespace shype::acm
