// Labels: resources (xm addlabel/rmlabel/getlabel res, xm resources), the
// label check behind `xm addlabel ... dom`, and managed domains including
// Domain-0 (xm addlabel/rmlabel/getlabel mgt; manual 10.2.5, 10.2.7,
// 10.2.8; reference xen-acm-tools.md 1.3-1.6, 2.3).
#include <algorithm>

#include "acm/file_io.hpp"
#include "acm/xml/policy_loader.hpp"
#include "resources/label_store.hpp"
#include "resources/resource_name.hpp"
#include "resources/root_fs.hpp"
#include "devices/device_host.hpp"
#include "xend/xend.hpp"
#include "xend/policy_text.hpp"
#include "xend/xserr.hpp"

namespace shype::xend {
namespace {

namespace fs = std::filesystem;

// A message shown as Python's repr() showed it (reference 1.1): single
// quotes, or double quotes when the text holds a single quote.
std::string quoted(const std::string& text) {
  return text.find('\'') == std::string::npos ? "'" + text + "'" : "\"" + text + "\"";
}

}  // namespace

// Splits "[ACM:]policy" (resources) and "ACM:policy" (mgt).
static rpc::Result<std::string> policy_argument(const std::string& text, bool type_required,
                                                const std::string& active) {
  if (text.empty()) return active;
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons > 1 || (type_required && colons != 1)) {
    return rpc::fail("Policy name in wrong format.");
  }
  if (colons == 0) return text;
  const std::string type = text.substr(0, text.find(':'));
  if (type != "ACM") return rpc::fail("Unsupported policytype '" + type + "'.");
  return text.substr(text.find(':') + 1);
}

RpcResult Xend::check_vm_label(const Json& params) {
  const std::string label = params.value("label", std::string());
  const std::string type = params.value("type", std::string("dom"));
  auto listed = list_labels(Json{{"policy", params.value("policy", std::string())},
                                 {"type", type}});
  if (!listed) return listed;
  const auto labels = (*listed)["labels"].get<std::vector<std::string>>();
  if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
    return rpc::fail("Label '" + label + "' not found.");
  }
  return Json{{"policy", (*listed)["policy"]}, {"label", label}};
}

RpcResult Xend::label_resource(const Json& params) {
  const std::string spec = params.value("resource", std::string());
  const std::string label = params.value("label", std::string());
  const std::string cwd = params.value("cwd", std::string("/"));
  auto policy = policy_argument(params.value("policy", std::string()), false,
                                policy_->model.header.name);
  if (!policy) return tl::unexpected(policy.error());
  auto name = resources::canonicalize(*rootfs_, spec, cwd, false);
  if (!name) {
    return rpc::fail(std::string("An error occurred labeling the resource: ") +
                     xserr_text(Xserr::bad_resource_format) + ": " + name.error().message);
  }
  auto current = resources_->get(*name);
  if (!current) return rpc::fail(current.error().to_string());
  if (*current) {
    return rpc::fail(quoted("'" + spec + "' is already labeled with '" +
                            (*current)->to_string() + "'"));
  }
  resources::ResourceLabel wanted{resources::LabelType::acm, *policy, label};
  if (label == resources::kInaccessibleLabel) {
    wanted = resources::ResourceLabel::inaccessible();
  } else {
    auto known = check_vm_label(Json{{"label", label}, {"policy", *policy}, {"type", "res"}});
    if (!known) return known;
  }
  const std::string canonical = name->to_string();
  for (const auto& [domid, record] : running_) {
    if (std::find(record.disks.begin(), record.disks.end(), canonical) != record.disks.end()) {
      return rpc::fail(std::string("An error occurred labeling the resource: ") +
                       xserr_text(Xserr::resource_in_use) + " (domain " + record.name + ")");
    }
  }
  if (auto set = resources_->set(*name, wanted); !set) {
    return rpc::fail(std::string("An error occurred labeling the resource: ") +
                     set.error().to_string());
  }
  log_.info("labeled resource " + canonical + " " + wanted.to_string());
  return Json{{"resource", canonical}, {"label", wanted.to_string()}};
}

