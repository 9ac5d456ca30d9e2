#include "ezpolicy/workload_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include "acm/binary_policy.hpp"
#include "acm/policy_model.hpp"
#include "acm/semantic_check.hpp"

namespace shype::ezpolicy {
namespace {

using acm::Errc;
using acm::make_error;

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
// with no control characters and none of the non-characters XML 1.0 cannot
// carry: what the policy writer requires of every string.
bool is_xml_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    std::uint32_t code = 0;
    std::size_t length = 0;
    if (lead < 0x80) {
      code = lead;
      length = 1;
    } else if ((lead & 0xE0) == 0xC0) {
      code = lead & 0x1Fu;
      length = 2;
    } else if ((lead & 0xF0) == 0xE0) {
      code = lead & 0x0Fu;
      length = 3;
    } else if ((lead & 0xF8) == 0xF0) {
      code = lead & 0x07u;
      length = 4;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF) return false;
    if (code >= 0xD800 && code <= 0xDFFF) return false;
    if (code < 0x20 || code == 0x7F || (code >= 0x80 && code < 0xA0)) return false;
    if (code == 0xFFFE || code == 0xFFFF) return false;
    i += length;
  }
  return true;
}

acm::NamedItem item(std::string_view name) {
  return acm::NamedItem{std::string(name), {}};
}

// Asks the policy core whether `name` can be a type and a VM, resource and
// conflict-set name: a one-workload policy shaped like a translation is
// checked with acm::check_policy and its first error is the reason.
acm::Status policy_core_accepts(std::string_view name, bool as_rule_name) {
  acm::PolicyModel probe;
  probe.header.name = "probe";
  probe.header.version = acm::PolicyVersion{1, 0};
  const std::string type = as_rule_name ? std::string("probe_type") : std::string(name);
  probe.ste = acm::SimpleTypeEnforcementComponent{false, {item(kSystemManagement), item(type)}, {}};
  acm::ChineseWallComponent chwall{true, {item(kSystemManagement), item(type)}, {}, {}};
  if (as_rule_name) {
    chwall.conflict_sets.push_back(
        acm::ConflictSet{std::string(name), {item(kSystemManagement), item(type)}, {}});
  }
  probe.chwall = std::move(chwall);
  probe.has_subject_labels = true;
  probe.bootstrap = item(kSystemManagement);
  probe.vm_labels.push_back(acm::Label{std::string(kSystemManagement),
                                       std::nullopt,
                                       {item(kSystemManagement), item(type)},
                                       {item(kSystemManagement)},
                                       {}});
  probe.vm_labels.push_back(acm::Label{type, std::nullopt, {item(type)}, {item(type)}, {}});
  probe.has_object_labels = true;
  probe.resource_labels.push_back(acm::Label{type, std::nullopt, {item(type)}, {}, {}});
  const acm::Diagnostics findings = acm::check_policy(probe);
  for (const acm::Diagnostic& finding : findings.items()) {
    if (finding.severity == acm::Severity::error) {
      return make_error(Errc::invalid_argument, finding.message);
    }
  }
  return {};
}

