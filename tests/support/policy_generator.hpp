// Policy models made by program, for differential tests and benchmarks.
#pragma once

#include <cstdint>
#include <random>

#include "acm/policy_model.hpp"

namespace shype::acm::testing {

// Bounds for random_policy. Every count is drawn uniformly up to its bound.
struct RandomPolicyShape {
  std::uint32_t max_ste_types = 8;
  std::uint32_t max_chwall_types = 8;
  std::uint32_t max_vm_labels = 10;  // besides __UNLABELED__
  std::uint32_t max_resource_labels = 8;
  std::uint32_t max_conflict_sets = 4;
  std::uint32_t max_conflict_set_size = 4;
  std::uint32_t max_types_per_label = 6;  // ordinary labels: 0 .. this many STE types
  double big_label_probability = 0.15;    // a label with 5 .. all STE types
  double unlabeled_probability = 0.5;     // the policy defines __UNLABELED__
  double no_chwall_probability = 0.1;     // STE-only policy
};

// A small random policy with odd shapes: labels with no type, big many-type
// labels, one-type and overlapping conflict sets, names that sort before and
// after __UNLABELED__, a bootstrap label that may or may not hold every type.
// Always passes check_policy (throws std::logic_error otherwise: a generator
// bug, never a test result).
[[nodiscard]] PolicyModel random_policy(std::mt19937_64& rng, const RandomPolicyShape& shape = {});

// A policy shaped like ezPolicy's output (tools 7.6) at scale: `types`
// workload types arranged as organisations ("OrgN") and their departments
// ("OrgN.DeptM"); STE and CHWALL types SystemManagement + workloads; the
// bootstrap label SystemManagement holds every STE type; an organisation's
// label has STE {Org} and CHWALL {Org}, a department's STE {Org.Dept} and
// CHWALL {Org, Org.Dept}; run-time exclusion rules over organisations; one
// resource label per type. `labels` VM labels in all (SystemManagement
// included): fewer than types + 1 leaves the last workloads without a VM
// label, more adds I/O-server-like labels holding an organisation's types.
// Deterministic for a given seed.
[[nodiscard]] PolicyModel scaled_policy(std::uint32_t types, std::uint32_t labels,
                                        std::uint64_t seed);

}  // namespace shype::acm::testing
