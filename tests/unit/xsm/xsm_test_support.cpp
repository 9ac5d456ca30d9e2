#include "xsm_test_support.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "acm/xml/policy_files.hpp"

namespace shype::xsm::testing {

acm::Ssidref CompiledPolicy::vm(const std::string& label) const {
  auto s = numbering.vm_label_ssidref(label);
  if (!s) throw std::invalid_argument("no VM label " + label);
  return *s;
}

acm::Ssidref CompiledPolicy::resource(const std::string& label) const {
  auto s = numbering.resource_label_ssidref(label);
  if (!s) throw std::invalid_argument("no resource label " + label);
  return *s;
}

const CompiledPolicy& shipped_policy(const std::string& name) {
  static std::map<std::string, CompiledPolicy> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const auto path =
      std::filesystem::path(SHYPE_SOURCE_DIR) / "policies" / (name + "-security_policy.xml");
  auto opened = acm::xml::open_policy(path);
  if (!opened) throw std::runtime_error(opened.error().to_string());
  CompiledPolicy p;
  p.image = opened->image;
  p.binary = acm::write_binary_policy(p.image, acm::BinaryFormat::compact);
  p.model = *opened->model;
  p.numbering = *opened->numbering;
  return cache.emplace(name, std::move(p)).first->second;
}

CompiledPolicy compile_model(const acm::PolicyModel& model, acm::BinaryFormat format) {
  auto compiled = acm::compile_policy(model, {});
  if (!compiled) throw std::runtime_error(compiled.error().to_string());
  CompiledPolicy p;
  p.image = compiled->image;
  p.binary = acm::write_binary_policy(p.image, format);
  p.model = model;
  p.numbering = compiled->numbering;
  return p;
}

int FakeHypervisor::create(Xsm& xsm, abi::domid_t domid, const std::string& label,
                           const std::string& name) {
  return create_ssidref(xsm, domid, vm(label), name);
}

int FakeHypervisor::create_ssidref(Xsm& xsm, abi::domid_t domid, acm::Ssidref ssidref,
                                   const std::string& name) {
  names_.push_back(name.empty() ? (domid == 0 ? "Domain-0" : "domain" + std::to_string(domid))
                                : name);
  const DomainRef d{domid, ssidref, names_.back()};
  const int rc = xsm.domain_create(d);
  if (rc == 0) live_.domains.push_back(d);
  return rc;
}

void FakeHypervisor::destroy(Xsm& xsm, abi::domid_t domid) {
  xsm.domain_destroyed(ref(domid));
  std::erase_if(live_.domains, [&](const DomainRef& d) { return d.domid == domid; });
  std::erase_if(live_.sharings, [&](const acm::DomainSharing& s) {
    return s.domid == domid || s.remote_domid == domid;
  });
}

void FakeHypervisor::bind(abi::domid_t a, abi::domid_t b, acm::SharingKind kind) {
  live_.sharings.push_back({a, b, kind});
}

void FakeHypervisor::apply(const PolicyChange& change) {
  for (const auto& [domid, ssidref] : change.relabeled) {
    for (DomainRef& d : live_.domains) {
      if (d.domid == domid) d.ssidref = ssidref;
    }
  }
}

DomainRef FakeHypervisor::ref(abi::domid_t domid) const {
  for (const DomainRef& d : live_.domains) {
    if (d.domid == domid) return d;
  }
  throw std::invalid_argument("no live domain " + std::to_string(domid));
}

std::unique_ptr<Xsm> boot(AuditLog& audit, const std::vector<std::uint8_t>& policy,
                          XsmConfig config) {
  config.boot_policy = policy;
  auto xsm = Xsm::create(config, audit);
  if (!xsm) throw std::runtime_error(xsm.error().to_string());
  return std::move(*xsm);
}

std::vector<ParsedRecord> records_since(const AuditLog& audit, std::uint64_t from_seq) {
  std::uint64_t next = 0;
  std::vector<ParsedRecord> out;
  for (const std::string& line : audit.read_since(from_seq, 1'000'000, next)) {
    const auto j = nlohmann::json::parse(line);
    ParsedRecord r;
    r.seq = j.at("seq").get<std::uint64_t>();
    r.hook = j.at("hook").get<std::string>();
    r.decision = j.at("decision").get<std::string>();
    r.status = j.at("status").get<int>();
    r.subject_domid = j.at("subject").at("domid").get<std::uint32_t>();
    r.subject_label = j.at("subject").at("label").get<std::string>();
    r.object_domid = j.at("object").at("domid").get<std::uint32_t>();
    r.object_ssidref = j.at("object").at("ssidref").get<std::string>();
    r.object_label = j.at("object").at("label").get<std::string>();
    r.object_name = j.at("object").at("name").get<std::string>();
    r.reason = j.at("reason").get<std::string>();
    r.policy_name = j.at("policy").at("name").get<std::string>();
    r.policy_fingerprint = j.at("policy").at("fingerprint").get<std::string>();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace shype::xsm::testing
