// shype's compact binary policy format, version 1.0 (docs/binary-policy.md).
//
// Xen's format stores every label as a dense row of 16-bit cells, one per
// type: 10,000 labels x 10,000 types is 200 MB per component. This format
// stores each label as the sorted list of its types (compressed sparse rows),
// so the same policy with a few types per label takes a few hundred KB, and
// it carries the names that Xen kept in a separate .map file.
//
// Little-endian throughout. Layout:
//   header (64 bytes)
//     0  u8[8]  magic "SHYPEPOL"
//     8  u16    format major (1; another major is rejected as unsupported)
//    10  u16    format minor (0; a higher minor is read: it may only add
//                             sections flagged optional)
//    12  u32    header size (64)
//    16  u64    total length of the file
//    24  u32    section count (1..kMaxSections)
//    28  u32    flags (0; none defined)
//    32  u8[32] SHA-256 of the whole file with these 32 bytes taken as zero
//   section table: section count entries of 24 bytes, ids strictly ascending
//     u32 id, u32 flags (bit 0: optional), u64 offset, u64 length
//   sections, in table order, each starting at the 8-aligned end of the one
//   before (the first right after the table), zero padding between and at the
//   end of the file; a section's length excludes its padding:
//     1 META   (required) codes, XML version and SHA-1, VM label count, name
//     2 STE    (iff a component is STE) type count, CSR label rows
//     3 CHWALL (iff a component is CHWALL) type count, CSR label rows, CSR
//              conflict sets
//     4 NAMES  (optional) the five PolicyNames lists, each front-coded (a
//              name stores how many bytes it shares with the one before)
// Field tables for every section are in docs/binary-policy.md.
//
// The reader is strict and canonical: everything the writer would write
// differently is rejected (padding, order, reserved fields, flags, unused or
// non-maximal shared prefixes), so re-writing what was read gives identical bytes unless
// the file had a newer minor version or skipped optional sections.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "acm/binary_policy.hpp"
#include "acm/error.hpp"
#include "acm/policy_image.hpp"

namespace shype::acm::compact {

inline constexpr std::array<std::uint8_t, 8> kMagic{'S', 'H', 'Y', 'P', 'E', 'P', 'O', 'L'};
inline constexpr std::uint16_t kFormatMajor = 1;
inline constexpr std::uint16_t kFormatMinor = 0;
inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kDigestOffset = 32;
inline constexpr std::size_t kDigestSize = 32;
inline constexpr std::size_t kSectionEntrySize = 24;
inline constexpr std::size_t kSectionAlignment = 8;
inline constexpr std::uint32_t kMaxSections = 64;
inline constexpr std::uint32_t kSectionOptional = 1u << 0;

enum class SectionId : std::uint32_t { meta = 1, ste = 2, chwall = 3, names = 4 };

// Fixed parts of the sections (bytes before their arrays).
inline constexpr std::size_t kMetaFixedSize = 48;
inline constexpr std::size_t kSteFixedSize = 16;
inline constexpr std::size_t kChwallFixedSize = 24;
inline constexpr std::size_t kNamesFixedSize = 24;
// A NAMES entry: u16 shared prefix length, u16 suffix length, suffix bytes
// (possibly none: a name that is a prefix of the one before).
inline constexpr std::size_t kMinNameEntrySize = 4;

static_assert(kHeaderSize == 8 + 2 + 2 + 4 + 8 + 4 + 4 + kDigestSize);
static_assert(kDigestOffset + kDigestSize == kHeaderSize);
static_assert(kSectionEntrySize == 4 + 4 + 8 + 8);
static_assert(kHeaderSize % kSectionAlignment == 0 && kSectionEntrySize % kSectionAlignment == 0,
              "sections start 8-aligned right after the table");
static_assert(kMetaFixedSize == std::size_t{6} * 4 + 20 + 4);
static_assert(kSteFixedSize == std::size_t{4} * 4);
static_assert(kChwallFixedSize == std::size_t{6} * 4);
static_assert(kNamesFixedSize == std::size_t{6} * 4);
// Shared and suffix lengths are u16.
static_assert(kMaxNameLength <= 65535);
// Type indexes are stored as u16.
static_assert(kMaxTypes <= 65536);

}  // namespace shype::acm::compact

namespace shype::acm {

// Writes format 1.0. Sections: META, STE/CHWALL as the codes say, NAMES if
// image.names is set (flagged optional: a reader that does not know it may
// skip it; decisions never need names).
// Precondition: validate_image(image) succeeds; otherwise throws
// std::invalid_argument.
[[nodiscard]] std::vector<std::uint8_t> write_compact_policy(const PolicyImage& image);

// What a successful read found besides the image.
struct CompactPolicyInfo {
  std::uint16_t format_minor = 0;
  std::uint32_t skipped_sections = 0;  // unknown sections flagged optional
};

// Strict reader: checks magic, version, length, SHA-256, the section table,
// every count and offset before use (no allocation before the bytes it
// describes are known to be there), CSR offsets monotonic and ending at the
// entry count, type indexes below the type count and strictly ascending per
// row, names valid and canonically coded, then validate_image. Errors name the field and its
// file offset ("malformed compact policy: ...").
// Errors: Errc::malformed_binary, Errc::limit_exceeded, Errc::unsupported
// (another major version, or an unknown section not flagged optional).
[[nodiscard]] Result<PolicyImage> read_compact_policy(std::span<const std::uint8_t> bytes,
                                                      CompactPolicyInfo* info = nullptr);

// Recomputes and stores the header's SHA-256 in place (for tests and tools
// that edit a compact file on purpose). False if bytes is shorter than the
// header.
bool reseal_compact_policy(std::span<std::uint8_t> bytes);

}  // namespace shype::acm
