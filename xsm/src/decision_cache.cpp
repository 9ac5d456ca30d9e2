#include "xsm/decision_cache.hpp"

#include <algorithm>

namespace shype::xsm {

bool DecisionCache::insert(abi::domid_t subject, abi::domid_t object, SharingKind kind,
                           std::uint64_t seqno) {
  if (seqno != seqno_) {
    ++stats_.stale_inserts_refused;
    return false;
  }
  if (subject >= subjects_.size()) subjects_.resize(std::size_t{subject} + 1);
  Subject& s = subjects_[subject];
  const std::uint32_t key = make_key(object, kind);
  for (std::uint32_t slot : s.slots) {
    if (slot == key) return true;
  }
  for (std::uint32_t& slot : s.slots) {
    if (slot == 0) {
      slot = key;
      ++stats_.inserts;
      return true;
    }
  }
  // Full: evict round-robin. Fair enough for a subject's few partners
  // (Domain-0, its backends); a subject talking to more than kSlots domains
  // just re-evaluates, which costs a few nanoseconds.
  s.slots[s.next_victim] = key;
  s.next_victim = static_cast<std::uint32_t>((s.next_victim + 1) % kSlots);
  ++stats_.inserts;
  ++stats_.evictions;
  return true;
}

void DecisionCache::flush(std::uint64_t new_seqno) noexcept {
  // clear() of trivially destructible elements keeps the capacity and costs
  // O(1); subjects are zeroed again as they are re-inserted.
  subjects_.clear();
  seqno_ = new_seqno;
  ++stats_.flushes;
}

void DecisionCache::forget_domain(abi::domid_t domid) noexcept {
  if (domid < subjects_.size()) subjects_[domid] = Subject{};
  for (Subject& s : subjects_) {
    for (std::uint32_t& slot : s.slots) {
      if (slot != 0 && key_domain(slot) == domid) slot = 0;
    }
  }
}

std::size_t DecisionCache::size() const noexcept {
  std::size_t n = 0;
  for (const Subject& s : subjects_) {
    n += static_cast<std::size_t>(
        std::count_if(s.slots.begin(), s.slots.end(), [](std::uint32_t k) { return k != 0; }));
  }
  return n;
}

}  // namespace shype::xsm