RpcResult Xend::unlabel_resource(const Json& params) {
  const std::string spec = params.value("resource", std::string());
  auto name = resources::canonicalize(*rootfs_, spec, params.value("cwd", std::string("/")), false);
  if (!name) {
    return rpc::fail(std::string("An error occurred removing the label: ") +
                     xserr_text(Xserr::bad_resource_format) + ": " + name.error().message);
  }
  auto current = resources_->get(*name);
  if (!current) return rpc::fail(current.error().to_string());
  if (!*current) return rpc::fail(quoted("Resource not labeled"));
  const std::string canonical = name->to_string();
  for (const auto& [domid, record] : running_) {
    if (std::find(record.disks.begin(), record.disks.end(), canonical) != record.disks.end()) {
      return rpc::fail(std::string("An error occurred removing the label: ") +
                       xserr_text(Xserr::resource_in_use) + " (domain " + record.name + ")");
    }
  }
  if (auto removed = resources_->remove(*name); !removed) {
    return rpc::fail(std::string("An error occurred removing the label: ") +
                     removed.error().to_string());
  }
  log_.info("removed the label of resource " + canonical);
  return Json{{"resource", canonical}};
}

RpcResult Xend::get_resource_label(const Json& params) {
  const std::string spec = params.value("resource", std::string());
  auto name = resources::canonicalize(*rootfs_, spec, params.value("cwd", std::string("/")), false);
  if (!name) return rpc::fail(name.error().message);
  auto current = resources_->get(*name);
  if (!current) return rpc::fail(current.error().to_string());
  if (!*current) return rpc::fail(quoted("Resource not labeled"));
  return Json{{"resource", name->to_string()},
              {"label", (*current)->to_string()},
              {"type", resources::label_type_name((*current)->type)},
              {"policy", (*current)->policy},
              {"name", (*current)->label}};
}

RpcResult Xend::list_resources(const Json&) {
  Json rows = Json::array();
  for (const auto& entry : resources_->list()) {
    rows.push_back({{"resource", entry.resource.to_string()},
                    {"type", resources::label_type_name(entry.label.type)},
                    {"policy", entry.label.policy},
                    {"label", entry.label.label}});
  }
  return Json{{"resources", rows}};
}

// --- managed domains and Domain-0 ---------------------------------------------

RpcResult Xend::label_managed(const Json& params) {
  const std::string name = params.value("domain", std::string());
  const std::string label = params.value("label", std::string());
  const std::string& active = policy_->model.header.name;
  auto policy = policy_argument(params.value("policy", std::string()), true, active);
  if (!policy) return tl::unexpected(policy.error());
  const auto relabel_error = [](Xserr code, const std::string& detail = {}) {
    std::vector<std::string> details;
    std::size_t start = 0;
    while (start < detail.size()) {
      const auto end = std::min(detail.find('\n', start), detail.size());
      details.push_back(detail.substr(start, end - start));
      start = end + 1;
    }
    return rpc::fail(std::string("An error occurred relabeling the domain: ") + xserr_text(code),
                     Json{{"xserr", xserr_value(code)}, {"details", details}});
  };
  if (*policy != active) return relabel_error(Xserr::bad_label);
  const auto ssidref = policy_->compiled.numbering.vm_label_ssidref(label);
  if (!ssidref || label == acm::kNullLabel) return relabel_error(Xserr::bad_label);

  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  const auto running = std::find_if(domains->begin(), domains->end(), [&](const auto& d) {
    return d.name == name || (name == "Domain-0" && d.domid == 0);
  });
  if (running != domains->end()) {
    if (running->domid != 0) {
      // Manual 10.2.8: running user domains are relabeled through a policy
      // update, never one by one.
      return relabel_error(Xserr::vm_wrong_state,
                           "running user domains change labels only through a policy update");
    }
    // Domain-0: the new label must authorize every running domain (manual
    // 10.2.7); the hypervisor re-checks sharing and the Chinese Wall.
    std::vector<std::string> refusals;
    for (const auto& d : *domains) {
      if (d.domid == 0) continue;
      auto decision = hv_->get_decision(abi::kAcmGetBySsidref, *ssidref, abi::kAcmGetByDomid,
                                        d.domid, abi::AcmHook::authorization);
      if (!decision || *decision != abi::kAcmAccessPermitted) {
        refusals.push_back("domain '" + d.name + "' (" + std::to_string(d.domid) +
                           ") has STE types that label '" + label + "' does not include");
      }
    }
    if (!refusals.empty()) {
      std::string detail;
      for (const auto& r : refusals) detail += (detail.empty() ? "" : "\n") + r;
      return relabel_error(Xserr::vm_not_authorized, detail);
    }
    const abi::AcmRelabelEntry entry{0, *ssidref};
    auto outcome = hv_->relabel(std::span<const abi::AcmRelabelEntry>(&entry, 1));
    if (!outcome) {
      std::string detail;
      for (const auto& e : outcome.error().acm_errors) {
        detail += (detail.empty() ? "" : "\n") + hypervisor_error_text(e);
      }
      if (detail.empty()) detail = outcome.error().message;
      return relabel_error(Xserr::hv_op_failed, detail);
    }
    if (devices_) devices_->policy_changed();  // the bridges decide again
    if (auto boot = update_boot_dom0_label(label); !boot) {
      log_.error("Domain-0 relabel: boot entry: " + boot.error().to_string());
    }
    log_.info("Domain-0 relabeled to ACM:" + active + ":" + label);
    return Json{{"domain", "Domain-0"}, {"label", label}, {"ssidref", *ssidref}, {"running", true}};
  }
  const fs::path path = layout_.managed_domains / (name + ".json");
  auto text = acm::read_text_file(path);
  if (!text) return rpc::fail("Domain not found.");
  Json config = Json::parse(*text, nullptr, false);
  if (config.is_discarded()) return rpc::fail("the managed configuration of " + name + " is corrupt");
  config["access_control"] = {{"policy", active}, {"label", label}};
  if (auto w = acm::write_file_atomic(path, config.dump(2) + "\n", 0600); !w) {
    return rpc::fail(w.error().to_string());
  }
  return Json{{"domain", name}, {"label", label}, {"ssidref", 0}, {"running", false}};
}

