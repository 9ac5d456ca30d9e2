// Domains: xm create and its checks (manual 10.2.4-10.2.7; reference
// xen-acm-tools.md 6.2), list, shutdown, destroy, pause, unpause, uptime,
// console, and managed (dormant) domains: new, start, delete.
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "acm/file_io.hpp"
#include "resources/label_store.hpp"
#include "resources/resource_name.hpp"
#include "resources/root_fs.hpp"
#include "rpc/base64.hpp"
#include "xend/xend.hpp"
#include "xmconfig/domain_config.hpp"
#include "xmconfig/json.hpp"

namespace shype::xend {
namespace {

namespace fs = std::filesystem;

std::string now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string label_string(const std::string& policy, const std::string& label) {
  return "ACM:" + policy + ":" + label;
}

}  // namespace

rpc::Result<xc::DomainInfo> Xend::find_domain(const Json& params) {
  const std::string wanted = params.value("domain", std::string());
  if (wanted.empty()) return rpc::fail("no domain given", nullptr, rpc::ErrorCode::invalid_params);
  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  for (const auto& d : *domains) {
    if (d.name == wanted || std::to_string(d.domid) == wanted) return d;
  }
  return rpc::fail("Domain '" + wanted + "' does not exist.");
}

// The create checks, in the manual's order: policy name, label known,
// Domain-0 authorization, Chinese Wall, then every disk's label. Nothing
// runs unless all pass; the hypervisor checks authorization and the
// Chinese Wall again when it creates the domain.
RpcResult Xend::start_from_config(const Json& config_json, const std::string& config_file,
                                  bool paused, bool managed) {
  Json plain = config_json;
  plain.erase("xend_cwd");  // xm's working directory, kept beside the configuration
  auto parsed = xmconfig::domain_config_from_json(plain);
  if (!parsed) return rpc::fail(parsed.error().to_string());
  const xmconfig::DomainConfig& config = *parsed;
  const std::string& active = policy_->model.header.name;
  const auto& numbering = policy_->compiled.numbering;

  std::string label(acm::kUnlabeled);
  if (config.access_control) {
    if (config.access_control->policy != active) {
      return rpc::fail("Security policy (" + config.access_control->policy +
                       ") incompatible with enforced policy (" + active + ").");
    }
    label = config.access_control->label;
  }
  const auto ssidref = numbering.vm_label_ssidref(label);
  if (!ssidref) return rpc::fail("Label '" + label + "' not found.");

  auto authorized = hv_->get_decision(abi::kAcmGetByDomid, 0, abi::kAcmGetBySsidref, *ssidref,
                                      abi::AcmHook::authorization);
  if (!authorized) return rpc::fail("cannot ask the hypervisor: " + authorized.error().to_string());
  if (*authorized != abi::kAcmAccessPermitted) return rpc::fail("VM is not authorized to run.");

  auto admissible = hv_->get_decision(abi::kAcmGetBySsidref, *ssidref, abi::kAcmGetBySsidref,
                                      *ssidref, abi::AcmHook::conflictset);
  if (!admissible) return rpc::fail("cannot ask the hypervisor: " + admissible.error().to_string());
  if (*admissible != abi::kAcmAccessPermitted) {
    return rpc::fail("'Domain in conflict set with running domains'");
  }

  std::vector<std::string> disks;
  const std::string cwd = config_json.value("xend_cwd", std::string("/"));
  for (const auto& disk : config.disks) {
    if (disk.uname.empty()) continue;  // an empty CD-ROM drive
    // The manual's checks and messages (xend_blk.cpp).
    auto access = check_disk_access(disk.uname, cwd, *ssidref, config.access_control.has_value());
    if (!access) return tl::unexpected(access.error());
    disks.push_back(access->resource);
  }

  auto kernel = rootfs_->open_in_root(config.kernel, O_RDONLY);
  if (!kernel) return rpc::fail("Kernel image does not exist: " + config.kernel);

  xc::DomainSpec spec;
  spec.name = config.name;
  spec.kernel = kernel->get();
  spec.memory_mib = config.memory;
  spec.ssidref = *ssidref;
  spec.cmdline = config.cmdline;
  spec.start_paused = true;  // unpaused once recorded and scheduled
  auto domid = hv_->create_domain(spec);
  if (!domid) {
    const auto& e = domid.error();
    if (e.code == EEXIST) {
      return rpc::fail("VM name '" + config.name + "' already in use by another domain");
    }
    if (e.code == EACCES) return rpc::fail("'Domain in conflict set with running domains'");
    if (e.code == EPERM) return rpc::fail("VM is not authorized to run.");
    return rpc::fail("creating the domain failed: " + e.to_string());
  }
  DomainRecord record;
  record.domid = *domid;
  record.name = config.name;
  record.config_file = config_file;
  record.config = config_json;
  record.disks = disks;
  record.created_at = now_iso8601();
  record.managed = managed;
  if (auto saved = save_record(record); !saved) {
    (void)hv_->destroy_domain(*domid);
    return rpc::fail("cannot record the domain: " + saved.error().to_string());
  }
  running_[*domid] = record;
  if (auto tuned = apply_scheduling(*domid, config_json); !tuned) {
    log_.warning("domain " + config.name + ": " + tuned.error().message);
  }
  if (auto attached = attach_devices(*domid, config.name, config_json); !attached) {
    (void)hv_->destroy_domain(*domid);
    release_devices(*domid);
    drop_record(*domid);
    return rpc::fail("starting " + config.name + " failed: " + attached.error().message);
  }
  if (!paused) {
    if (auto resumed = hv_->unpause_domain(*domid); !resumed) {
      (void)hv_->destroy_domain(*domid);
      release_devices(*domid);
      drop_record(*domid);
      return rpc::fail("starting the domain failed: " + resumed.error().to_string());
    }
  }
  // A driver domain started again: its clients get their disks back.
  reattach_clients_of(config.name);
  log_.info("started domain " + config.name + " (" + std::to_string(*domid) + ") with label " +
            label_string(active, label) + (disks.empty() ? "" : ", " + std::to_string(disks.size()) +
                                                                     " disks checked"));
  return Json{{"domid", *domid}, {"name", config.name}, {"label", label_string(active, label)}};
}

// Parses a configuration xm sent (text, file name, var=value overrides) and
// returns its JSON form with xm's working directory kept for relative paths.
static rpc::Result<Json> config_from_params(const Json& params) {
  const std::string text = params.value("config", std::string());
  const std::string file = params.value("file", std::string("config"));
  std::vector<xmconfig::Override> overrides;
  for (const auto& o : params.value("overrides", Json::array())) {
    auto parsed = xmconfig::parse_override(o.get<std::string>());
    if (!parsed) return rpc::fail(parsed.error().to_string());
    overrides.push_back(std::move(*parsed));
  }
  auto config = xmconfig::parse_domain_config(text, file, overrides);
  if (!config) return rpc::fail(config.error().to_string());
  Json json = xmconfig::to_json(*config);
  json["xend_cwd"] = params.value("cwd", std::string("/"));
  return json;
}

RpcResult Xend::create_domain(const Json& params) {
  auto config = config_from_params(params);
  if (!config) return tl::unexpected(config.error());
  return start_from_config(*config, params.value("file", std::string()),
                           params.value("paused", false), false);
}

RpcResult Xend::list_domains(const Json& params) {
  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  const std::string& active = policy_->model.header.name;
  const auto& vm_labels = policy_->compiled.numbering.vm_labels;
  Json rows = Json::array();
  std::uint64_t dom0_memory = 0;
  if (auto phys = hv_->physinfo()) dom0_memory = phys->free_memory_kib / 1024;
  for (const auto& d : *domains) {
    const auto index = d.ssidref & 0xffffu;
    std::string label = index < vm_labels.size() ? vm_labels[index] : std::string();
    if (label.empty() || label == acm::kNullLabel) label = std::string(acm::kUnlabeled);
    Json row = {{"name", d.name},
                {"domid", d.domid},
                {"memory", d.domid == 0 && d.memory_kib == 0 ? dom0_memory : d.memory_kib / 1024},
                {"vcpus", d.vcpus},
                {"state", d.state_string()},
                {"cpu_time", static_cast<double>(d.cpu_time_ns) / 1e9},
                {"ssidref", d.ssidref},
                {"label", label_string(active, label)}};
    if (const auto r = running_.find(d.domid); r != running_.end()) {
      row["config_file"] = r->second.config_file;
      row["disks"] = r->second.disks;
      row["created_at"] = r->second.created_at;
      if (params.value("long", false)) row["config"] = r->second.config;
    }
    rows.push_back(std::move(row));
  }
  // Dormant managed domains (manual 10.2.8: ID -1, state ------).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(layout_.managed_domains, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = acm::read_text_file(entry.path());
    if (!text) continue;
    Json config = Json::parse(*text, nullptr, false);
    if (config.is_discarded()) continue;
    const std::string name = config.value("name", std::string());
    const bool is_running = std::any_of(domains->begin(), domains->end(),
                                        [&](const xc::DomainInfo& d) { return d.name == name; });
    if (is_running) continue;
    std::string label = label_string(active, std::string(acm::kUnlabeled));
    if (config.contains("access_control")) {
      label = label_string(config["access_control"].value("policy", std::string()),
                           config["access_control"].value("label", std::string()));
    }
    Json row = {{"name", name},   {"domid", -1},         {"memory", config.value("memory", 128)},
                {"vcpus", config.value("vcpus", 1)}, {"state", "------"}, {"cpu_time", 0.0},
                {"label", label}, {"managed", true}};
    if (params.value("long", false)) row["config"] = config;
    rows.push_back(std::move(row));
  }
  return Json{{"domains", rows}, {"policy", active}};
}

