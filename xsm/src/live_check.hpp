// The re-check of the running system against a policy and a set of labels
// (reference 8.5, 9.5, 11.2 steps 5-8, 11.5), shared by setpolicy,
// chgpolicy and relabeldoms. Unlike Xen's init_state it does not stop at the
// first violation: every error tuple is collected (each once), with one
// readable reason per finding, so the administrator sees everything that
// stands in the way at once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "acm/chinese_wall.hpp"
#include "acm/ssidref.hpp"
#include "active_policy.hpp"
#include "shype/xsm_op.hpp"
#include "xsm/xsm.hpp"

namespace shype::xsm {

enum class DomainPhase : std::uint8_t {
  none,     // no such domain
  running,  // admitted: holds its Chinese Wall types
  saved,    // saved (types released), not yet destroyed or restored
};

struct DomainRecord {
  acm::Ssidref ssidref = 0;
  DomainPhase phase = DomainPhase::none;
};

// A domain the XSM layer admitted, with the label it would have afterwards.
struct CandidateDomain {
  abi::domid_t domid = 0;
  acm::Ssidref old_ssidref = 0;
  acm::Ssidref new_ssidref = 0;
  DomainPhase phase = DomainPhase::running;
};

// Error tuples and reasons, collected.
class CheckReport {
 public:
  // A finding with a Xen error-tuple code; the tuple is kept once.
  void add(std::int32_t code, std::uint32_t data, std::string reason);
  // A finding Xen had no code for (only a reason).
  void add_reason(std::string reason);

  [[nodiscard]] bool ok() const noexcept { return findings_ == 0; }
  [[nodiscard]] const std::vector<abi::AcmErrorTuple>& tuples() const noexcept { return tuples_; }
  // One reason per line; after kMaxReasonLines, a count of the rest.
  [[nodiscard]] std::string message() const;

  static constexpr std::size_t kMaxReasonLines = 64;

 private:
  std::vector<abi::AcmErrorTuple> tuples_;
  std::vector<std::string> reasons_;
  std::size_t findings_ = 0;
};

struct CheckOptions {
  // relabeldoms: Domain-0's (new) label must authorize every running
  // domain it concerns (manual 10.2.7).
  bool authorization = false;
};

// Checks `domains` (sorted by domid) under `policy`:
//  - every live domain of `live` is a candidate, with the same ssidref
//    (old_ssidref) (ACM_DOMAIN_LOOKUP, domid);
//  - every candidate's new label is a VM label (ACM_SSIDREF_IN_USE, index);
//  - no Chinese Wall conflict among the running candidates
//    (ACM_CHWALL_CONFLICT, type);
//  - every live sharing is between candidates (ACM_DOMAIN_LOOKUP, domid)
//    that share an STE type (ACM_EVTCHN/GNTTAB_SHARING_VIOLATION);
//  - with options.authorization, the authorization rule.
// Returns the Chinese Wall state of the running candidates under `policy`
// when there was no conflict (nullopt otherwise).
[[nodiscard]] std::optional<acm::ChineseWallState> check_live_state(
    const ActivePolicy& policy, std::span<const CandidateDomain> domains, const LiveState& live,
    const CheckOptions& options, CheckReport& report);

// "domain 3 'domU1'" (the name from `live` when it has one).
[[nodiscard]] std::string describe_domain(std::uint32_t domid, const LiveState& live);

}  // namespace shype::xsm
