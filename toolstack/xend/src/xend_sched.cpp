// Save and restore (manual 8.1), scheduling (4.2.2, 7) and uptime (4.2.1).
#include <algorithm>

#include "resources/label_store.hpp"
#include "resources/resource_name.hpp"
#include "resources/root_fs.hpp"
#include "xend/xend.hpp"

namespace shype::xend {
namespace {

namespace fs = std::filesystem;

// A file xm named, in the host's namespace: relative names are relative to
// xm's working directory (in the root's namespace).
fs::path host_file(const resources::RootFs& root, const std::string& file, const std::string& cwd) {
  if (!file.empty() && file.front() == '/') return root.host_path(file);
  return root.host_path((fs::path(cwd.empty() ? "/" : cwd) / file).string());
}

}  // namespace

acm::Status Xend::apply_scheduling(std::uint16_t domid, const Json& config) {
  const auto weight = config.value("cpu_weight", 256u);
  const auto cap = config.value("cpu_cap", 0u);
  if (weight != 256u || cap != 0u) {
    auto set = hv_->sched_credit_set(domid, static_cast<std::uint16_t>(weight),
                                     static_cast<std::uint16_t>(cap));
    if (!set) {
      return acm::make_error(acm::Errc::unsupported,
                             "cpu_weight/cpu_cap not applied: " + set.error().to_string());
    }
  }
  if (config.contains("cpus")) {
    auto phys = hv_->physinfo();
    if (!phys) return acm::make_error(acm::Errc::io_error, phys.error().to_string());
    auto cpus = xc::parse_cpu_list(config["cpus"].get<std::string>(), phys->nr_cpus);
    if (!cpus) return acm::make_error(acm::Errc::invalid_argument, "cpus: " + cpus.error().message);
    if (auto pinned = hv_->set_vcpu_affinity(domid, 0, *cpus); !pinned) {
      return acm::make_error(acm::Errc::io_error, "cpus not applied: " + pinned.error().to_string());
    }
  }
  return {};
}

RpcResult Xend::uptime(const Json& params) {
  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  const auto wanted = params.value("domains", std::vector<std::string>{});
  Json rows = Json::array();
  for (const auto& d : *domains) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), d.name) == wanted.end() &&
        std::find(wanted.begin(), wanted.end(), std::to_string(d.domid)) == wanted.end()) {
      continue;
    }
    rows.push_back({{"name", d.name},
                    {"domid", d.domid},
                    {"start_time", d.start_time_ns / 1'000'000'000ull},
                    {"uptime", d.uptime_ns / 1'000'000'000ull}});
  }
  if (rows.empty() && !wanted.empty()) return rpc::fail("Domain '" + wanted.front() + "' does not exist.");
  return Json{{"domains", rows}};
}

RpcResult Xend::save_domain(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  if (domain->domid == 0) return rpc::fail("Domain-0 cannot be saved.");
  const std::string file = params.value("file", std::string());
  if (file.empty()) return rpc::fail("save needs a file", nullptr, rpc::ErrorCode::invalid_params);
  const fs::path path = host_file(*rootfs_, file, params.value("cwd", std::string("/")));
  Json record = Json::object();
  if (const auto r = running_.find(domain->domid); r != running_.end()) {
    record = {{"config", r->second.config},
              {"config_file", r->second.config_file},
              {"disks", r->second.disks},
              {"managed", r->second.managed},
              // What it has now, hot-plugged included: its restore attaches these.
              {"attached_disks", r->second.attached_disks},
              {"attached_vifs", attached_vifs_json(r->second.attached_vifs)}};
  }
  const std::string bytes = record.dump();
  // SAFETY: char and uint8_t have the same size and representation.
  const std::span<const std::uint8_t> view(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                           bytes.size());
  auto image = hv_->save_domain(domain->domid, view);
  if (!image) return rpc::fail("Saving " + domain->name + " failed: " + image.error().to_string());
  release_devices(domain->domid);  // it suspended and is gone: its backends go too
  drop_record(domain->domid);
  if (auto written = xc::write_save_file(image->fd.get(), path); !written) {
    // The domain exists only in the image now: bring it back rather than
    // lose it.
    log_.error("save " + domain->name + ": " + path.string() +
               " could not be written: " + written.error().to_string() + "; resuming it");
    std::string outcome = "the domain was resumed";
    auto info = xc::inspect_save_image(image->fd.get());
    if (!info) {
      outcome = "the domain could not be resumed: " + info.error().to_string();
    } else if (auto back = restore_image(image->fd.get(), *info, false, "its unsaved image"); !back) {
      outcome = "the domain could not be resumed: " + back.error().message;
    }
    log_.error("save " + domain->name + ": " + outcome);
    return rpc::fail("Saving " + domain->name + " failed: " + written.error().to_string() + " (" +
                     outcome + ")");
  }
  log_.info("saved domain " + domain->name + " to " + path.string() + " (" +
            std::to_string(image->size) + " bytes)");
  return Json{{"name", domain->name}, {"file", file}, {"bytes", image->size}};
}

RpcResult Xend::restore_domain(const Json& params) {
  const std::string file = params.value("file", std::string());
  const fs::path path = host_file(*rootfs_, file, params.value("cwd", std::string("/")));
  auto image = xc::read_save_file(path);
  if (!image) return rpc::fail("Restoring from " + file + " failed: " + image.error().to_string());
  auto info = xc::inspect_save_image(image->fd.get());
  if (!info) return rpc::fail("Restoring from " + file + " failed: " + info.error().to_string());
  return restore_image(image->fd.get(), *info, params.value("paused", false), file);
}

RpcResult Xend::restore_image(int image_fd, const xc::SaveImageInfo& image_info, bool paused,
                              const std::string& file) {
  const xc::SaveImageInfo* info = &image_info;
  // The label is looked up again under the policy in force now (manual
  // 10.3.3: restore is subject to access control like a start).
  const std::string label = info->label.empty() ? std::string(acm::kUnlabeled) : info->label;
  const auto ssidref = policy_->compiled.numbering.vm_label_ssidref(label);
  if (!ssidref) return rpc::fail("Label '" + label + "' not found.");
  auto authorized = hv_->get_decision(abi::kAcmGetByDomid, 0, abi::kAcmGetBySsidref, *ssidref,
                                      abi::AcmHook::authorization);
  if (!authorized || *authorized != abi::kAcmAccessPermitted) {
    return rpc::fail("VM is not authorized to run.");
  }
  Json record = Json::parse(info->toolstack_record.begin(), info->toolstack_record.end(), nullptr,
                            false);
  if (record.is_discarded()) record = Json::object();
  // Restored paused: its devices are introduced again before it runs (it
  // reconnects from _start as on a fresh boot).
  auto domid = hv_->restore_domain(image_fd, *ssidref, true);
  if (!domid) {
    const auto& e = domid.error();
    if (e.code == EACCES) return rpc::fail("'Domain in conflict set with running domains'");
    if (e.code == EPERM) return rpc::fail("VM is not authorized to run.");
    return rpc::fail("Restoring from " + file + " failed: " + e.to_string());
  }
  const Json restored_config = record.value("config", Json::object());
  // Known before its devices are attached, so that its record keeps them
  // (attached_disks, attached_vifs) for a later xend.
  if (record.contains("config")) {
    DomainRecord r;
    r.domid = *domid;
    r.name = info->name;
    r.config = record["config"];
    r.config_file = record.value("config_file", std::string());
    r.disks = record.value("disks", std::vector<std::string>{});
    r.managed = record.value("managed", false);
    running_[*domid] = std::move(r);
  }
  const auto undo = [&] {
    (void)hv_->destroy_domain(*domid);
    release_devices(*domid);
    drop_record(*domid);
  };
  // The devices it had when it was saved; an image from before records
  // were kept gets its configuration's.
  std::optional<RecordedDevices> recorded;
  if (record.contains("attached_disks") || record.contains("attached_vifs")) {
    recorded.emplace();
    std::size_t damaged = 0;
    if (record.contains("attached_disks")) {
      const Json& disks = record["attached_disks"];
      if (!disks.is_array()) ++damaged;
      for (const auto& d : disks.is_array() ? disks : Json::array()) {
        if (d.is_string()) {
          recorded->disks.push_back(d.get<std::string>());
        } else {
          ++damaged;
        }
      }
    }
    if (record.contains("attached_vifs")) {
      const Json& vifs = record["attached_vifs"];
      recorded->vifs = attached_vifs_from_json(vifs);
      const std::size_t listed = vifs.is_array() ? vifs.size() : 1;
      damaged += listed - recorded->vifs.size();
    }
    if (damaged != 0) {
      log_.warning("restore " + file + ": " + std::to_string(damaged) +
                   " damaged device entries in the image are left out");
    }
  }
  if (auto attached = attach_devices(*domid, info->name, restored_config,
                                     recorded ? &*recorded : nullptr);
      !attached) {
    undo();
    return rpc::fail("Restoring from " + file + " failed: " + attached.error().message);
  }
  if (!paused) {
    if (auto resumed = hv_->unpause_domain(*domid); !resumed) {
      undo();
      return rpc::fail("Restoring from " + file + " failed: " + resumed.error().to_string());
    }
  }
  if (const auto r = running_.find(*domid); r != running_.end()) {
    remember_device_ports(r->second);
    if (auto saved = save_record(r->second); !saved) {
      log_.warning("domain " + info->name + ": " + saved.error().message);
    }
  }
  log_.info("restored domain " + info->name + " (" + std::to_string(*domid) + ") from " + file +
            " with label " + label);
  return Json{{"name", info->name}, {"domid", *domid}};
}

RpcResult Xend::sched_credit(const Json& params) {
  if (!params.contains("domain")) {
    auto domains = hv_->list_domains();
    if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
    Json rows = Json::array();
    for (const auto& d : *domains) {
      auto credit = hv_->sched_credit_get(d.domid);
      if (!credit) continue;
      rows.push_back({{"name", d.name}, {"domid", d.domid}, {"weight", credit->weight},
                      {"cap", credit->cap}});
    }
    return Json{{"domains", rows}};
  }
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  std::optional<std::uint16_t> weight;
  std::optional<std::uint16_t> cap;
  if (params.contains("weight")) {
    const auto w = params["weight"].get<std::uint64_t>();
    if (w < 1 || w > 65535) return rpc::fail("weight must be 1..65535");
    weight = static_cast<std::uint16_t>(w);
  }
  if (params.contains("cap")) {
    const auto c = params["cap"].get<std::uint64_t>();
    if (c > 65534) return rpc::fail("cap must be 0..65534");
    cap = static_cast<std::uint16_t>(c);
  }
  auto credit = (weight || cap) ? hv_->sched_credit_set(domain->domid, weight, cap)
                                : hv_->sched_credit_get(domain->domid);
  if (!credit) return rpc::fail(credit.error().to_string());
  return Json{{"domains", Json::array({{{"name", domain->name},
                                        {"domid", domain->domid},
                                        {"weight", credit->weight},
                                        {"cap", credit->cap}}})}};
}

RpcResult Xend::vcpu_pin(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  const std::string vcpu = params.value("vcpu", std::string("0"));
  if (vcpu != "0" && vcpu != "all") {
    return rpc::fail("VCPU " + vcpu + " does not exist (domains have one VCPU, 0)");
  }
  auto phys = hv_->physinfo();
  if (!phys) return rpc::fail(phys.error().to_string());
  auto cpus = xc::parse_cpu_list(params.value("cpus", std::string("all")), phys->nr_cpus);
  if (!cpus) return rpc::fail(cpus.error().message);
  if (auto pinned = hv_->set_vcpu_affinity(domain->domid, 0, *cpus); !pinned) {
    return rpc::fail(pinned.error().to_string());
  }
  return Json{{"name", domain->name}, {"cpus", xc::format_cpu_list(*cpus)}};
}

RpcResult Xend::vcpu_list(const Json& params) {
  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  const auto wanted = params.value("domains", std::vector<std::string>{});
  Json rows = Json::array();
  for (const auto& d : *domains) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), d.name) == wanted.end() &&
        std::find(wanted.begin(), wanted.end(), std::to_string(d.domid)) == wanted.end()) {
      continue;
    }
    Json row = {{"name", d.name}, {"domid", d.domid}, {"vcpu", 0},
                {"cpu_time", static_cast<double>(d.cpu_time_ns) / 1e9}};
    std::string state = d.running() ? "r" : d.blocked() ? "b" : d.paused() ? "p" : "-";
    row["state"] = state + "-";
    if (auto affinity = hv_->vcpu_affinity(d.domid, 0)) {
      row["cpu"] = affinity->cpu >= 0 ? std::to_string(affinity->cpu) : std::string("-");
      row["affinity"] = affinity->any() ? std::string("any cpu")
                                        : xc::format_cpu_list(affinity->cpus);
    }
    rows.push_back(std::move(row));
  }
  return Json{{"vcpus", rows}};
}

}  // namespace shype::xend