RpcResult Xend::shutdown_domain(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (domain->domid == 0) return rpc::fail("Domain-0 cannot be shut down.");
  const std::string reason = params.value("reason", std::string("poweroff"));
  const auto code = reason == "reboot" ? abi::ShutdownReason::reboot : abi::ShutdownReason::poweroff;
  if (auto done = hv_->request_shutdown(domain->domid, code); !done) {
    return rpc::fail("shutting down " + domain->name + " failed: " + done.error().to_string());
  }
  return Json{{"domid", domain->domid}, {"name", domain->name}};
}

RpcResult Xend::destroy_domain(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (domain->domid == 0) return rpc::fail("Domain-0 cannot be destroyed.");
  if (auto done = hv_->destroy_domain(domain->domid); !done) {
    return rpc::fail("destroying " + domain->name + " failed: " + done.error().to_string());
  }
  release_devices(domain->domid);
  drop_record(domain->domid);
  log_.info("destroyed domain " + domain->name + " (" + std::to_string(domain->domid) + ")");
  return Json{{"domid", domain->domid}, {"name", domain->name}};
}

RpcResult Xend::pause_domain(const Json& params, bool pause) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (domain->domid == 0) return rpc::fail("Domain-0 cannot be paused.");
  auto done = pause ? hv_->pause_domain(domain->domid) : hv_->unpause_domain(domain->domid);
  if (!done) return rpc::fail(done.error().to_string());
  return Json{{"domid", domain->domid}, {"name", domain->name}};
}

