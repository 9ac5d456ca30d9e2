// xend and the vTPM manager (docs/vtpm.md, "Domains and their vTPMs";
// manual 5.4): a configuration's `vtpm = ['instance=N, backend=0']` at
// create and restore, the instance's release when the domain goes, and
// `xm vtpm-list`. xend is a client of vtpm_managerd: the manager binds the
// domain to an instance (the manual's allocation rule), gives it the
// domain's label, starts it and attaches it to the domain, and the policy
// core (through the hypervisor) decides whether that domain may have it.
#include <sys/stat.h>

#include <chrono>

#include "acm/ssidref.hpp"
#include "xend/xend.hpp"

namespace shype::xend {

namespace {

constexpr auto kVtpmTimeout = std::chrono::milliseconds(30'000);

rpc::Result<rpc::Client> connect_manager(const std::filesystem::path& root) {
  const auto socket = vtpm_manager_socket(root);
  auto client = rpc::Client::connect(socket, std::chrono::milliseconds(2000));
  if (!client) {
    return rpc::fail("the vTPM manager is not running (no vtpm_managerd on " + socket.string() +
                     ")");
  }
  client->set_timeout(kVtpmTimeout);
  return std::move(*client);
}

// Which manager is listening: its socket's inode and change time (a
// manager that starts again binds a new socket).
std::optional<std::tuple<std::uint64_t, std::int64_t, std::int64_t>> manager_identity(
    const std::filesystem::path& root) {
  struct stat st {};
  if (::stat(vtpm_manager_socket(root).c_str(), &st) != 0) return std::nullopt;
  return std::tuple<std::uint64_t, std::int64_t, std::int64_t>{
      static_cast<std::uint64_t>(st.st_ino), static_cast<std::int64_t>(st.st_ctim.tv_sec),
      static_cast<std::int64_t>(st.st_ctim.tv_nsec)};
}

// The manager's row for `instance`, or null.
Json instance_row(rpc::Client& manager, std::uint32_t instance) {
  auto list = manager.call("vtpm.list", Json::object());
  if (!list) return Json();
  for (const auto& i : list->value("instances", Json::array())) {
    if (i.value("instance", 0u) == instance) return i;
  }
  return Json();
}

// Starts `instance` if it is not running and attaches it to `domid`; "" or
// why not.
std::string attach_again(rpc::Client& manager, std::uint32_t instance, std::uint16_t domid) {
  const Json row = instance_row(manager, instance);
  if (row.is_null()) return "the manager no longer has it";
  if (row.value("domid", Json()) == domid) return {};
  const Json ref = {{"ref", instance}};
  if (row.value("status", std::string()) != "running") {
    if (auto started = manager.call("vtpm.start", ref); !started) return started.error().message;
  }
  if (auto attached = manager.call("vtpm.attach", {{"ref", instance}, {"domid", domid}});
      !attached) {
    return attached.error().message;
  }
  return {};
}

// Logs how attach_again went for a domain.
void log_attach_again(hv::Log& log, const std::string& domain, std::uint32_t instance,
                      const std::string& why) {
  const std::string what = "domain " + domain + ": vTPM instance " + std::to_string(instance);
  if (why.empty()) {
    log.info(what + " attached again");
  } else {
    log.warning(what + " not attached again: " + why);
  }
}

}  // namespace

acm::Status Xend::attach_config_vtpm(std::uint16_t domid, const std::string& name,
                                     const Json& config_json) {
  const Json vtpms = config_json.value("vtpms", Json::array());
  if (vtpms.empty()) return {};
  const Json& spec = vtpms.front();  // the parser allows one entry
  const std::string backend = spec.value("backend", std::string("0"));
  if (backend != "0" && backend != "Domain-0") {
    return acm::make_error(acm::Errc::unsupported,
                           "vtpm: backend=" + backend +
                               " is not supported: the vTPM manager runs in Domain-0 (backend=0)");
  }
  // The domain's label, as the hypervisor has it: the vTPM carries it.
  std::string label;
  if (auto ssid = hv_->get_ssid(abi::kAcmGetByDomid, domid); ssid && policy_) {
    const auto index = acm::primary_half(ssid->ssidref);
    const auto& labels = policy_->compiled.numbering.vm_labels;
    if (index != 0 && index < labels.size()) {
      label = "ACM:" + policy_->model.header.name + ":" + labels[index];
    }
  }
  auto manager = connect_manager(layout_.root);
  if (!manager) return acm::make_error(acm::Errc::io_error, "vtpm: " + manager.error().message);
  Json create = {{"name", name}, {"label", label}};
  if (config_json.contains("uuid")) create["uuid"] = config_json["uuid"];
  if (spec.contains("instance")) create["instance"] = spec["instance"];
  auto created = manager->call("vtpm.create", create);
  if (!created) return acm::make_error(acm::Errc::io_error, "vtpm: " + created.error().message);
  const auto instance = created->value("instance", 0u);
  const Json ref = {{"ref", instance}};
  if (auto started = manager->call("vtpm.start", ref); !started) {
    return acm::make_error(acm::Errc::io_error, "vtpm: " + started.error().message);
  }
  if (auto attached = manager->call("vtpm.attach", {{"ref", instance}, {"domid", domid}});
      !attached) {
    (void)manager->call("vtpm.stop", ref);
    return acm::make_error(acm::Errc::update_rejected, "vtpm: " + attached.error().message);
  }
  vtpm_of_domain_[domid] = instance;
  vtpm_manager_seen_ = manager_identity(layout_.root);
  log_.info("domain " + name + " (" + std::to_string(domid) + "): vTPM instance " +
            std::to_string(instance) +
            (created->value("existing", false) ? " (its own, kept since an earlier start)" : "") +
            (label.empty() ? "" : " labeled " + label));
  return {};
}

void Xend::release_vtpm(std::uint16_t domid) {
  const auto found = vtpm_of_domain_.find(domid);
  if (found == vtpm_of_domain_.end()) return;
  const std::uint32_t instance = found->second;
  vtpm_of_domain_.erase(found);
  auto manager = connect_manager(layout_.root);
  if (!manager) {
    log_.warning("domain " + std::to_string(domid) + ": vTPM instance " +
                 std::to_string(instance) + " not stopped: " + manager.error().message);
    return;
  }
  // Stopping saves it: the binding and the state stay for the next start.
  (void)manager->call("vtpm.detach", {{"ref", instance}});
  if (auto stopped = manager->call("vtpm.stop", {{"ref", instance}}); !stopped) {
    log_.warning("vTPM instance " + std::to_string(instance) + ": " + stopped.error().message);
  }
}

void Xend::adopt_vtpm(const DomainRecord& record) {
  if (record.config.value("vtpms", Json::array()).empty()) return;
  auto manager = connect_manager(layout_.root);
  if (!manager) {
    log_.warning("domain " + record.name + ": its vTPM is not attached again: " +
                 manager.error().message);
    return;
  }
  vtpm_manager_seen_ = manager_identity(layout_.root);
  auto list = manager->call("vtpm.list", Json::object());
  if (!list) return;
  for (const auto& i : list->value("instances", Json::array())) {
    if (i.value("name", std::string()) != record.name) continue;
    const auto instance = i.value("instance", 0u);
    const Json attached_to = i.value("domid", Json());
    if (attached_to == record.domid) {
      vtpm_of_domain_[record.domid] = instance;
    } else if (attached_to.is_null()) {
      // The manager started again while this xend was away.
      const std::string why = attach_again(*manager, instance, record.domid);
      if (why.empty()) vtpm_of_domain_[record.domid] = instance;
      log_attach_again(log_, record.name, instance, why);
    }
  }
}

void Xend::reattach_vtpms_if_manager_restarted() {
  if (vtpm_of_domain_.empty()) return;
  const auto now = manager_identity(layout_.root);
  if (!now || now == vtpm_manager_seen_) return;  // down, or the same manager
  auto manager = connect_manager(layout_.root);
  if (!manager) return;  // not answering yet: next tick
  vtpm_manager_seen_ = now;
  log_.info("the vTPM manager started again; attaching the domains' instances again");
  for (const auto& [domid, instance] : vtpm_of_domain_) {
    const auto record = running_.find(domid);
    const std::string name = record != running_.end() ? record->second.name : std::to_string(domid);
    log_attach_again(log_, name, instance, attach_again(*manager, instance, domid));
  }
}

// xm vtpm-list <Domain>: the domain's vTPM as the manager sees it.
RpcResult Xend::vtpm_list(const Json& params) {
  auto domain = find_domain(params);
  if (!domain) return tl::unexpected(domain.error());
  Json devices = Json::array();
  const bool configured = [&] {
    const auto r = running_.find(domain->domid);
    return r != running_.end() && !r->second.config.value("vtpms", Json::array()).empty();
  }();
  if (configured || vtpm_of_domain_.count(domain->domid) != 0) {
    auto manager = connect_manager(layout_.root);
    if (!manager) return tl::unexpected(manager.error());
    auto list = manager->call("vtpm.list", Json::object());
    if (!list) return tl::unexpected(list.error());
    for (const auto& i : list->value("instances", Json::array())) {
      if (i.value("name", std::string()) != domain->name) continue;
      Json row = i;
      row["idx"] = devices.size();
      row["backend"] = 0;
      devices.push_back(std::move(row));
    }
  }
  return Json{{"domid", domain->domid}, {"name", domain->name}, {"devices", devices}};
}

}  // namespace shype::xend
