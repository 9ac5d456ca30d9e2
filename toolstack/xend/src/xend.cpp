// Xend's life: connecting to the hypervisor, the stores, the records of
// running domains, and reacting to domains that shut down or crash.
#include <sched.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>

#include "acm/file_io.hpp"
#include "devices/device_host.hpp"
#include "resources/label_store.hpp"
#include "resources/root_fs.hpp"
#include "xend/xend.hpp"
#include "xmconfig/json.hpp"

namespace shype::xend {

namespace fs = std::filesystem;

Xend::Xend(Layout layout, hv::Log& log) : layout_(std::move(layout)), log_(log) {}
Xend::~Xend() = default;

// xend is Domain-0: when boot.conf sets CPUs apart for Domain-0
// (dom0_cpus), xend and its device backends run there too, off the
// guests' CPUs (hv/cpu_placement.hpp).
void Xend::run_on_domain0_cpus() {
  auto dom0 = hv_->vcpu_affinity(0);
  if (!dom0) {
    log_.warning("cannot read Domain-0's CPUs: " + dom0.error().to_string());
    return;
  }
  if (dom0->any()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const std::uint32_t cpu : dom0->cpus) {
    if (cpu < CPU_SETSIZE) CPU_SET(cpu, &set);
  }
  // Every thread xend has so far (later ones inherit the affinity).
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
    const pid_t tid = std::stoi(task.path().filename().string());
    if (::sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) {
      log_.warning("cannot run on Domain-0's CPUs " + xc::format_cpu_list(dom0->cpus) + ": " +
                   std::strerror(errno));
      return;
    }
  }
  log_.info("running on Domain-0's CPUs " + xc::format_cpu_list(dom0->cpus));
}

acm::Status Xend::start() {
  for (const fs::path& dir : {layout_.store, layout_.running_domains, layout_.managed_domains,
                              layout_.run_dir, layout_.admin_policies}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return acm::make_error(acm::Errc::io_error,
                             "cannot create '" + dir.string() + "': " + ec.message());
    }
  }
  auto connection = xc::Connection::open(layout_.root, std::chrono::seconds(30));
  if (!connection) {
    return acm::make_error(acm::Errc::io_error, "cannot reach the hypervisor under " +
                                                    layout_.root.string() + ": " +
                                                    connection.error().to_string());
  }
  hv_ = std::move(*connection);
  run_on_domain0_cpus();  // before the device thread starts: it inherits them
  if (auto host = devices::DeviceHost::start(layout_.root, log_)) {
    devices_ = std::move(*host);
  } else {
    log_.warning("no split devices (" + host.error().message +
                 "); domains get the hypervisor console only");
  }
  rootfs_ = std::make_unique<resources::RootFs>(layout_.root);
  auto store = resources::ResourceLabelStore::open(layout_.resource_labels,
                                                   resources::RootFs(layout_.root));
  if (!store) return tl::unexpected(store.error());
  resources_ = std::make_unique<resources::ResourceLabelStore>(std::move(*store));
  if (auto adopted = adopt_or_reset_at_start(); !adopted) return adopted;
  auto virq = hv_->evtchn_bind_virq(abi::Virq::dom_exc);
  if (virq) {
    dom_exc_ = std::move(*virq);
  } else {
    log_.warning("no dom_exc notifications (" + virq.error().to_string() +
                 "); domain exits are noticed by polling");
  }
  load_domain_records();
  tick();
  return {};
}

acm::Status Xend::reconnect_if_needed() {
  if (hv_ && hv_->version()) return {};
  auto connection = xc::Connection::open(layout_.root, std::chrono::seconds(30));
  if (!connection) {
    hv_.reset();
    dom_exc_.reset();
    return acm::make_error(acm::Errc::io_error, connection.error().to_string());
  }
  log_.warning("the hypervisor restarted; connecting again");
  hv_ = std::move(*connection);
  dom_exc_.reset();
  if (auto adopted = adopt_or_reset_at_start(); !adopted) return adopted;
  if (auto virq = hv_->evtchn_bind_virq(abi::Virq::dom_exc)) dom_exc_ = std::move(*virq);
  load_domain_records();
  return {};
}

int Xend::domain_event_fd() const noexcept { return dom_exc_ ? dom_exc_->doorbell.get() : -1; }

