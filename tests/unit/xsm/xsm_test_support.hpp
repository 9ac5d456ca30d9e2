// Helpers of the xsm unit tests: the shipped policies compiled to binaries
// (once per test binary), and a small stand-in for the hypervisor's view of
// live domains and channels.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acm/binary_policy.hpp"
#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "acm/numbering.hpp"
#include "acm/policy_model.hpp"
#include "xsm/audit.hpp"
#include "xsm/xsm.hpp"

namespace shype::xsm::testing {

struct CompiledPolicy {
  std::vector<std::uint8_t> binary;  // compact format
  acm::PolicyImage image;
  acm::PolicyModel model;
  acm::LabelNumbering numbering;

  [[nodiscard]] acm::Ssidref vm(const std::string& label) const;
  [[nodiscard]] acm::Ssidref resource(const std::string& label) const;
};

// policies/<name>-security_policy.xml through acm::xml::open_policy.
const CompiledPolicy& shipped_policy(const std::string& name);
inline const CompiledPolicy& mytest() {
  return shipped_policy("mytest");
}
inline const CompiledPolicy& mytest_update() {
  return shipped_policy("mytest_update");
}
inline const CompiledPolicy& default_policy() {
  return shipped_policy("DEFAULT");
}

// A model compiled without XML (for variants of the shipped policies).
CompiledPolicy compile_model(const acm::PolicyModel& model,
                             acm::BinaryFormat format = acm::BinaryFormat::compact);

// The hypervisor's side, as far as the XSM layer sees it.
class FakeHypervisor {
 public:
  explicit FakeHypervisor(const CompiledPolicy& labels) : labels_(&labels) {}

  // Calls domain_create and, if it is permitted, adds the domain to live().
  int create(Xsm& xsm, abi::domid_t domid, const std::string& label, const std::string& name = {});
  int create_ssidref(Xsm& xsm, abi::domid_t domid, acm::Ssidref ssidref,
                     const std::string& name = {});
  // Calls domain_destroyed and drops the domain and its channels.
  void destroy(Xsm& xsm, abi::domid_t domid);
  void bind(abi::domid_t a, abi::domid_t b,
            acm::SharingKind kind = acm::SharingKind::event_channel);
  // Applies a successful PolicyChange's relabel list, as the hypervisor does.
  void apply(const PolicyChange& change);
  // Label names for ssidrefs from now on (after a policy change).
  void use_labels(const CompiledPolicy& labels) { labels_ = &labels; }

  [[nodiscard]] DomainRef ref(abi::domid_t domid) const;
  [[nodiscard]] const LiveState& live() const { return live_; }
  [[nodiscard]] acm::Ssidref vm(const std::string& label) const { return labels_->vm(label); }

 private:
  const CompiledPolicy* labels_;
  std::deque<std::string> names_;  // DomainRef::name points here
  LiveState live_;
};

// Boots an Xsm with `policy` (bytes) or fails the test.
std::unique_ptr<Xsm> boot(AuditLog& audit, const std::vector<std::uint8_t>& policy,
                          XsmConfig config = {});

// The records of the audit ring from `from_seq` on, parsed back into the
// fields tests look at.
struct ParsedRecord {
  std::uint64_t seq = 0;
  std::string hook;
  std::string decision;
  int status = 0;
  std::uint32_t subject_domid = 0;
  std::string subject_label;
  std::uint32_t object_domid = 0;
  std::string object_ssidref;
  std::string object_label;
  std::string object_name;
  std::string reason;
  std::string policy_name;
  std::string policy_fingerprint;
};
std::vector<ParsedRecord> records_since(const AuditLog& audit, std::uint64_t from_seq);

}  // namespace shype::xsm::testing
