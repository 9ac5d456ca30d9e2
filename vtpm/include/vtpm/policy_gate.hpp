// Labels on vTPM instances (issue 7 item 6, ARCHITECTURE 6: "access to an
// instance is subject to the same labels"). An instance carries its domain's
// VM label, "ACM:<policy>:<label>". Two accesses are decisions of the policy
// core, asked of the hypervisor that enforces the active policy:
//  - Domain-0 reaching an instance (starting it, its TCTI for tpm2-tools):
//    may domain 0 use the instance's label?
//  - attaching an instance to a domain (the tpmback connection): may that
//    domain use the instance's label?
// Both are the hypervisor's resource_access decision (xsm_op: the domain's
// and the label's STE halves share a type), which the hypervisor audits when
// it denies. The label is resolved against the policy the hypervisor
// enforces; a label of another policy, or one the policy does not define,
// is refused. An unlabeled instance is Domain-0's own: Domain-0 may always
// reach it, and attaching it to a domain is the same resource_access
// decision with the unlabeled ssidref.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "acm/decision_engine.hpp"
#include "acm/error.hpp"

namespace shype::vtpm {

// "ACM:mytest:A-Bank" -> itself, canonical; "" stays "" (unlabeled).
// invalid_argument for anything else (INV_ACM, empty parts, extra ':').
[[nodiscard]] acm::Result<std::string> canonical_vtpm_label(std::string_view text);

class PolicyGate {
 public:
  // `root` is SHYPE_ROOT: the hypervisor's privcmd socket lives under it.
  explicit PolicyGate(std::filesystem::path root) : root_(std::move(root)) {}

  // May `domid` use an instance labeled `label` ("" = unlabeled)? The
  // decision says why ("permit: ..."/"deny: ..."), naming labels and types.
  // Errors (no hypervisor, a label of another policy or not in it) are
  // errors, not denials: the caller refuses in both cases.
  [[nodiscard]] acm::Result<acm::Decision> may_use(std::uint32_t domid,
                                                   const std::string& label) const;

 private:
  std::filesystem::path root_;
};

}  // namespace shype::vtpm