// --- running-domain records -------------------------------------------------

Json attached_vifs_json(const std::vector<AttachedVif>& vifs) {
  Json out = Json::array();
  for (const auto& v : vifs) {
    out.push_back({{"devid", v.devid}, {"mac", v.mac}, {"bridge", v.bridge}, {"backend", v.backend}});
  }
  return out;
}

// A damaged entry is left out (that vif is not offered again); the rest of
// the record stands.
std::vector<AttachedVif> attached_vifs_from_json(const Json& j) {
  std::vector<AttachedVif> vifs;
  if (!j.is_array()) return vifs;
  for (const auto& v : j) {
    try {
      vifs.push_back(AttachedVif{v.at("devid").get<std::uint32_t>(), v.value("mac", std::string()),
                                 v.value("bridge", std::string()),
                                 v.value("backend", std::string())});
    } catch (const Json::exception&) {
    }
  }
  return vifs;
}

namespace {

Json record_json(const DomainRecord& r) {
  return Json{{"domid", r.domid},         {"name", r.name},       {"config_file", r.config_file},
              {"config", r.config},       {"disks", r.disks},     {"created_at", r.created_at},
              {"managed", r.managed},     {"console_port", r.console_port},
              {"store_port", r.store_port}, {"attached_disks", r.attached_disks},
              {"attached_vifs", attached_vifs_json(r.attached_vifs)}};
}

std::optional<DomainRecord> record_from_json(const Json& j) {
  try {
    DomainRecord r;
    r.domid = j.at("domid").get<std::uint16_t>();
    r.name = j.at("name").get<std::string>();
    r.config_file = j.value("config_file", std::string());
    r.config = j.at("config");
    r.disks = j.value("disks", std::vector<std::string>{});
    r.created_at = j.value("created_at", std::string());
    r.managed = j.value("managed", false);
    r.console_port = j.value("console_port", 0u);
    r.store_port = j.value("store_port", 0u);
    r.attached_disks = j.value("attached_disks", std::vector<std::string>{});
    if (j.contains("attached_vifs")) r.attached_vifs = attached_vifs_from_json(j["attached_vifs"]);
    return r;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

// Running-domain records are replaced whole (temporary file, rename) but not
// fsync'ed: they describe domains that live only as long as this host runs,
// so a power loss that could lose page-cache data also ends every domain
// they describe, and a crash of xend alone loses nothing. Policies, resource
// labels, managed domains and the boot entry are fsync'ed.
acm::Status Xend::save_record(const DomainRecord& record) {
  const fs::path path = layout_.running_domains / (std::to_string(record.domid) + ".json");
  const fs::path temp = path.string() + ".tmp";
  const std::string text = record_json(record).dump(2) + "\n";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return acm::make_error(acm::Errc::io_error, "cannot write '" + temp.string() + "'");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot rename '" + temp.string() + "': " + ec.message());
  }
  return {};
}

void Xend::drop_record(std::uint16_t domid) {
  running_.erase(domid);
  std::error_code ec;
  fs::remove(layout_.running_domains / (std::to_string(domid) + ".json"), ec);
}

// Keeps the records of domains the hypervisor still runs under the same
// name; drops the others (the hypervisor restarted, or a domain went away
// while xend was down).
void Xend::load_domain_records() {
  running_.clear();
  auto domains = hv_->list_domains();
  std::map<std::uint16_t, std::string> live;
  if (domains) {
    for (const auto& d : *domains) live[d.domid] = d.name;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(layout_.running_domains, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = acm::read_text_file(entry.path());
    std::optional<DomainRecord> record;
    if (text) {
      Json j = Json::parse(*text, nullptr, false);
      if (!j.is_discarded()) record = record_from_json(j);
    }
    const bool keep = record && live.contains(record->domid) && live[record->domid] == record->name;
    if (keep) {
      adopt_devices(*record);
      adopt_vtpm(*record);
      running_[record->domid] = std::move(*record);
    } else {
      fs::remove(entry.path(), ec);
    }
  }
  // Their disks, once every record is known (a disk may be served by a
  // driver domain whose record comes later).
  for (const auto& [domid, record] : running_) {
    if (record.console_port != 0 && record.store_port != 0) {
      reattach_disks(record, std::nullopt);
      reattach_vifs(record, std::nullopt);
    }
  }
  log_.info("knows " + std::to_string(running_.size()) + " running domains");
}

// Domains that shut down or crashed: apply on_poweroff / on_reboot /
// on_crash (destroy, restart, preserve).
void Xend::tick() {
  if (!hv_) return;
  if (!hv_->version()) {
    (void)reconnect_if_needed();
    return;
  }
  if (dom_exc_) (void)xc::Connection::wait_doorbell(dom_exc_->doorbell.get(),
                                                    std::chrono::milliseconds(0));
  reattach_vtpms_if_manager_restarted();
  auto domains = hv_->list_domains();
  if (!domains) return;
  std::map<std::uint16_t, xc::DomainInfo> live;
  for (const auto& d : *domains) live[d.domid] = d;
  for (auto it = running_.begin(); it != running_.end();) {
    const auto found = live.find(it->first);
    if (found == live.end() || found->second.name != it->second.name) {
      log_.info("domain " + it->second.name + " (" + std::to_string(it->first) + ") is gone");
      release_devices(it->first);
      std::error_code ec;
      fs::remove(layout_.running_domains / (std::to_string(it->first) + ".json"), ec);
      it = running_.erase(it);
      continue;
    }
    ++it;
  }
  for (const auto& [domid, info] : live) {
    if (domid == 0 || (!info.shutdown() && !info.crashed())) continue;
    if (info.shutdown() && info.shutdown_reason == abi::ShutdownReason::suspend) continue;
    const auto record = running_.find(domid);
    // Only domains xend started follow their configuration's actions;
    // others (started by another Domain-0 client) are left to their owner.
    if (record == running_.end()) continue;
    std::string action = info.crashed() ? "restart" : "destroy";
    Json config;
    if (record != running_.end()) {
      config = record->second.config;
      if (info.crashed()) {
        action = config.value("on_crash", std::string("restart"));
      } else if (info.shutdown_reason == abi::ShutdownReason::reboot) {
        action = config.value("on_reboot", std::string("restart"));
      } else {
        action = config.value("on_poweroff", std::string("destroy"));
      }
    }
    if (action == "preserve") continue;
    const std::string name = info.name;
    log_.info("domain " + name + " (" + std::to_string(domid) + ") " +
              (info.crashed() ? "crashed" : "shut down") + ": " + action);
    (void)hv_->destroy_domain(domid);
    release_devices(domid);
    if (record != running_.end()) {
      DomainRecord old = record->second;
      drop_record(domid);
      if ((action == "restart" || action == "rename-restart") && !config.is_null()) {
        auto restarted = start_from_config(config, old.config_file, false, old.managed);
        if (!restarted) {
          log_.error("restarting " + name + ": " + restarted.error().message);
        }
      }
    }
  }
}

// --- small methods ----------------------------------------------------------

RpcResult Xend::info(const Json&) {
  Json result = {{"xend", "shype xend"}, {"root", layout_.root.string()}};
  if (policy_) {
    result["policy"] = policy_->model.header.name;
    result["policy_version"] = policy_->model.header.version.to_string();
  }
  if (hv_) {
    if (auto version = hv_->version()) {
      result["hypervisor"] = std::to_string(version->major) + "." +
                             std::to_string(version->minor) + " " + version->extra;
    }
    if (auto phys = hv_->physinfo()) {
      result["nr_cpus"] = phys->nr_cpus;
      result["total_memory"] = phys->total_memory_kib / 1024;
      result["free_memory"] = phys->free_memory_kib / 1024;
    }
  }
  return result;
}

RpcResult Xend::audit_read(const Json& params) {
  const std::uint64_t from = params.value("from", std::uint64_t{1});
  auto chunk = hv_->audit_read(from);
  if (!chunk) return rpc::fail("cannot read the audit records: " + chunk.error().to_string());
  Json records = Json::array();
  for (const auto& line : chunk->records) {
    Json record = Json::parse(line, nullptr, false);
    records.push_back(record.is_discarded() ? Json(line) : record);
  }
  return Json{{"records", records}, {"next", chunk->next_seq}};
}

}  // namespace shype::xend
