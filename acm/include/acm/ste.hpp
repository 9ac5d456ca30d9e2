// Simple Type Enforcement decisions in constant time (reference
// xen-acm-hypervisor.md 8.1): two labels may share (event channels, grants,
// resources) iff they have a common STE type; a label dominates another iff
// its STE types include all of the other's (the authorization predicate, 10).
//
// Why not Xen's layout: Xen kept a dense S x T matrix of 16-bit cells and
// looped over all T types for every decision, so a decision cost O(T) and the
// matrix S * T * 2 bytes (200 MB at 10,000 labels and types). Real policies
// are sparse: ezPolicy gives every workload label one or two types and only
// a few labels (Domain-0's, I/O servers') many. SteIndex exploits that:
//
//  - Every row has a 16-byte record. A row with 1..4 types is "small": its
//    types sit inline as four 16-bit lanes of one 64-bit word, unused lanes
//    repeating the first type (a set does not change when an element is
//    repeated, so no sentinel is needed and type 0xffff stays usable).
//    small x small share = the lanes of a equal some lane of b, computed
//    branch-free with 4 XOR/rotate steps and an exact SWAR zero-lane test;
//    dominance is the same test requiring every lane to match.
//  - A row with more than 4 types is "big" and gets a type bitset:
//    small x big = at most 4 bit tests.
//  - big x big uses two B x B bit matrices (share and dominance) computed at
//    load from per-type inverted lists, so it is one bit test.
//  - A row with no type shares with nothing (not even itself) and is
//    dominated by every row (empty set), as in Xen.
// 10,000 rows take 160 KB of records, so random decisions stay in L2.
//
// Cost caps (Options): big-row bitsets take B * ceil(T/64) * 8 bytes and the
// matrices 2 * B * ceil(B/64) * 8 bytes plus sum over types of
// (big rows holding the type)^2 work to build. Beyond the caps - only
// pathological dense policies with thousands of many-type labels - the index
// degrades gracefully instead of exploding: without matrices big x big is a
// word-wise bitset AND (O(T/64)); without bitsets big rows are sorted type
// lists searched by bisection (small x big O(log n), big x big a merge).
// Every path gives the same answers; tests force each one.
//
// Limits: at most kMaxRows rows and kMaxTypes types (16-bit indexes).
// Thread safety: immutable after build; concurrent readers need no lock.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_image.hpp"

namespace shype::acm {

class SteIndex {
 public:
  struct Options {
    // Upper bound for the bitsets of big rows; beyond it they are bisected.
    std::size_t big_row_bitset_budget_bytes = std::size_t{64} << 20;
    // Upper bound for the two big x big matrices together.
    std::size_t big_matrix_budget_bytes = std::size_t{16} << 20;
    // Upper bound for the matrix build work (bit updates), about 0.1 s.
    std::uint64_t big_matrix_build_budget = std::uint64_t{1} << 27;
  };

  SteIndex() = default;

  // Builds the index over image.ste_labels (VM rows, then resource rows).
  // Fails with invalid_argument if the image breaks its own invariants (a
  // type index >= ste_type_count, unsorted rows, more than kMaxRows rows or
  // kMaxTypes types).
  [[nodiscard]] static Result<SteIndex> build(const PolicyImage& image);
  [[nodiscard]] static Result<SteIndex> build(const PolicyImage& image, const Options& options);
  // The same over any rows (label -> sorted STE types).
  [[nodiscard]] static Result<SteIndex> build(const TypeSets& rows, std::uint32_t type_count,
                                              const Options& options);

  // True iff both rows exist and have a common STE type (ACMHOOK_sharing).
  [[nodiscard]] bool share(std::uint32_t row_a, std::uint32_t row_b) const noexcept {
    if (row_a >= records_.size() || row_b >= records_.size()) return false;
    const Record& a = records_[row_a];
    const Record& b = records_[row_b];
    if ((a.tag | b.tag) == kSmallTag) return lanes_intersect(a.lanes, b.lanes);
    return share_slow(a, b);
  }

  // True iff both rows exist and types(sub_row) is a subset of
  // types(super_row) (the STE half of ACMHOOK_authorization).
  [[nodiscard]] bool dominates(std::uint32_t super_row, std::uint32_t sub_row) const noexcept {
    if (super_row >= records_.size() || sub_row >= records_.size()) return false;
    const Record& sup = records_[super_row];
    const Record& sub = records_[sub_row];
    if ((sup.tag | sub.tag) == kSmallTag) return lanes_subset(sub.lanes, sup.lanes);
    return dominates_slow(sup, sub);
  }

  // The lowest common STE type of two rows, for explanations (allocates).
  [[nodiscard]] std::optional<std::uint32_t> common_type(std::uint32_t row_a,
                                                         std::uint32_t row_b) const;
  // The lowest type of sub_row missing from super_row (why dominance fails).
  [[nodiscard]] std::optional<std::uint32_t> first_missing_type(std::uint32_t super_row,
                                                                std::uint32_t sub_row) const;
  // The sorted types of a row (empty for an unknown row).
  [[nodiscard]] std::vector<std::uint32_t> types(std::uint32_t row) const;

