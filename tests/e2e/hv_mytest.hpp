// The mytest policy (policies/mytest-security_policy.xml) compiled once
// with the acm/xml library, for the shype-hv end-to-end tests that boot
// with it, and its VM labels' ssidrefs by name.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"

namespace shype::testing {

struct CompiledMytest {
  std::vector<std::uint8_t> compact;
  std::vector<acm::MapLabel> labels;
};

inline const CompiledMytest& mytest() {
  static const CompiledMytest compiled = [] {
    CompiledMytest out;
    auto loaded = acm::xml::load_policy_file(kSourceDir / "policies/mytest-security_policy.xml");
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    const std::vector<std::uint8_t> xml(loaded->xml_text.begin(), loaded->xml_text.end());
    auto policy = acm::compile_policy(loaded->model, xml);
    if (!policy) throw std::runtime_error(policy.error().to_string());
    out.compact = acm::write_compact_policy(policy->image);
    out.labels = acm::map_labels(policy->image);
    return out;
  }();
  return compiled;
}

// The ssidref of VM label `label` of mytest.
inline std::uint32_t ssidref_of(const std::string& label) {
  auto ssidref = acm::find_label_ssidref(mytest().labels, label, 'V');
  if (!ssidref) throw std::runtime_error(ssidref.error().to_string());
  return *ssidref;
}

}  // namespace shype::testing
