#include "vtpm/policy_gate.hpp"

#include <algorithm>
#include <chrono>

#include "acm/binary_policy.hpp"
#include "acm/ssidref.hpp"
#include "resources/resource_label.hpp"
#include "shype/xsm_op.hpp"
#include "xenctrl/connection.hpp"

namespace shype::vtpm {

using acm::Errc;
using acm::make_error;

acm::Result<std::string> canonical_vtpm_label(std::string_view text) {
  if (text.empty()) return std::string();
  auto parsed = resources::ResourceLabel::parse(text);
  if (!parsed) {
    return make_error(Errc::invalid_argument,
                      "invalid vTPM label '" + std::string(text) + "': " + parsed.error().message);
  }
  if (parsed->type != resources::LabelType::acm || parsed->policy == resources::kAnyPolicy) {
    return make_error(Errc::invalid_argument, "invalid vTPM label '" + std::string(text) +
                                                  "': a vTPM carries a domain's label, "
                                                  "ACM:<policy>:<label>");
  }
  return parsed->to_string();
}

acm::Result<acm::Decision> PolicyGate::may_use(std::uint32_t domid,
                                               const std::string& label) const {
  if (label.empty() && domid == acm::kDomain0Id) {
    return acm::Decision{true, "permit: an unlabeled vTPM instance belongs to Domain-0"};
  }
  auto hv = xc::Connection::open(root_, std::chrono::milliseconds(2000));
  if (!hv) {
    return make_error(Errc::io_error, "cannot ask the hypervisor under " + root_.string() +
                                          " about the label: " + hv.error().to_string());
  }
  auto bytes = hv->get_policy();
  if (!bytes) {
    return make_error(Errc::io_error,
                      "cannot read the hypervisor's policy: " + bytes.error().to_string());
  }
  auto image = acm::read_binary_policy(*bytes);
  if (!image) return tl::unexpected(image.error());

  acm::Ssidref ssidref = acm::kUnlabeledSsidref;
  if (!label.empty()) {
    auto parsed = resources::ResourceLabel::parse(label);
    if (!parsed) return make_error(Errc::invalid_argument, parsed.error().message);
    if (parsed->policy != image->name) {
      return make_error(Errc::update_rejected, "the label " + label + " is of policy '" +
                                                   parsed->policy + "', but the hypervisor enforces '" +
                                                   image->name + "'");
    }
    if (!image->names) {
      return make_error(Errc::unsupported,
                        "the hypervisor's policy " + image->name + " carries no label names");
    }
    const auto& labels = image->names->vm_labels;
    const auto at = std::find(labels.begin(), labels.end(), parsed->label);
    if (at == labels.end()) {
      return make_error(Errc::not_found,
                        "label '" + parsed->label + "' is not a VM label of policy " + image->name);
    }
    ssidref = acm::vm_ssidref(static_cast<std::uint32_t>(at - labels.begin()));
  }

  // The hypervisor decides (and audits a denial); the policy core explains.
  auto decided = hv->resource_access(static_cast<abi::domid_t>(domid), ssidref);
  if (!decided) {
    return make_error(Errc::io_error, "cannot ask the hypervisor whether domain " +
                                          std::to_string(domid) + " may use " +
                                          (label.empty() ? "an unlabeled vTPM" : label) + ": " +
                                          decided.error().to_string());
  }
  const bool permitted = *decided == abi::kAcmAccessPermitted;
  std::string rule = permitted ? "permit" : "deny";
  auto domain = hv->get_ssid(abi::kAcmGetByDomid, domid);
  auto engine = acm::PolicyEngine::build(std::move(*image));
  if (domain && engine) {
    const acm::Decision explained = engine->explain_share(domain->ssidref, ssidref);
    if (explained.permitted == permitted) return explained;
  }
  return acm::Decision{permitted, rule + ": the hypervisor's resource_access decision for domain " +
                                      std::to_string(domid) + " and " +
                                      (label.empty() ? "the unlabeled vTPM" : label)};
}

}  // namespace shype::vtpm