  [[nodiscard]] std::uint32_t rows() const noexcept {
    return static_cast<std::uint32_t>(records_.size());
  }
  [[nodiscard]] std::uint32_t type_count() const noexcept { return type_count_; }

  // Introspection for tests and benchmarks.
  [[nodiscard]] std::uint32_t big_rows() const noexcept { return big_count_; }
  [[nodiscard]] bool has_big_row_bitsets() const noexcept { return !big_bits_.empty(); }
  [[nodiscard]] bool has_big_matrices() const noexcept { return !share_matrix_.empty(); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  // tag: kSmallTag = 1..4 inline types, kEmptyTag = no type, otherwise the
  // row is big row (tag - kFirstBigTag). Small is 0 so that one OR of both
  // tags detects the common small x small case.
  static constexpr std::uint32_t kSmallTag = 0;
  static constexpr std::uint32_t kEmptyTag = 1;
  static constexpr std::uint32_t kFirstBigTag = 2;
  static constexpr std::uint32_t kInlineTypes = 4;

  struct alignas(16) Record {
    std::uint64_t lanes = 0;  // small rows: four 16-bit types, padded with the first
    std::uint32_t tag = kEmptyTag;
    std::uint32_t count = 0;  // number of distinct types
  };
  static_assert(sizeof(Record) == 16, "four records per cache line");

  static constexpr std::uint64_t kLaneLow = 0x7fff7fff7fff7fffULL;
  static constexpr std::uint64_t kLaneHigh = 0x8000800080008000ULL;

  // High bit of each 16-bit lane set iff that lane of x is zero. Exact per
  // lane: the addition can never carry across a lane boundary.
  static constexpr std::uint64_t zero_lanes(std::uint64_t x) noexcept {
    return ~(((x & kLaneLow) + kLaneLow) | x) & kLaneHigh;
  }
  static constexpr std::uint64_t rotate_lanes(std::uint64_t x, int lanes) noexcept {
    return std::rotl(x, 16 * lanes);
  }
  // Lanes of `a` that equal some lane of `b` (high bit per lane).
  static constexpr std::uint64_t matching_lanes(std::uint64_t a, std::uint64_t b) noexcept {
    return zero_lanes(a ^ b) | zero_lanes(a ^ rotate_lanes(b, 1)) |
           zero_lanes(a ^ rotate_lanes(b, 2)) | zero_lanes(a ^ rotate_lanes(b, 3));
  }
  static constexpr bool lanes_intersect(std::uint64_t a, std::uint64_t b) noexcept {
    return matching_lanes(a, b) != 0;
  }
  static constexpr bool lanes_subset(std::uint64_t sub, std::uint64_t super) noexcept {
    return matching_lanes(sub, super) == kLaneHigh;
  }
  static constexpr std::uint32_t lane(std::uint64_t lanes, std::uint32_t i) noexcept {
    return static_cast<std::uint32_t>((lanes >> (16 * i)) & 0xffffu);
  }

  [[nodiscard]] bool share_slow(const Record& a, const Record& b) const noexcept;
  [[nodiscard]] bool dominates_slow(const Record& sup, const Record& sub) const noexcept;
  [[nodiscard]] bool big_has(std::uint32_t big, std::uint32_t type) const noexcept;
  [[nodiscard]] bool big_has_any(std::uint32_t big, std::uint64_t lanes) const noexcept;
  [[nodiscard]] bool big_has_all(std::uint32_t big, std::uint64_t lanes) const noexcept;
  [[nodiscard]] bool big_share_fallback(std::uint32_t x, std::uint32_t y) const noexcept;
  [[nodiscard]] bool big_dominates_fallback(std::uint32_t sup, std::uint32_t sub) const noexcept;
  [[nodiscard]] std::span<const std::uint16_t> big_types(std::uint32_t big) const noexcept {
    return {big_types_.data() + big_offsets_[big], big_types_.data() + big_offsets_[big + 1]};
  }
  void build_big_matrices(const Options& options);

  std::vector<Record> records_;
  std::uint32_t type_count_ = 0;
  std::uint32_t big_count_ = 0;
  // Sorted types of every big row (always kept: bisection fallback, explanations).
  std::vector<std::uint32_t> big_offsets_{0};
  std::vector<std::uint16_t> big_types_;
  // big_count_ rows of type_words_ words each (empty when over budget).
  std::size_t type_words_ = 0;
  std::vector<std::uint64_t> big_bits_;
  // big_count_ rows of big_words_ words each (empty when over budget).
  std::size_t big_words_ = 0;
  std::vector<std::uint64_t> share_matrix_;
  std::vector<std::uint64_t> dominance_matrix_;  // row = super, bit = sub
};

}  // namespace shype::acm
