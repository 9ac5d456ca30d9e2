// A resource label as the store keeps it (reference xen-acm-tools.md 2.3,
// 2.4): policy type, policy name, label name. Printed "ACM:mytest:A-Bank";
// a label invalidated by a policy change or reset is "INV_ACM:mytest:A-Bank"
// (it keeps its old policy and label names so it can be relabeled later);
// "ACM:*:__INACCESSIBLE__" makes a resource unusable by every domain.
// Whether a label exists in a policy is xend's question, not this type's.
#pragma once

#include <string>
#include <string_view>

#include "acm/error.hpp"

namespace shype::resources {

using acm::Result;

enum class LabelType {
  acm,      // "ACM"
  inv_acm,  // "INV_ACM": invalidated by a policy change (tools 5.7, 5.8)
};

[[nodiscard]] std::string_view label_type_name(LabelType type) noexcept;

// The policy name Xen stored with __INACCESSIBLE__ (tools 1.3).
inline constexpr std::string_view kAnyPolicy = "*";
inline constexpr std::string_view kInaccessibleLabel = "__INACCESSIBLE__";

struct ResourceLabel {
  LabelType type = LabelType::acm;
  std::string policy;
  std::string label;

  // "ACM:mytest:A-Bank", "INV_ACM:mytest:A-Bank".
  [[nodiscard]] std::string to_string() const;

  // ACM:*:__INACCESSIBLE__.
  [[nodiscard]] static ResourceLabel inaccessible();

  // The same label marked invalid (INV_ACM, same policy and label names).
  [[nodiscard]] ResourceLabel invalidated() const;

  // "<type>:<policy>:<label>" with type ACM or INV_ACM, exactly three parts,
  // none empty (":" is forbidden in policy and label names, Xen's
  // XSERR_BAD_LABEL). invalid_argument naming the text otherwise.
  [[nodiscard]] static Result<ResourceLabel> parse(std::string_view text);

  // The same rules for a label built field by field.
  [[nodiscard]] acm::Status validate() const;

  friend bool operator==(const ResourceLabel&, const ResourceLabel&) = default;
};

}  // namespace shype::resources
