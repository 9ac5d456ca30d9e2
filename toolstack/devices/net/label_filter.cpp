#include "label_filter.hpp"

namespace shype::devices::net {

bool LabelFilter::allows(abi::domid_t from, abi::domid_t to) {
  ++stats_.lookups;
  if (from == to) return true;
  const auto it = cache_.find(key(from, to));
  if (it != cache_.end()) return it->second;
  ++stats_.misses;
  const std::optional<bool> decision = decide_(from, to);
  if (!decision) {
    ++stats_.failures;
    return false;
  }
  cache_.emplace(key(from, to), *decision);
  return *decision;
}

void LabelFilter::policy_changed() {
  cache_.clear();
  ++stats_.flushes;
}

void LabelFilter::forget_domain(abi::domid_t domid) {
  std::erase_if(cache_, [domid](const auto& entry) {
    return (entry.first >> 16) == domid || (entry.first & 0xffffu) == domid;
  });
}

}  // namespace shype::devices::net
