// Label control on the bridge (manual 10.4.1 and Test 3 of 10.2.6; Xen 3.3
// left network traffic outside sHype): a frame from domain X reaches
// domain Y only if the policy lets X and Y share, i.e. their labels have an
// STE type in common. The decision is the hypervisor's (xsm_op
// getdecision, hook sharing); this filter caches it per (X, Y) so a frame
// costs a hash lookup, not a hypercall.
//
// The cache must follow the policy: xend calls DeviceHost::policy_changed()
// after every setpolicy, run-time update, resetpolicy and relabel, which
// flushes it; a domain that goes away is forgotten. A decision that could
// not be obtained (the hypervisor did not answer, a domain vanished) denies
// and is not cached.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "shype/abi.hpp"

namespace shype::devices::net {

class LabelFilter {
 public:
  // true: may share; false: may not; nullopt: no decision (denied, not cached).
  using DecideFn = std::function<std::optional<bool>(abi::domid_t from, abi::domid_t to)>;

  struct Stats {
    std::uint64_t lookups = 0;
    std::uint64_t misses = 0;   // asked the hypervisor
    std::uint64_t failures = 0; // no decision
    std::uint64_t flushes = 0;
  };

  explicit LabelFilter(DecideFn decide) : decide_(std::move(decide)) {}

  // Whether a frame from `from` may reach `to`. A domain always reaches itself.
  [[nodiscard]] bool allows(abi::domid_t from, abi::domid_t to);
  // The policy or a label changed: every cached decision is dropped.
  void policy_changed();
  // `domid` is gone: its decisions are dropped (ids can come back).
  void forget_domain(abi::domid_t domid);

  [[nodiscard]] const Stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t cached() const noexcept { return cache_.size(); }

 private:
  static std::uint32_t key(abi::domid_t from, abi::domid_t to) {
    return (static_cast<std::uint32_t>(from) << 16) | to;
  }
  DecideFn decide_;
  std::unordered_map<std::uint32_t, bool> cache_;
  Stats stats_;
};

}  // namespace shype::devices::net
