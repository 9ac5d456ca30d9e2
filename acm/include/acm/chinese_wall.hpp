// Chinese Wall (run-time exclusion rules, manual 10.3.3; reference
// xen-acm-hypervisor.md 9): of the types of one conflict set, at most one may
// run at a time.
//
// State (9.1): running_types[t] = running domains whose label holds t;
// conflict_aggregate[t] = (running domain, conflict set) pairs where the set
// meets the domain's label and t is in the set but not in the label. A label
// is admissible iff none of its types has a positive aggregate. Consequences
// kept from Xen: two domains with the same label never conflict; a type in
// no conflict set never denies.
//
// Differences from Xen, on purpose:
//  - Counters are 32-bit (Xen: 16-bit, wrapping at 65536) and mutation is
//    only possible through non-const members, so callers must hold the
//    state exclusively (Xen changed them under a read lock, quirk 5).
//  - The per-label "conflict delta" (every type of every conflict set that
//    meets the label, not in the label, with multiplicity) is computed once
//    at load, so start/stop touch only the counters they change.
//  - admissible() is the intended single pass over the label's types; Xen's
//    conflictset query indexed the aggregate as if it were C x T (quirk 6).
//  - stop() of a label that is not running is a caller bug: it asserts in
//    debug builds and changes nothing in release builds (no underflow).
//  - Labels out of range are never admissible (Xen did not range-check on
//    recomputation, quirk 8).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_image.hpp"

namespace shype::acm {

class ChineseWallIndex {
 public:
  ChineseWallIndex() = default;

  // One row per VM label. A policy without Chinese Wall gives
  // image.vm_label_count rows with no types (everything is admissible).
  // Fails with invalid_argument if the image breaks its invariants.
  [[nodiscard]] static Result<ChineseWallIndex> build(const PolicyImage& image);

  [[nodiscard]] std::uint32_t labels() const noexcept { return label_types_.rows(); }
  [[nodiscard]] std::uint32_t type_count() const noexcept { return type_count_; }
  [[nodiscard]] std::uint32_t conflict_set_count() const noexcept { return conflict_sets_.rows(); }

  // Callers pass indexes below labels() / type_count() / conflict_set_count().
  [[nodiscard]] std::span<const std::uint32_t> label_types(std::uint32_t label) const noexcept {
    return label_types_.row(label);
  }
  [[nodiscard]] std::span<const std::uint32_t> conflict_delta(std::uint32_t label) const noexcept {
    return conflict_delta_.row(label);
  }
  [[nodiscard]] std::span<const std::uint32_t> conflict_set_types(
      std::uint32_t set) const noexcept {
    return conflict_sets_.row(set);
  }
  [[nodiscard]] std::span<const std::uint32_t> sets_with_type(std::uint32_t type) const noexcept {
    return sets_of_type_.row(type);
  }

  // Names for messages; indexes are shown when the image carried no names.
  [[nodiscard]] std::string label_name(std::uint32_t label) const;
  [[nodiscard]] std::string type_name(std::uint32_t type) const;
  [[nodiscard]] std::string conflict_set_name(std::uint32_t set) const;

 private:
  std::uint32_t type_count_ = 0;
  TypeSets label_types_;
  TypeSets conflict_sets_;
  TypeSets conflict_delta_;  // not ascending: a type appears once per set
  TypeSets sets_of_type_;
  std::vector<std::string> label_names_;
  std::vector<std::string> type_names_;
  std::vector<std::string> set_names_;
};

// Why a label is (not) admissible: the first blocked type of the label, a
// conflict set holding it, and the running types of that set that block it.
struct AdmissionExplanation {
  bool admissible = true;
  std::uint32_t label = 0;
  std::optional<std::uint32_t> blocked_type;
  std::optional<std::uint32_t> conflict_set;
  std::vector<std::uint32_t> running_types;
  bool label_out_of_range = false;
};

class ChineseWallState {
 public:
  // An empty system under `index`. The state keeps a pointer to the index:
  // the index must outlive the state and stay where it is.
  explicit ChineseWallState(const ChineseWallIndex& index);

  // ACMHOOK_conflictset: would a domain with this label be admitted now?
  // O(types of the label); no allocation.
  [[nodiscard]] bool admissible(std::uint32_t label) const noexcept {
    if (label >= index_->labels()) return false;
    for (std::uint32_t t : index_->label_types(label)) {
      if (conflict_aggregate_[t] != 0) return false;
    }
    return true;
  }

  // Check and commit in one step (domain create/resume). False if denied or
  // out of range, with nothing changed. No allocation.
  [[nodiscard]] bool try_start(std::uint32_t label) noexcept;
  // As try_start, but a denial names the blocking type, conflict set and
  // running type(s) (update_rejected; invalid_argument when out of range).
  [[nodiscard]] Status start(std::uint32_t label);
  // Exact inverse of a successful start (domain destroy/save).
  void stop(std::uint32_t label) noexcept;

  [[nodiscard]] AdmissionExplanation explain_admission(std::uint32_t label) const;

  // Recomputes the state from scratch for the running labels in order
  // (Xen's init_state, 9.5: used on policy change and relabel). Fails with
  // update_rejected naming the first conflict ("ACM_CHWALL_CONFLICT (0x103)"
  // and the type), or invalid_argument for a label out of range.
  [[nodiscard]] static Result<ChineseWallState> rebuild(
      const ChineseWallIndex& index, std::span<const std::uint32_t> running_labels);

  [[nodiscard]] std::span<const std::uint32_t> running_types() const noexcept {
    return running_types_;
  }
  [[nodiscard]] std::span<const std::uint32_t> conflict_aggregate() const noexcept {
    return conflict_aggregate_;
  }
  // Domains currently running with `label` (0 when out of range).
  [[nodiscard]] std::uint32_t running_count(std::uint32_t label) const noexcept {
    return label < running_labels_.size() ? running_labels_[label] : 0;
  }
  [[nodiscard]] const ChineseWallIndex& index() const noexcept { return *index_; }

  // Same counters (the index is not compared).
  friend bool operator==(const ChineseWallState& a, const ChineseWallState& b) {
    return a.running_types_ == b.running_types_ && a.conflict_aggregate_ == b.conflict_aggregate_ &&
           a.running_labels_ == b.running_labels_;
  }

 private:
  void commit(std::uint32_t label) noexcept;
  [[nodiscard]] std::string denial_message(const AdmissionExplanation& why) const;

  const ChineseWallIndex* index_;
  std::vector<std::uint32_t> running_types_;
  std::vector<std::uint32_t> conflict_aggregate_;
  std::vector<std::uint32_t> running_labels_;
};

}  // namespace shype::acm
