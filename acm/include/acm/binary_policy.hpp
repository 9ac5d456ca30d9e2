// Binary policies in either format, and the validate pass every reader runs.
//
// Two formats carry a PolicyImage (docs/binary-policy.md):
//  - BinaryFormat::xen      Xen 3.3/3.4's policy format version 4 (big-endian,
//                           dense 0/1 matrices); what Xen's tools and
//                           hypervisor exchange. See xen_format.hpp.
//  - BinaryFormat::compact  shype's own little-endian sectioned format with
//                           sparse rows, names and a SHA-256. See
//                           compact_format.hpp.
//
// Reading is strict: every count and offset is checked before it is used,
// and the result then passes validate_image (STYLE.md rule 6: decode, then a
// separate validate pass over every index and count).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_image.hpp"

namespace shype::acm {

enum class BinaryFormat { xen, compact };

[[nodiscard]] const char* binary_format_name(BinaryFormat format) noexcept;  // "xen", "compact"

// Recognizes a format by its magic alone (Xen: bytes 00 01 de bc; compact:
// "SHYPEPOL"); nothing else is checked. nullopt if neither matches.
[[nodiscard]] std::optional<BinaryFormat> detect_binary_format(
    std::span<const std::uint8_t> bytes) noexcept;

// Detects the format and reads it. On success *detected (if given) is set.
// Errors: Errc::malformed_binary (not a policy, truncated, inconsistent),
// Errc::limit_exceeded (a count beyond policy_image.hpp's limits),
// Errc::unsupported (a format version this build does not read).
[[nodiscard]] Result<PolicyImage> read_binary_policy(std::span<const std::uint8_t> bytes,
                                                     BinaryFormat* detected = nullptr);

// Writes an image in the given format.
// Precondition: validate_image(image) succeeds (and, for Xen's format, the
// dense matrices fit in the format's 32-bit length: see xen_policy_size).
// A violated precondition is a caller bug and throws std::invalid_argument.
[[nodiscard]] std::vector<std::uint8_t> write_binary_policy(const PolicyImage& image,
                                                            BinaryFormat format);

// The validate pass. Checks that an image is one the decision engine and the
// writers can use without further checks:
//  - policy name: 1..kMaxPolicyNameLength printable ASCII characters, no space
//  - codes: primary/secondary one of CHWALL+STE, STE+CHWALL, STE+NULL,
//    CHWALL+NULL; an absent component has no types and no rows
//  - type counts <= kMaxTypes, rows <= kMaxRows, conflict sets <= kMaxConflictSets
//  - vm_label_count >= 2 (row 0 = unlabeled, row 1 = bootstrap/Domain-0)
//  - CHWALL present: CHWALL label rows == vm_label_count;
//    STE present: STE rows >= vm_label_count (the rest are resource labels)
//  - every row strictly ascending with every type < its component's type count
//  - every conflict set non-empty
//  - names (if present): ste_types.size() == ste_type_count,
//    chwall_types.size() == chwall_type_count, vm_labels.size() == vm_label_count,
//    resource_labels.size() == STE rows - vm_label_count (0 without STE),
//    conflict_sets.size() == conflict set count; every name 1..kMaxNameLength
//    bytes of valid UTF-8 without control characters or whitespace (the .map
//    file and "ACM:policy:label" strings are whitespace/colon separated);
//    no duplicate within ste_types, chwall_types, vm_labels, resource_labels
//    (conflict sets may share a name, as in Xen's mytest policy).
// Errors: Errc::malformed_binary, or Errc::limit_exceeded for the limits.
[[nodiscard]] Status validate_image(const PolicyImage& image);

// Longest type, label or conflict-set name a binary policy may carry.
inline constexpr std::size_t kMaxNameLength = 4096;

// Name checks shared by the readers and validate_image. On failure the
// message is a predicate to append to a description of the name, e.g.
// "policy name " + message -> "policy name is empty".
//  - policy names: 1..kMaxPolicyNameLength printable ASCII bytes, no space;
//  - other names: 1..kMaxNameLength bytes of UTF-8, no ASCII control or space.
[[nodiscard]] Status check_binary_policy_name(std::string_view name);
[[nodiscard]] Status check_binary_name(std::string_view name);

// Is this primary/secondary pair one shype supports? (See validate_image.)
[[nodiscard]] bool supported_combination(PolicyCode primary, PolicyCode secondary) noexcept;

}  // namespace shype::acm
