#include "vtpm/manager.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "vtpm/attest.hpp"
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

// A worker's working copy of one state file, in the directory start() just
// made: written, not synced. The saved (encrypted, synced) state is what
// survives a crash; this copy is rebuilt at every start, so syncing it
// (two fsyncs of file and directory per file) only slowed starts down.
acm::Status write_work_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      return acm::make_error(acm::Errc::io_error,
                             "cannot write " + path.string() + ": " + std::strerror(saved));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Manager::Manager(Layout layout, LogSink log)
    : layout_(std::move(layout)), log_(std::move(log)), gate_(layout_.root) {
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
  // The protected state must open (the manager key unsealed, the manifest
  // matching the platform counter) before any instance starts; if it does
  // not, the manager refuses to run and every file stays as it is.
  bool instances_exist = !registry_.bindings().empty();
  for (const auto& entry : fs::directory_iterator(layout_.state_dir / "instances", ec)) {
    (void)entry;
    instances_exist = true;
  }
  if (auto ok = store_.open(instances_exist); !ok) return ok;
  if (auto ok = open_ca(); !ok) return ok;
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
          {"autostart", b.autostart},
          {"label", b.label},
          {"domid", run != running_.end() && run->second.domid ? Json(*run->second.domid)
                                                                : Json(nullptr)},
          {"pcr_banks", b.pcr_banks}};
}