RpcResult Xend::unlabel_managed(const Json& params) {
  const std::string name = params.value("domain", std::string());
  const fs::path path = layout_.managed_domains / (name + ".json");
  auto text = acm::read_text_file(path);
  if (!text) return rpc::fail("Domain not found.");
  Json config = Json::parse(*text, nullptr, false);
  if (config.is_discarded()) return rpc::fail("the managed configuration of " + name + " is corrupt");
  for (const auto& [domid, record] : running_) {
    if (record.name == name) {
      return rpc::fail(std::string("An error occurred removing the label: ") +
                       xserr_text(Xserr::vm_wrong_state));
    }
  }
  if (!config.contains("access_control") ||
      config["access_control"].value("label", std::string()) == acm::kUnlabeled) {
    return rpc::fail("Domain was not labeled.");
  }
  config.erase("access_control");
  if (auto w = acm::write_file_atomic(path, config.dump(2) + "\n", 0600); !w) {
    return rpc::fail(w.error().to_string());
  }
  return Json{{"domain", name}};
}

RpcResult Xend::get_managed_label(const Json& params) {
  const std::string name = params.value("domain", std::string());
  auto domains = hv_->list_domains();
  if (domains) {
    for (const auto& d : *domains) {
      if (d.name == name || (name == "Domain-0" && d.domid == 0)) {
        const auto index = d.ssidref & 0xffffu;
        const auto& labels = policy_->compiled.numbering.vm_labels;
        std::string label = index < labels.size() ? labels[index] : std::string(acm::kUnlabeled);
        if (label == acm::kNullLabel) label = std::string(acm::kUnlabeled);
        return Json{{"label", "ACM:" + policy_->model.header.name + ":" + label}};
      }
    }
  }
  auto text = acm::read_text_file(layout_.managed_domains / (name + ".json"));
  if (!text) return rpc::fail("Domain not found.");
  Json config = Json::parse(*text, nullptr, false);
  if (config.is_discarded() || !config.contains("access_control")) return Json{{"label", ""}};
  return Json{{"label", "ACM:" + config["access_control"].value("policy", std::string()) + ":" +
                            config["access_control"].value("label", std::string())}};
}

}  // namespace shype::xend
