// The decision cache of the sharing hooks (reference xen-acm-hypervisor.md
// 8.3; STYLE.md rule 7, after FLASK's AVC): per subject domain, the permits
// it was given, keyed by (object domain id, kind of sharing).
//
// What it keeps and when it forgets:
//  - only permits: a denial is always re-evaluated (and audited);
//  - every insert carries the sequence number of the security state it was
//    decided under; an insert whose number is not the current one is
//    refused, so a decision made before a policy or label change can never
//    be cached after it;
//  - flush(seqno): everything, when the policy or any label changes (Xen did
//    not flush on relabeldoms, quirk 9: a cached permit outlived the label
//    that justified it);
//  - forget_domain(domid): every entry of the domain and every entry naming
//    it (destroy: domain ids are reused);
//  - a subject holds kSlots entries; a full subject evicts round-robin (Xen
//    stopped caching once its 8 slots were used, quirk 10).
// Entries name domain ids, not labels: the cache is only correct because
// every label change of a live domain goes through the XSM layer, which
// flushes.
//
// Cost: lookup is one bounds check and kSlots compares of one 32-bit word
// each (a subject's slots fill 36 bytes of one cache line); no allocation.
// insert may grow the per-subject table (amortized; never on lookup).
// Measured against ACM's STE decision (a few nanoseconds, constant in the
// policy size) the lookup is no cheaper, and a miss adds lookup and insert
// to the decision, so the ACM module runs without it by default
// (XsmConfig::decision_cache; tests/bench/xsm_bench.cpp has the figures).
//
// Thread safety: none (the hypervisor's event loop owns it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "acm/decision_engine.hpp"
#include "shype/abi.hpp"

namespace shype::xsm {

// Event channel or grant: acm::SharingKind, the kind LiveState sharings use.
using acm::SharingKind;

class DecisionCache {
 public:
  static constexpr std::size_t kSlots = 8;  // as Xen's ACM_TE_CACHE_SIZE

  struct Stats {
    std::uint64_t inserts = 0;
    std::uint64_t stale_inserts_refused = 0;
    std::uint64_t evictions = 0;
    std::uint64_t flushes = 0;
  };

  explicit DecisionCache(std::uint64_t seqno = 0) noexcept : seqno_(seqno) {}

  // Was `subject` permitted to share `kind` with `object`?
  [[nodiscard]] bool lookup(abi::domid_t subject, abi::domid_t object,
                            SharingKind kind) const noexcept {
    if (subject >= subjects_.size()) return false;
    const std::uint32_t key = make_key(object, kind);
    const Subject& s = subjects_[subject];
    // Branch-free over all slots: cheaper than an early exit for 8 words.
    bool hit = false;
    for (std::uint32_t slot : s.slots)
      hit |= slot == key;
    return hit;
  }

  // Records a permit decided under security state `seqno`. Returns false,
  // and records nothing, if `seqno` is not the current one (stale).
  // May throw std::bad_alloc when the table grows for a new subject id.
  bool insert(abi::domid_t subject, abi::domid_t object, SharingKind kind, std::uint64_t seqno);

  // Forgets everything and makes `new_seqno` current (policy or label change).
  void flush(std::uint64_t new_seqno) noexcept;
  // Forgets the entries of `domid` and those naming it.
  void forget_domain(abi::domid_t domid) noexcept;

  [[nodiscard]] std::uint64_t seqno() const noexcept { return seqno_; }
  [[nodiscard]] const Stats& stats() const noexcept { return stats_; }
  // Entries held (for tests; O(subjects)).
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  // A slot holds (object << 1 | kind) + 1; 0 is a free slot, so a zeroed
  // subject is empty and lookup needs no separate valid bit.
  static constexpr std::uint32_t make_key(abi::domid_t object, SharingKind kind) noexcept {
    return ((static_cast<std::uint32_t>(object) << 1) | static_cast<std::uint32_t>(kind)) + 1;
  }
  static constexpr abi::domid_t key_domain(std::uint32_t key) noexcept {
    return static_cast<abi::domid_t>((key - 1) >> 1);
  }

  struct Subject {
    std::array<std::uint32_t, kSlots> slots{};
    std::uint32_t next_victim = 0;
  };

  std::vector<Subject> subjects_;  // indexed by subject domid, grown on insert
  std::uint64_t seqno_;
  Stats stats_;
};

}  // namespace shype::xsm