rpc::Result<void> Manager::check_label(const Binding& b, std::uint32_t domid,
                                       std::string_view what) {
  const std::string subject = "vTPM instance " + std::to_string(b.instance) + " (" +
                              (b.label.empty() ? std::string("unlabeled") : b.label) + ")";
  auto decision = gate_.may_use(domid, b.label);
  if (!decision) {
    log_("refused " + std::string(what) + " of " + subject + ": " + decision.error().message);
    return fail("cannot " + std::string(what) + " " + subject + ": " + decision.error().message);
  }
  if (!decision->permitted) {
    log_("denied " + std::string(what) + " of " + subject + " for domain " +
         std::to_string(domid) + ": " + decision->rule);
    return fail("domain " + std::to_string(domid) + " may not use " + subject + " (" +
                    std::string(what) + "): " + decision->reason(),
                nullptr, ErrorCode::failed);
  }
  if (!b.label.empty()) {
    log_(std::string(what) + " of " + subject + " for domain " + std::to_string(domid) + ": " +
         decision->rule);
  }
  return {};
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
  if (is_attest_method(method)) return attest_call(method, params);
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
      method == "vtpm.delete" || method == "vtpm.tcti" || method == "vtpm.attach" ||
      method == "vtpm.detach" || method == "vtpm.label") {
    auto b = reference(params);
    if (!b) return tl::unexpected(b.error());
    if (method == "vtpm.start") return start(b->instance);
    if (method == "vtpm.stop") return stop(b->instance, false);
    if (method == "vtpm.save") return save(b->instance);
    if (method == "vtpm.delete") return remove(b->instance);
    if (method == "vtpm.attach") return attach(*b, params);
    if (method == "vtpm.detach") return detach(*b);
    if (method == "vtpm.label") return relabel(*b, params);
    // Domain-0's tools reach the instance through its TCTI.
    if (auto ok = check_label(*b, acm::kDomain0Id, "give Domain-0 the TCTI of"); !ok)
      return tl::unexpected(ok.error());
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
  std::string label;
  if (params.contains("label") && !params["label"].is_null()) {
    if (!params["label"].is_string()) {
      return fail("parameter 'label' must be a string", nullptr, ErrorCode::invalid_params);
    }
    auto canonical = canonical_vtpm_label(params["label"].get<std::string>());
    if (!canonical) return fail_from(canonical.error());
    label = std::move(*canonical);
  }
  auto pcr_banks = pcr_banks_parameter(params);
  if (!pcr_banks) return fail_from(pcr_banks.error());
  Registry updated = registry_;
  auto allocation =
      updated.create(params["name"].get<std::string>(), uuid, requested, std::move(*pcr_banks));
  if (!allocation) return fail_from(allocation.error());
  if (allocation->existing && params.contains("label") && allocation->binding.label != label) {
    // A domain's instance keeps the label it was created with: handing it
    // to the domain under another label is an administrator's decision.
    return fail("vTPM instance " + std::to_string(allocation->binding.instance) + " of domain " +
                    allocation->binding.domain_name + " is labeled " +
                    (allocation->binding.label.empty() ? std::string("(none)")
                                                       : allocation->binding.label) +
                    ", not " + (label.empty() ? std::string("(none)") : label) +
                    " (relabel it with vtpmctl label)",
                nullptr, ErrorCode::failed);
  }
  if (!allocation->existing) {
    allocation->binding.label = label;
    (void)updated.set_label(allocation->binding.instance, label);
    const std::uint32_t n = allocation->binding.instance;
    if (auto ok = private_dir(layout_.saved_dir(n), ::geteuid()); !ok) return fail_from(ok.error());
    // A leftover directory of a deleted instance with this number must not
    // leak its state into the new one.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(layout_.saved_dir(n), ec))
      fs::remove(entry.path(), ec);
    if (auto ok = store_.create_instance(n, allocation->binding.domain_uuid); !ok)
      return fail("cannot create vTPM instance " + std::to_string(n) + ": " + ok.error().message);
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
  // A running instance's socket is Domain-0's to reach.
  if (auto ok = check_label(*b, acm::kDomain0Id, "start"); !ok) return tl::unexpected(ok.error());
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
  // Decrypted and checked first, so a refused state leaves no worker behind.
  auto files = store_.load(n, b->domain_uuid);
  if (!files)
    return fail("cannot start vTPM instance " + std::to_string(n) + ": " + files.error().message);
  for (const auto& dir : {layout_.instance_run_dir(n), layout_.work_dir(n)}) {
    if (auto ok = private_dir(dir, uid); !ok) return fail_from(ok.error());
  }
  for (const auto& [f, bytes] : *files) {
    // The plaintext goes only to the worker's directory under run/.
    const fs::path to = layout_.work_dir(n) / f;
    if (auto ok = write_work_file(to, bytes); !ok) return fail_from(ok.error());
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
  const bool first_start = needs_manufacturing(n);
  auto pid = launch_worker(spec, kStartTimeout);
  if (!pid) return fail(pid.error().message);
  running_[n] = Running{*pid, std::nullopt};
  crashed_.erase(n);
  if (first_start) {
    if (auto made = manufacture(n); !made) {
      (void)swtpm_control(layout_.ctrl_socket(n), SwtpmCommand::shutdown, kControlTimeout);
      reap_worker(*pid, kStopTimeout);
      running_.erase(n);
      return fail(made.error().message);
    }
  }
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
  StateFiles state;
  for (const char* f : kStateFiles) {
    const fs::path from = layout_.work_dir(n) / f;
    if (!fs::exists(from, ec)) continue;
    auto bytes = acm::read_file(from);
    if (!bytes) return fail_from(bytes.error());
    files.push_back({{"file", f}, {"bytes", bytes->size()}});
    state[f] = std::move(*bytes);
  }
  if (auto ok = store_.save(n, registry_.find(n)->domain_uuid, state); !ok) {
    return fail("cannot save vTPM instance " + std::to_string(n) + ": " + ok.error().message);
  }
  Json out = describe(*registry_.find(n));
  out["saved"] = files;
  return out;
}

namespace {

// The instance's public attestation files travel with its state (attest.hpp):
// they are not secret and stay next to saved/, not in the state store.
std::vector<std::pair<std::string, fs::path>> public_files(const Layout& layout, std::uint32_t n) {
  return {{"ek-cert.pem", layout.ek_cert(n)}, {"ek-public.bin", layout.ek_public(n)}};
}

}  // namespace

acm::Result<StateFiles> Manager::export_saved_state(std::uint32_t n) {
  const Binding* b = registry_.find(n);
  if (b == nullptr) {
    return acm::make_error(acm::Errc::not_found, "no vTPM instance " + std::to_string(n));
  }
  auto files = store_.load(n, b->domain_uuid);
  if (!files) return tl::unexpected(files.error());
  std::error_code ec;
  for (const auto& [name, path] : public_files(layout_, n)) {
    if (!fs::exists(path, ec)) continue;
    auto bytes = acm::read_file(path);
    if (!bytes) return tl::unexpected(bytes.error());
    (*files)[name] = std::move(*bytes);
  }
  return files;
}

acm::Status Manager::import_saved_state(std::uint32_t n, const std::string& uuid,
                                        const StateFiles& files) {
  const auto publics = public_files(layout_, n);
  StateFiles tpm;
  for (const auto& entry : files) {
    const std::string& name = entry.first;
    const bool state =
        std::find(std::begin(kStateFiles), std::end(kStateFiles), name) != std::end(kStateFiles);
    const bool pub = std::any_of(publics.begin(), publics.end(),
                                 [&name](const auto& p) { return p.first == name; });
    if (!state && !pub) {
      return acm::make_error(
          acm::Errc::invalid_argument,
          "vTPM instance " + std::to_string(n) + ": unknown state file '" + name + "'");
    }
    if (state) tpm[name] = entry.second;
  }
  if (auto ok = private_dir(layout_.saved_dir(n), ::geteuid()); !ok) return ok;
  if (!store_.has_instance(n)) {
    if (auto ok = store_.create_instance(n, uuid); !ok) return ok;
  }
  if (auto ok = store_.save(n, uuid, tpm); !ok) return ok;
  for (const auto& [name, path] : publics) {
    const auto found = files.find(name);
    if (found == files.end()) continue;
    if (auto ok = acm::write_file_atomic(path, found->second, 0644); !ok) return ok;
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
  if (auto ok = store_.remove_instance(n); !ok) {
    if (store_.has_instance(n))
      return fail("cannot delete vTPM instance " + std::to_string(n) + ": " + ok.error().message);
    log_("instance " + std::to_string(n) + ": " + ok.error().message);
  }
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

rpc::Result<Json> Manager::attach(const Binding& b, const Json& params) {
  const std::uint32_t n = b.instance;
  if (!params.contains("domid") || !params["domid"].is_number_integer() ||
      params["domid"].get<std::int64_t>() < 0 || params["domid"].get<std::int64_t>() > 0x7fef) {
    return fail("parameter 'domid' must be a domain id", nullptr, ErrorCode::invalid_params);
  }
  const auto domid = static_cast<std::uint32_t>(params["domid"].get<std::int64_t>());
  const auto run = running_.find(n);
  if (run == running_.end()) {
    return fail("vTPM instance " + std::to_string(n) + " is not running (start it first)");
  }
  if (run->second.domid && *run->second.domid != domid) {
    return fail("vTPM instance " + std::to_string(n) + " is attached to domain " +
                std::to_string(*run->second.domid) + " (detach it first)");
  }
  if (auto ok = check_label(b, domid, "attach"); !ok) return tl::unexpected(ok.error());
  run->second.domid = domid;
  log_("instance " + std::to_string(n) + " attached to domain " + std::to_string(domid));
  return describe(b);
}

rpc::Result<Json> Manager::detach(const Binding& b) {
  const std::uint32_t n = b.instance;
  if (const auto run = running_.find(n); run != running_.end() && run->second.domid) {
    log_("instance " + std::to_string(n) + " detached from domain " +
         std::to_string(*run->second.domid));
    run->second.domid.reset();
  }
  return describe(b);
}

rpc::Result<Json> Manager::relabel(const Binding& b, const Json& params) {
  const std::uint32_t n = b.instance;
  if (!params.contains("label") || !params["label"].is_string()) {
    return fail("missing parameter 'label' (ACM:<policy>:<label>, or \"\" for none)", nullptr,
                ErrorCode::invalid_params);
  }
  auto label = canonical_vtpm_label(params["label"].get<std::string>());
  if (!label) return fail_from(label.error());
  if (const auto run = running_.find(n); run != running_.end() && run->second.domid) {
    return fail("vTPM instance " + std::to_string(n) + " is attached to domain " +
                std::to_string(*run->second.domid) + "; detach it before relabeling");
  }
  const std::string old = b.label;
  (void)registry_.set_label(n, *label);
  if (auto ok = store_registry(); !ok) {
    (void)registry_.set_label(n, old);
    return fail_from(ok.error());
  }
  log_("instance " + std::to_string(n) + " relabeled from " + (old.empty() ? "(none)" : old) +
       " to " + (label->empty() ? "(none)" : *label));
  Binding updated = b;
  updated.label = *label;
  return describe(updated);
}

}  // namespace shype::vtpm
