// Writes a PolicyModel as XML security policy text (the inverse of the
// reader, for ezPolicy, policy generators and `acmtool` conversions).
#pragma once

#include <string>

#include "acm/policy_model.hpp"

namespace shype::acm::xml {

// Canonical form: UTF-8, an XML declaration, the root in the policy
// namespace (xmlns="http://www.ibm.com"), elements in schema order, four
// spaces of indentation per level, text XML-escaped by libxml2's writer.
// The output depends only on the model (never on source locations), so
// writing a model twice gives identical bytes.
//
// What is written: the header fields that are present; each component that
// is present (priority="PrimaryPolicyComponent" iff primary), ConflictSets
// only if there are conflict sets; SubjectLabels (with bootstrap) if
// has_subject_labels or there are VM labels, ObjectLabels likewise; a
// label's SimpleTypeEnforcementTypes / ChineseWallTypes only if non-empty.
//
// Round trip: for every model m that load_policy_text accepts,
// load_policy_text(write_policy(m)) succeeds and its model == m.
// Precondition for that: every string is valid UTF-8 without NUL or other
// characters XML 1.0 cannot carry (true of every model read from XML).
//
// Thread-safe. Throws std::bad_alloc if libxml2 runs out of memory.
[[nodiscard]] std::string write_policy(const PolicyModel& model);

}  // namespace shype::acm::xml
