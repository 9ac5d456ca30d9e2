// Xen 3.3/3.4's binary policy, format version 4 (reference
// xen-acm-hypervisor.md 2, xen-acm-tools.md 2.6; layout in
// docs/binary-policy.md). All integers big-endian; sections zero-padded to a
// multiple of 8 bytes counted from the start of the section:
//
//   header (60 bytes; 40 in version 3, which has no SHA-1)
//   policy reference: u32 strlen+1, name, NUL, zero padding
//   primary component     (CHWALL: 36-byte header + S*T + C*T u16 cells;
//   secondary component    STE: 20-byte header + S*T u16 cells)
//
// shype's reader is stricter than Xen's hypervisor and fixes its quirks:
//  - the buffer is parsed once, read-only, into host structures (Xen swapped
//    sub-headers in place and re-read them);
//  - every size is computed overflow-checked and checked against the bytes
//    that are there before anything is allocated (Xen allocated S*T cells
//    first, with unchecked 32-bit products);
//  - S, T and C are bounded by kMaxRows/kMaxTypes/kMaxConflictSets;
//  - sections must be exactly where the tools put them: reference right after
//    the header, matrices at the tools' offsets, padding zero, no trailing or
//    hidden bytes; cells must be 0 or 1 (Xen took any nonzero value as 1);
//  - an STE-only policy has secondary NULL (Xen's tools wrote 15 and a wrong
//    offset, which no hypervisor accepted); code 15 is rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_image.hpp"

namespace shype::acm::xen {

// Layout constants (reference xen-acm-hypervisor.md 2.2-2.5).
inline constexpr std::uint32_t kMagic = 0x0001debc;
inline constexpr std::uint32_t kPolicyVersion = 4;    // Xen 3.3/3.4
inline constexpr std::uint32_t kPolicyVersionV3 = 3;  // Xen 3.2: no hash
inline constexpr std::size_t kHeaderSize = 60;
inline constexpr std::size_t kHeaderSizeV3 = 40;
inline constexpr std::size_t kSha1Size = 20;
inline constexpr std::uint32_t kChwallVersion = 1;
inline constexpr std::uint32_t kSteVersion = 1;
inline constexpr std::size_t kChwallHeaderSize = 36;  // 9 u32
inline constexpr std::size_t kSteHeaderSize = 20;     // 5 u32
inline constexpr std::size_t kCellSize = 2;           // domaintype_t = u16
inline constexpr std::size_t kSectionAlignment = 8;

static_assert(kHeaderSize == std::size_t{10} * 4 + kSha1Size);
static_assert(kHeaderSizeV3 == std::size_t{10} * 4);
static_assert(kChwallHeaderSize == std::size_t{9} * 4);
static_assert(kSteHeaderSize == std::size_t{5} * 4);
static_assert(kHeaderSizeV3 % kSectionAlignment == 0);

}  // namespace shype::acm::xen

namespace shype::acm {

// Size in bytes of write_xen_policy(image), or nullopt if it would exceed the
// format's 32-bit length field (dense matrices grow as rows x types: 10,000
// labels x 10,000 types is 200 MB per component). Precondition as for
// write_xen_policy, apart from the size.
[[nodiscard]] std::optional<std::uint64_t> xen_policy_size(const PolicyImage& image);

// Writes format version 4 exactly as Xen 3.3/3.4's tools laid it out:
// header, reference, primary, secondary; running-types and aggregate offsets
// 0; for STE-only images (primary STE, secondary NULL) only the STE block,
// with secondary offset == len. Names are not part of this format (they go to
// the .map file, map_file.hpp).
// Precondition: validate_image(image) succeeds and xen_policy_size(image) has
// a value; otherwise throws std::invalid_argument.
[[nodiscard]] std::vector<std::uint8_t> write_xen_policy(const PolicyImage& image);

// What a successful read found besides the image (tests and the fuzzer use it
// to know when a re-write must be byte-identical).
struct XenPolicyInfo {
  std::uint32_t format_version = 0;  // 3 or 4
  bool has_counter_arrays = false;   // running/aggregate offsets were nonzero (a dump)
};

// Strict reader for format versions 4 and 3. The image has names == nullopt
// and vm_label_count = CHWALL rows if CHWALL is present, else STE rows (the
// format does not say where VM rows end and resource rows begin; the .map file
// does, see attach_map_names). Every rejection names the field and its file
// offset, e.g. "malformed binary policy: CHWALL conflict matrix (offset 0x5c,
// 3 x 7 cells) extends past the end of the component".
// Errors: Errc::malformed_binary, Errc::limit_exceeded, Errc::unsupported
// (a policy format version other than 3 or 4).
[[nodiscard]] Result<PolicyImage> read_xen_policy(std::span<const std::uint8_t> bytes,
                                                  XenPolicyInfo* info = nullptr);

}  // namespace shype::acm
