#include "vtpm/manager.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "vtpm/swtpm_ctrl.hpp"
#include "vtpm/worker.hpp"

namespace shype::vtpm {

namespace fs = std::filesystem;
using rpc::ErrorCode;
using rpc::fail;
using rpc::Json;

namespace {

constexpr auto kStartTimeout = std::chrono::milliseconds(5000);
constexpr auto kControlTimeout = std::chrono::milliseconds(3000);
constexpr auto kStopTimeout = std::chrono::milliseconds(3000);
// The blobs swtpm's directory backend keeps (swtpm 0.7).
constexpr const char* kStateFiles[] = {"tpm2-00.permall", "tpm2-00.volatilestate"};

tl::unexpected<rpc::RpcError> fail_from(const acm::Error& e) {
  return fail(e.message, nullptr,
              e.code == acm::Errc::invalid_argument || e.code == acm::Errc::not_found
                  ? ErrorCode::invalid_params
                  : ErrorCode::failed);
}

// A directory of mode 0700 owned by uid (created or fixed up).
acm::Status private_dir(const fs::path& dir, uid_t uid) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return acm::make_error(acm::Errc::io_error,
                           "cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0 ||
      (uid != ::geteuid() && ::chown(dir.c_str(), uid, static_cast<gid_t>(uid)) != 0)) {
    return acm::make_error(acm::Errc::io_error, "cannot set the owner and mode of " + dir.string() +
                                                    ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Manager::Manager(Layout layout, LogSink log) : layout_(std::move(layout)), log_(std::move(log)) {
  drop_privileges_ = ::geteuid() == 0 && std::getenv("SHYPE_VTPM_SAME_UID") == nullptr;
  platform_tcti_ = platform_tcti_from_environment();
}

Manager::~Manager() {
  shutdown();
}

acm::Status Manager::open() {
  for (const auto& dir : {layout_.state_dir, layout_.state_dir / "instances", layout_.run_dir}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return acm::make_error(acm::Errc::io_error,
                             "cannot create " + dir.string() + ": " + ec.message());
  }
  ::chmod(layout_.state_dir.c_str(), 0700);
  std::error_code ec;
  if (fs::exists(layout_.registry, ec)) {
    auto text = acm::read_text_file(layout_.registry);
    if (!text) return tl::unexpected(text.error());
    const Json stored = Json::parse(*text, nullptr, false);
    if (stored.is_discarded()) {
      return acm::make_error(acm::Errc::malformed_binary, "vTPM registry: not valid JSON",
                             {layout_.registry.string(), 0, 0});
    }
    auto loaded = Registry::from_json(stored, layout_.registry.string());
    if (!loaded) return tl::unexpected(loaded.error());
    registry_ = std::move(*loaded);
  }
  for (const auto& b : registry_.bindings()) {
    if (!b.autostart) continue;
    if (auto started = start(b.instance); !started) {
      log_("instance " + std::to_string(b.instance) + " (" + b.domain_name +
           ") did not start again: " + started.error().message);
    } else {
      log_("instance " + std::to_string(b.instance) + " (" + b.domain_name + ") started again");
    }
  }
  return {};
}

void Manager::shutdown() {
  while (!running_.empty()) {
    const std::uint32_t n = running_.begin()->first;
    if (auto stopped = stop(n, true); !stopped) {
      log_("instance " + std::to_string(n) + ": " + stopped.error().message);
      running_.erase(n);
    }
  }
}

acm::Status Manager::store_registry() const {
  return acm::write_file_atomic(layout_.registry, registry_.to_json().dump(2) + "\n", 0600);
}

void Manager::reap() {
  for (auto it = running_.begin(); it != running_.end();) {
    int status = 0;
    const pid_t r = ::waitpid(it->second.pid, &status, WNOHANG);
    if (r == it->second.pid || (r < 0 && errno == ECHILD)) {
      log_("instance " + std::to_string(it->first) + ": the worker (pid " +
           std::to_string(it->second.pid) + ") died unexpectedly (" +
           (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                : "status " + std::to_string(WEXITSTATUS(status))) +
           "); its saved state is kept");
      crashed_[it->first] = status;
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

Json Manager::describe(const Binding& b) const {
  const auto run = running_.find(b.instance);
  const auto mark = migration_mark(b.instance);
  const std::string status = mark                    ? (mark->incoming ? "incoming" : "migrating")
                             : run != running_.end() ? "running"
                             : crashed_.count(b.instance) != 0 ? "crashed"
                                                               : "stopped";
  return {{"instance", b.instance},
          {"name", b.domain_name},
          {"uuid", b.domain_uuid},
          {"status", status},
          {"pid", run != running_.end() ? run->second.pid : 0},
          {"tcti", layout_.tcti(b.instance)},
          {"autostart", b.autostart}};
}

rpc::Result<Binding> Manager::reference(const Json& params) const {
  if (!params.is_object() || !params.contains("ref")) {
    return fail("missing parameter 'ref' (an instance number, domain name or uuid)", nullptr,
                ErrorCode::invalid_params);
  }
  std::string ref;
  if (params["ref"].is_string()) {
    ref = params["ref"].get<std::string>();
  } else if (params["ref"].is_number_integer() && params["ref"].get<std::int64_t>() >= 0) {
    ref = std::to_string(params["ref"].get<std::int64_t>());
  } else {
    return fail("parameter 'ref' must be a string or an instance number", nullptr,
                ErrorCode::invalid_params);
  }
  auto b = registry_.resolve(ref);
  if (!b) return fail_from(b.error());
  return *b;
}

rpc::Result<Json> Manager::call(std::string_view method, const Json& params) {
  reap();
  if (method == "vtpm.info") {
    return Json{{"root", layout_.root.string()},
                {"instances", registry_.bindings().size()},
                {"running", running_.size()}};
  }
  if (method == "vtpm.create") return create(params);
  if (method == "vtpm.migration_key" || method.starts_with("vtpm.export_") ||
      method.starts_with("vtpm.import")) {
    return migration_call(method, params);
  }
  if (method == "vtpm.list") {
    Json list = Json::array();
    for (const auto& b : registry_.bindings())
      list.push_back(describe(b));
    return Json{{"instances", list}};
  }
  if (method == "vtpm.start" || method == "vtpm.stop" || method == "vtpm.save" ||
      method == "vtpm.delete" || method == "vtpm.tcti") {
    auto b = reference(params);
    if (!b) return tl::unexpected(b.error());
    if (method == "vtpm.start") return start(b->instance);
    if (method == "vtpm.stop") return stop(b->instance, false);
    if (method == "vtpm.save") return save(b->instance);
    if (method == "vtpm.delete") return remove(b->instance);
    return Json{{"instance", b->instance}, {"tcti", layout_.tcti(b->instance)}};
  }
  return fail("unknown method '" + std::string(method) + "'", nullptr, ErrorCode::method_not_found);
}

rpc::Result<Json> Manager::create(const Json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return fail("missing parameter 'name' (the domain name)", nullptr, ErrorCode::invalid_params);
  }
  std::string uuid;
  if (params.contains("uuid")) {
    if (!params["uuid"].is_string()) {
      return fail("parameter 'uuid' must be a string", nullptr, ErrorCode::invalid_params);
    }
    uuid = params["uuid"].get<std::string>();
  }
  std::optional<std::int64_t> requested;
  if (params.contains("instance") && !params["instance"].is_null()) {
    if (!params["instance"].is_number_integer()) {
      return fail("parameter 'instance' must be an integer", nullptr, ErrorCode::invalid_params);
    }
    requested = params["instance"].get<std::int64_t>();
  }
  Registry updated = registry_;
  auto allocation = updated.create(params["name"].get<std::string>(), uuid, requested);
  if (!allocation) return fail_from(allocation.error());
  if (!allocation->existing) {
    const std::uint32_t n = allocation->binding.instance;
    if (auto ok = private_dir(layout_.saved_dir(n), ::geteuid()); !ok) return fail_from(ok.error());
    // A leftover directory of a deleted instance with this number must not
    // leak its state into the new one.
    std::error_code ec;
    for (const char* f : kStateFiles)
      fs::remove(layout_.saved_dir(n) / f, ec);
    fs::remove(layout_.instance_dir(n) / "migration.json", ec);
    registry_ = std::move(updated);
    if (auto ok = store_registry(); !ok) return fail_from(ok.error());
    log_("instance " + std::to_string(n) + " created for domain " +
         allocation->binding.domain_name + " (" + allocation->binding.domain_uuid + ")");
  }
  Json out = describe(allocation->binding);
  out["existing"] = allocation->existing;
  out["requested"] = allocation->requested ? Json(*allocation->requested) : Json(nullptr);
  return out;
}

rpc::Result<Json> Manager::start(std::uint32_t n) {
  const Binding* b = registry_.find(n);
  if (b == nullptr)
    return fail("no vTPM instance " + std::to_string(n), nullptr, ErrorCode::invalid_params);
  if (running_.count(n) != 0) {
    Json out = describe(*b);
    out["already"] = true;
    return out;
  }
  if (const auto mark = migration_mark(n)) {
    return fail("vTPM instance " + std::to_string(n) + " is " +
                (mark->incoming ? "an incoming migration (vtpmctl import-commit makes it startable)"
                                : "migrating away (vtpmctl export-abort keeps it here)"));
  }
  const uid_t uid = worker_uid(n, drop_privileges_);
  // The worker's directory is rebuilt from the saved state: whatever a
  // previous (perhaps crashed) worker left there is discarded.
  std::error_code ec;
  fs::remove_all(layout_.work_dir(n), ec);
  fs::remove_all(layout_.instance_run_dir(n), ec);
  for (const auto& dir : {layout_.work_dir(n), layout_.instance_run_dir(n)}) {
    if (auto ok = private_dir(dir, uid); !ok) return fail_from(ok.error());
  }
  for (const char* f : kStateFiles) {
    const fs::path from = layout_.saved_dir(n) / f;
    if (!fs::exists(from, ec)) continue;
    // A plain copy: saved/ is the durable one (written atomically and
    // synced by save); the work copy is rebuilt from it at every start.
    const fs::path to = layout_.work_dir(n) / f;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail("cannot copy " + from.string() + " to the worker: " + ec.message());
    ::chmod(to.c_str(), 0600);
    if (uid != ::geteuid() && ::chown(to.c_str(), uid, static_cast<gid_t>(uid)) != 0) {
      return fail("cannot hand " + to.string() + " to the worker: " + std::strerror(errno));
    }
  }
  WorkerSpec spec{n,
                  find_swtpm(),
                  layout_.work_dir(n),
                  layout_.instance_run_dir(n),
                  layout_.ctrl_socket(n),
                  drop_privileges_};
  auto pid = launch_worker(spec, kStartTimeout);
  if (!pid) return fail(pid.error().message);
  running_[n] = Running{*pid};
  crashed_.erase(n);
  if (!b->autostart) {
    (void)registry_.set_autostart(n, true);
    if (auto ok = store_registry(); !ok)
      log_("cannot store the registry: " + ok.error().to_string());
  }
  log_("instance " + std::to_string(n) + " started (pid " + std::to_string(*pid) + ")");
  return describe(*registry_.find(n));
}

rpc::Result<Json> Manager::save(std::uint32_t n) {
  const auto run = running_.find(n);
  if (run == running_.end()) {
    return fail("vTPM instance " + std::to_string(n) +
                " is not running (its saved state is current)");
  }
  if (auto ok =
          swtpm_control(layout_.ctrl_socket(n), SwtpmCommand::store_volatile, kControlTimeout);
      !ok) {
    return fail("cannot save vTPM instance " + std::to_string(n) + ": " + ok.error().message);
  }
  std::error_code ec;
  Json files = Json::array();
  for (const char* f : kStateFiles) {
    const fs::path from = layout_.work_dir(n) / f;
    if (!fs::exists(from, ec)) continue;
    auto bytes = acm::read_file(from);
    if (!bytes) return fail_from(bytes.error());
    if (auto ok = acm::write_file_atomic(layout_.saved_dir(n) / f, *bytes, 0600); !ok) {
      return fail_from(ok.error());
    }
    files.push_back({{"file", f}, {"bytes", bytes->size()}});
  }
  Json out = describe(*registry_.find(n));
  out["saved"] = files;
  return out;
}

acm::Result<StateFiles> Manager::export_saved_state(std::uint32_t n) const {
  StateFiles files;
  std::error_code ec;
  for (const char* f : kStateFiles) {
    const fs::path path = layout_.saved_dir(n) / f;
    if (!fs::exists(path, ec)) continue;
    auto bytes = acm::read_file(path);
    if (!bytes) return tl::unexpected(bytes.error());
    files[f] = std::move(*bytes);
  }
  return files;
}

acm::Status Manager::import_saved_state(std::uint32_t n, const StateFiles& files) {
  for (const auto& [name, bytes] : files) {
    if (std::find(std::begin(kStateFiles), std::end(kStateFiles), name) == std::end(kStateFiles)) {
      return acm::make_error(
          acm::Errc::invalid_argument,
          "vTPM instance " + std::to_string(n) + ": unknown state file '" + name + "'");
    }
  }
  if (auto ok = private_dir(layout_.saved_dir(n), ::geteuid()); !ok) return ok;
  std::error_code ec;
  for (const char* f : kStateFiles) {
    if (files.count(f) == 0) fs::remove(layout_.saved_dir(n) / f, ec);
  }
  for (const auto& [name, bytes] : files) {
    if (auto ok = acm::write_file_atomic(layout_.saved_dir(n) / name, bytes, 0600); !ok) return ok;
  }
  return {};
}

rpc::Result<Json> Manager::stop(std::uint32_t n, bool keep_autostart) {
  const Binding* b = registry_.find(n);
  if (b == nullptr)
    return fail("no vTPM instance " + std::to_string(n), nullptr, ErrorCode::invalid_params);
  const auto run = running_.find(n);
  if (run == running_.end()) {
    crashed_.erase(n);
    if (!keep_autostart && b->autostart) {
      (void)registry_.set_autostart(n, false);
      if (auto ok = store_registry(); !ok) return fail_from(ok.error());
    }
    Json out = describe(*registry_.find(n));
    out["already"] = true;
    return out;
  }
  auto saved = save(n);
  const pid_t pid = run->second.pid;
  (void)swtpm_control(layout_.ctrl_socket(n), SwtpmCommand::shutdown, kControlTimeout);
  const bool clean = reap_worker(pid, kStopTimeout);
  running_.erase(n);
  std::error_code ec;
  fs::remove_all(layout_.instance_run_dir(n), ec);
  if (!keep_autostart) {
    (void)registry_.set_autostart(n, false);
    if (auto ok = store_registry(); !ok) return fail_from(ok.error());
  }
  log_("instance " + std::to_string(n) + " stopped" + (clean ? "" : " (killed)"));
  if (!saved)
    return fail("vTPM instance " + std::to_string(n) + " stopped, but " + saved.error().message);
  return describe(*registry_.find(n));
}

rpc::Result<Json> Manager::remove(std::uint32_t n) {
  if (running_.count(n) != 0) {
    const pid_t pid = running_[n].pid;
    (void)swtpm_control(layout_.ctrl_socket(n), SwtpmCommand::shutdown, kControlTimeout);
    reap_worker(pid, kStopTimeout);
    running_.erase(n);
  }
  crashed_.erase(n);
  const Binding gone = *registry_.find(n);
  if (auto ok = registry_.remove(n); !ok) return fail_from(ok.error());
  if (auto ok = store_registry(); !ok) return fail_from(ok.error());
  std::error_code ec;
  fs::remove_all(layout_.instance_dir(n), ec);
  fs::remove_all(layout_.instance_run_dir(n), ec);
  log_("instance " + std::to_string(n) + " of domain " + gone.domain_name + " deleted");
  Json out{
      {"instance", n}, {"name", gone.domain_name}, {"uuid", gone.domain_uuid}, {"deleted", true}};
  return out;
}

}  // namespace shype::vtpm
