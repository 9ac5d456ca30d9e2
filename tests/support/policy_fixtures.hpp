// Policy models built in code, for tests that must not depend on the XML
// front end. They mirror the shipped policies under policies/.
#pragma once

#include "acm/compiler.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm::testing {

// policies/mytest-security_policy.xml (manual Figures 10.3, 10.4).
PolicyModel mytest_model();
// policies/mytest_update-security_policy.xml: the update of manual Figures
// 10.5-10.7 (__UNLABELED__ dropped, A-Bank departments renamed with `from`).
PolicyModel mytest_update_model();
// policies/DEFAULT-security_policy.xml.
PolicyModel default_model();
// policies/example/test-security_policy.xml.
PolicyModel example_test_model();

// The model compiled with default options; throws std::runtime_error with
// the compiler's diagnostics if it does not compile.
CompiledPolicy compiled_policy(const PolicyModel& model);
// Just the image of compiled_policy(model).
PolicyImage compiled_image(const PolicyModel& model);

// Small builders for fixtures.
NamedItem item(std::string name);
std::vector<NamedItem> items(std::initializer_list<const char*> names);
Label vm_label(std::string name, std::initializer_list<const char*> ste,
               std::initializer_list<const char*> chwall);
Label resource_label(std::string name, const char* ste_type);

}  // namespace shype::acm::testing