RpcResult Xend::console_read(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  auto chunk = hv_->console_read(domain->domid, params.value("offset", std::uint64_t{0}));
  if (!chunk) return rpc::fail(chunk.error().to_string());
  return Json{{"data", rpc::base64_encode(chunk->bytes)},
              {"next", chunk->next_offset},
              {"lost", chunk->lost},
              {"state", domain->state_string()}};
}

RpcResult Xend::console_write(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  auto bytes = rpc::base64_decode(params.value("data", std::string()));
  if (!bytes) return rpc::fail("console input is not base64", nullptr, rpc::ErrorCode::invalid_params);
  if (auto done = hv_->console_write(domain->domid, *bytes); !done) {
    return rpc::fail(done.error().to_string());
  }
  return Json{{"written", bytes->size()}};
}

// --- managed domains (xm new / start / delete; manual 10.2.8) ---------------

namespace {

fs::path managed_path(const Layout& layout, const std::string& name) {
  return layout.managed_domains / (name + ".json");
}

}  // namespace

RpcResult Xend::new_managed(const Json& params) {
  auto config = config_from_params(params);
  if (!config) return tl::unexpected(config.error());
  const std::string name = config->value("name", std::string());
  if (auto w = acm::write_file_atomic(managed_path(layout_, name), config->dump(2) + "\n", 0600);
      !w) {
    return rpc::fail(w.error().to_string());
  }
  return Json{{"name", name}};
}

