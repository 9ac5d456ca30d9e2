// Checks a policy model for everything the schema cannot express (and, since
// models also come from ezPolicy and generators, everything it can): every
// finding names the file and line of the offending element, and all findings
// are reported together.
#pragma once

#include "acm/diagnostics.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm {

// Errors:
//  - policy name empty, or not a dotted name of [A-Za-z0-9_+-] parts
//  - a type, label or conflict-set name that is empty, contains ':' or whitespace
//  - duplicate STE types, CHWALL types, VM label names or resource label names
//  - a label or conflict set naming an undeclared STE or CHWALL type
//  - bootstrap missing, naming no VM label, or naming __UNLABELED__
//  - a VM label with two CHWALL types of one conflict set (manual 10.3.3)
//  - a resource label with CHWALL types, or with other than one STE type
//  - an empty conflict set, or one without a name
//  - a reserved name used as a label (__NULL_LABEL__; __INACCESSIBLE__)
//  - FromPolicy naming this policy with a version not lower than Version
//  - two labels renamed from the same old name
// Warnings (reported, not fatal):
//  - a conflict set with a single type (it can never deny)
//  - a VM label with no STE type (it can share with nothing)
//  - STE types or CHWALL types components both marked primary, or STE marked
//    primary while Chinese Wall types exist (the compiled order is CHWALL, STE)
[[nodiscard]] Diagnostics check_policy(const PolicyModel& model);

}  // namespace shype::acm