std::string quote_name(std::string_view name) {
  return "'" + std::string(name) + "'";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

acm::Status check_workload_name(std::string_view name) {
  if (name.empty()) return make_error(Errc::invalid_argument, "a workload name cannot be empty");
  if (name.find('.') != std::string_view::npos) {
    return make_error(Errc::invalid_argument,
                      "workload name " + quote_name(name) +
                          " contains '.', which separates organization and department in a "
                          "workload type (Org.Dept)");
  }
  if (name == kSystemManagement) {
    return make_error(Errc::invalid_argument,
                      "workload name 'SystemManagement' is reserved for Domain-0's label");
  }
  if (!is_xml_text(name)) {
    return make_error(Errc::invalid_argument, "workload name " + quote_name(name) +
                                                  " is not UTF-8 text without control characters");
  }
  if (name.size() > acm::kMaxNameLength) {
    return make_error(Errc::invalid_argument, "workload name is longer than " +
                                                  std::to_string(acm::kMaxNameLength) + " bytes");
  }
  if (auto accepted = policy_core_accepts(name, false); !accepted) {
    return make_error(Errc::invalid_argument,
                      "workload name " + quote_name(name) +
                          " cannot be used in a policy: " + accepted.error().message);
  }
  return {};
}

acm::Status check_workload_type_name(std::string_view type) {
  const std::string_view org = organization_of(type);
  if (auto ok = check_workload_name(org); !ok) return ok;
  if (is_department_type(type)) {
    if (auto ok = check_workload_name(type.substr(org.size() + 1)); !ok) return ok;
  }
  if (type.size() > acm::kMaxNameLength) {
    return make_error(Errc::invalid_argument, "workload type " + quote_name(type) +
                                                  " is longer than " +
                                                  std::to_string(acm::kMaxNameLength) + " bytes");
  }
  return {};
}

acm::Status check_rule_name(std::string_view name) {
  if (name.empty()) return {};
  if (!is_xml_text(name)) {
    return make_error(Errc::invalid_argument, "rule name " + quote_name(name) +
                                                  " is not UTF-8 text without control characters");
  }
  if (name.size() > acm::kMaxNameLength) {
    return make_error(Errc::invalid_argument,
                      "rule name is longer than " + std::to_string(acm::kMaxNameLength) + " bytes");
  }
  // The policy holds conflict-set names as XML tokens (whitespace
  // collapsed): a name must already be one to come back unchanged.
  if (name.front() == ' ' || name.back() == ' ' || name.find("  ") != std::string_view::npos) {
    return make_error(
        Errc::invalid_argument,
        "rule name " + quote_name(name) +
            " has leading, trailing or repeated spaces, which a policy does not keep");
  }
  if (auto accepted = policy_core_accepts(name, true); !accepted) {
    return make_error(Errc::invalid_argument,
                      "rule name " + quote_name(name) +
                          " cannot be used in a policy: " + accepted.error().message);
  }
  return {};
}

acm::Status check_selection(const WorkloadDefinition& definition,
                            std::span<const std::string> types) {
  if (types.empty()) {
    return make_error(Errc::invalid_argument,
                      "select at least one organization or department workload first");
  }
  for (const std::string& type : types) {
    if (!definition.has_workload_type(type)) {
      return make_error(Errc::not_found, "no workload type " + quote_name(type));
    }
  }
  const std::set<std::string> unique(types.begin(), types.end());
  for (const std::string& type : unique) {
    if (!is_department_type(type)) continue;
    const std::string org(organization_of(type));
    if (unique.count(org) != 0) {
      return make_error(Errc::invalid_argument,
                        "invalid selection [ " + join({org, type}) +
                            " ]: an organization and one of its own departments cannot be in "
                            "one run-time exclusion rule; choose either the organization or "
                            "specific departments");
    }
  }
  return {};
}

acm::Status check_definition(const WorkloadDefinition& definition) {
  std::set<std::string_view> organizations;
  for (const Organization& org : definition.organizations) {
    if (auto ok = check_workload_name(org.name); !ok) return ok;
    if (!organizations.insert(org.name).second) {
      return make_error(Errc::invalid_argument,
                        "organization " + quote_name(org.name) + " is defined twice");
    }
    std::set<std::string_view> departments;
    for (const std::string& dept : org.departments) {
      if (auto ok = check_workload_type_name(workload_type(org.name, dept)); !ok) return ok;
      if (!departments.insert(dept).second) {
        return make_error(Errc::invalid_argument, "organization " + quote_name(org.name) +
                                                      " has department " + quote_name(dept) +
                                                      " twice");
      }
    }
  }
  for (const ExclusionRule& rule : definition.rules) {
    if (auto ok = check_rule_name(rule.name); !ok) return ok;
    if (auto ok = check_selection(definition, rule.members); !ok) {
      return make_error(ok.error().code,
                        "rule " + quote_name(rule.name) + ": " + ok.error().message);
    }
    if (!std::is_sorted(rule.members.begin(), rule.members.end()) ||
        std::adjacent_find(rule.members.begin(), rule.members.end()) != rule.members.end()) {
      return make_error(Errc::invalid_argument,
                        "rule " + quote_name(rule.name) + ": members are not sorted and unique");
    }
  }
  return {};
}

}  // namespace shype::ezpolicy
