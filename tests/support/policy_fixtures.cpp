#include "policy_fixtures.hpp"

#include <stdexcept>

namespace shype::acm::testing {

NamedItem item(std::string name) {
  return NamedItem{std::move(name), {}};
}

std::vector<NamedItem> items(std::initializer_list<const char*> names) {
  std::vector<NamedItem> out;
  for (const char* n : names)
    out.push_back(item(n));
  return out;
}

Label vm_label(std::string name, std::initializer_list<const char*> ste,
               std::initializer_list<const char*> chwall) {
  Label l;
  l.name = std::move(name);
  l.ste_types = items(ste);
  l.chwall_types = items(chwall);
  return l;
}

Label resource_label(std::string name, const char* ste_type) {
  Label l;
  l.name = std::move(name);
  l.ste_types = items({ste_type});
  return l;
}

PolicyModel mytest_model() {
  PolicyModel m;
  m.header.name = "mytest";
  m.header.date = "Mon Nov 19 22:51:56 2007";
  m.header.version = {1, 0};
  const auto types = {
      "SystemManagement",      "__UNLABELED__", "A-Bank",  "A-Bank.SecurityUnderwriting",
      "A-Bank.MarketAnalysis", "B-Bank",        "AutoCorp"};
  m.ste = SimpleTypeEnforcementComponent{false, items(types), {}};
  m.chwall = ChineseWallComponent{true, items(types), {}, {}};
  m.chwall->conflict_sets.push_back({"RER", items({"A-Bank", "B-Bank", "__UNLABELED__"}), {}});
  m.chwall->conflict_sets.push_back(
      {"RER",
       items({"A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting", "__UNLABELED__"}),
       {}});
  m.has_subject_labels = true;
  m.bootstrap = item("SystemManagement");
  m.vm_labels.push_back(vm_label("SystemManagement", types, {"SystemManagement"}));
  m.vm_labels.push_back(vm_label("__UNLABELED__", {"__UNLABELED__"}, {"__UNLABELED__"}));
  m.vm_labels.push_back(vm_label("A-Bank", {"A-Bank"}, {"A-Bank"}));
  m.vm_labels.push_back(vm_label("A-Bank.SecurityUnderwriting", {"A-Bank.SecurityUnderwriting"},
                                 {"A-Bank", "A-Bank.SecurityUnderwriting"}));
  m.vm_labels.push_back(vm_label("A-Bank.MarketAnalysis", {"A-Bank.MarketAnalysis"},
                                 {"A-Bank", "A-Bank.MarketAnalysis"}));
  m.vm_labels.push_back(vm_label("B-Bank", {"B-Bank"}, {"B-Bank"}));
  m.vm_labels.push_back(vm_label("AutoCorp", {"AutoCorp"}, {"AutoCorp"}));
  m.has_object_labels = true;
  for (const char* t : types)
    m.resource_labels.push_back(resource_label(t, t));
  return m;
}

PolicyModel mytest_update_model() {
  PolicyModel m;
  m.header.name = "mytest";
  m.header.date = "Mon Nov 26 10:22:07 2007";
  m.header.version = {1, 1};
  m.header.from_policy = FromPolicy{"mytest", {1, 0}};
  const auto types = {"SystemManagement", "A-Bank", "A-Bank.SU", "A-Bank.MA", "B-Bank", "AutoCorp"};
  m.ste = SimpleTypeEnforcementComponent{false, items(types), {}};
  m.chwall = ChineseWallComponent{true, items(types), {}, {}};
  m.chwall->conflict_sets.push_back({"RER", items({"A-Bank", "B-Bank"}), {}});
  m.chwall->conflict_sets.push_back({"RER", items({"A-Bank.MA", "A-Bank.SU"}), {}});
  m.has_subject_labels = true;
  m.bootstrap = item("SystemManagement");
  m.vm_labels.push_back(vm_label("SystemManagement", types, {"SystemManagement"}));
  m.vm_labels.push_back(vm_label(
      "A-Bank-WL", {"SystemManagement", "A-Bank", "A-Bank.SU", "A-Bank.MA"}, {"SystemManagement"}));
  m.vm_labels.push_back(vm_label("A-Bank", {"A-Bank"}, {"A-Bank"}));
  m.vm_labels.push_back(vm_label("A-Bank.SU", {"A-Bank.SU"}, {"A-Bank", "A-Bank.SU"}));
  m.vm_labels.back().from = "A-Bank.SecurityUnderwriting";
  m.vm_labels.push_back(vm_label("A-Bank.MA", {"A-Bank.MA"}, {"A-Bank", "A-Bank.MA"}));
  m.vm_labels.back().from = "A-Bank.MarketAnalysis";
  m.vm_labels.push_back(vm_label("B-Bank", {"B-Bank"}, {"B-Bank"}));
  m.vm_labels.push_back(vm_label("AutoCorp", {"AutoCorp"}, {"AutoCorp"}));
  m.has_object_labels = true;
  m.resource_labels.push_back(resource_label("SystemManagement", "SystemManagement"));
  m.resource_labels.push_back(resource_label("A-Bank", "A-Bank"));
  m.resource_labels.push_back(resource_label("A-Bank.SU", "A-Bank.SU"));
  m.resource_labels.back().from = "A-Bank.SecurityUnderwriting";
  m.resource_labels.push_back(resource_label("A-Bank.MA", "A-Bank.MA"));
  m.resource_labels.back().from = "A-Bank.MarketAnalysis";
  m.resource_labels.push_back(resource_label("B-Bank", "B-Bank"));
  m.resource_labels.push_back(resource_label("AutoCorp", "AutoCorp"));
  return m;
}

PolicyModel default_model() {
  PolicyModel m;
  m.header.name = "DEFAULT";
  m.header.version = {1, 0};
  m.ste = SimpleTypeEnforcementComponent{false, items({"SystemManagement", "__UNLABELED__"}), {}};
  m.chwall = ChineseWallComponent{true, items({"SystemManagement"}), {}, {}};
  m.has_subject_labels = true;
  m.bootstrap = item("SystemManagement");
  m.vm_labels.push_back(vm_label("SystemManagement", {"SystemManagement", "__UNLABELED__"}, {}));
  m.vm_labels.push_back(vm_label("__UNLABELED__", {"__UNLABELED__"}, {}));
  m.has_object_labels = true;
  m.resource_labels.push_back(resource_label("__UNLABELED__", "__UNLABELED__"));
  return m;
}

PolicyModel example_test_model() {
  PolicyModel m;
  m.header.name = "example.test";
  m.header.date = "Mon Apr 16 13:13:59 2007";
  m.header.version = {1, 0};
  m.ste =
      SimpleTypeEnforcementComponent{false, items({"SystemManagement", "PepsiCo", "CocaCola"}), {}};
  m.chwall = ChineseWallComponent{
      true, items({"SystemManagement", "PepsiCo", "CocaCola", "VIOServer"}), {}, {}};
  m.has_subject_labels = true;
  m.bootstrap = item("SystemManagement");
  m.vm_labels.push_back(vm_label("SystemManagement", {"SystemManagement", "PepsiCo", "CocaCola"},
                                 {"SystemManagement"}));
  m.vm_labels.push_back(vm_label("PepsiCo", {"PepsiCo"}, {"PepsiCo"}));
  m.vm_labels.push_back(vm_label("CocaCola", {"CocaCola"}, {"CocaCola"}));
  m.vm_labels.push_back(vm_label("VIO", {"CocaCola", "PepsiCo"}, {"VIOServer"}));
  m.has_object_labels = true;
  for (const char* t : {"SystemManagement", "PepsiCo", "CocaCola"}) {
    m.resource_labels.push_back(resource_label(t, t));
  }
  return m;
}

CompiledPolicy compiled_policy(const PolicyModel& model) {
  auto c = compile_policy(model, {});
  if (!c) throw std::runtime_error(c.error().to_string());
  return std::move(*c);
}

PolicyImage compiled_image(const PolicyModel& model) {
  return compiled_policy(model).image;
}

}  // namespace shype::acm::testing