RpcResult Xend::start_managed(const Json& params) {
  const std::string name = params.value("domain", std::string());
  auto text = acm::read_text_file(managed_path(layout_, name));
  if (!text) return rpc::fail("Domain '" + name + "' does not exist.");
  Json config = Json::parse(*text, nullptr, false);
  if (config.is_discarded()) return rpc::fail("the managed configuration of " + name + " is corrupt");
  return start_from_config(config, "", params.value("paused", false), true);
}

RpcResult Xend::delete_managed(const Json& params) {
  const std::string name = params.value("domain", std::string());
  const fs::path path = managed_path(layout_, name);
  if (!fs::exists(path)) return rpc::fail("Domain '" + name + "' does not exist.");
  for (const auto& [domid, record] : running_) {
    if (record.name == name) return rpc::fail("Domain '" + name + "' is running; shut it down first.");
  }
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return rpc::fail("cannot delete " + path.string() + ": " + ec.message());
  return Json{{"name", name}};
}

RpcResult Xend::dry_run(const Json& params) {
  auto config_json = config_from_params(params);
  if (!config_json) return tl::unexpected(config_json.error());
  Json plain = *config_json;
  plain.erase("xend_cwd");
  auto config = xmconfig::domain_config_from_json(plain);
  if (!config) return rpc::fail(config.error().to_string());
  const std::string& active = policy_->model.header.name;
  const auto& numbering = policy_->compiled.numbering;
  Json result = {{"name", config->name}, {"policy", active}};
  std::string label(acm::kUnlabeled);
  std::string label_policy = active;
  bool domain_ok = true;
  std::string domain_reason;
  if (config->access_control) {
    label = config->access_control->label;
    label_policy = config->access_control->policy;
  }
  const auto ssidref = numbering.vm_label_ssidref(label);
  if (label_policy != active) {
    domain_ok = false;
    domain_reason = "Security policy (" + label_policy + ") incompatible with enforced policy (" +
                    active + ")";
  } else if (!ssidref) {
    domain_ok = false;
    domain_reason = config->access_control ? "Label '" + label + "' not found"
                                           : std::string("Domain not labeled");
  } else {
    auto authorized = hv_->get_decision(abi::kAcmGetByDomid, 0, abi::kAcmGetBySsidref, *ssidref,
                                        abi::AcmHook::authorization);
    if (!authorized || *authorized != abi::kAcmAccessPermitted) {
      domain_ok = false;
      domain_reason = "VM is not authorized to run";
    }
  }
  result["domain"] = {{"permitted", domain_ok}, {"reason", domain_reason},
                      {"label", label}, {"policy", label_policy}};
  Json disks = Json::array();
  bool all_ok = domain_ok;
  if (domain_ok) {
    const std::string cwd = config_json->value("xend_cwd", std::string("/"));
    for (const auto& disk : config->disks) {
      if (disk.uname.empty()) continue;
      Json row = {{"resource", disk.uname}};
      auto name = resources::canonicalize(*rootfs_, disk.uname, cwd, false);
      std::string res_label(acm::kUnlabeled);
      std::string res_policy = active;
      std::string res_type = "ACM";
      acm::Ssidref res_ssidref = acm::kUnlabeledSsidref;
      bool ok = static_cast<bool>(name);
      if (name) {
        auto stored = resources_->get(*name);
        if (stored && *stored) {
          res_label = (*stored)->label;
          res_policy = (*stored)->policy;
          res_type = std::string(resources::label_type_name((*stored)->type));
          if ((*stored)->type != resources::LabelType::acm ||
              res_label == resources::kInaccessibleLabel) {
            ok = false;
          } else if (res_policy == active) {
            const auto known = numbering.resource_label_ssidref(res_label);
            ok = known.has_value();
            if (known) res_ssidref = *known;
          }
        }
      }
      if (ok) {
        auto shared = hv_->get_decision(abi::kAcmGetBySsidref, *ssidref, abi::kAcmGetBySsidref,
                                        res_ssidref, abi::AcmHook::sharing);
        ok = shared && *shared == abi::kAcmAccessPermitted;
      }
      row["permitted"] = ok;
      row["label"] = res_label;
      row["label_policy"] = res_type + ":" + res_policy;
      all_ok = all_ok && ok;
      disks.push_back(std::move(row));
    }
  }
  result["disks"] = disks;
  result["passed"] = all_ok;
  return result;
}

}  // namespace shype::xend
