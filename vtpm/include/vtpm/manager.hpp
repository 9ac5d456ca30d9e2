// The vTPM manager: the registry (registry.hpp) plus the running workers
// (worker.hpp), behind the JSON-RPC methods vtpm_managerd serves and vtpmctl
// calls. One thread; every wait is bounded.
//
// Methods (params -> result; errors are rpc errors whose message says why):
//   vtpm.create {name, uuid?, instance?} -> instance object (+ "existing", "requested")
//   vtpm.list   {}                       -> {"instances": [instance object...]}
//   vtpm.start  {ref}  vtpm.stop {ref}  vtpm.save {ref}  vtpm.delete {ref}
//   vtpm.tcti   {ref}                    -> {"instance", "tcti"}
//   vtpm.info   {}                       -> {"root", "instances", "running"}
// An instance object: {instance, name, uuid, status: running|stopped|crashed,
// pid (0 if none), tcti, autostart}. `ref` is an instance number, a domain
// UUID or a domain name.
//
// State: `save` makes the worker write its volatile state and copies the
// permanent and volatile blobs into saved/ (atomically); `stop` saves, then
// shuts the worker down; `start` rebuilds the worker's directory from saved/,
// so an instance always starts from its last save (also after a crash).
//
// Migration (manager_migration.cpp; docs/vtpm.md "Migration"), driven by
// vtpm_migratord; the manager itself never touches the network:
//   vtpm.migration_key {}                     -> {"public_key": hex (X25519)}
//   vtpm.export_begin  {ref, recipient_key, challenge}
//                                             -> {"package", "was_running", instance, name, uuid}
//       saves and stops the instance, marks it "migrating" (it cannot start)
//       and seals its saved state to recipient_key for the destination's
//       challenge (migration.hpp);
//   vtpm.export_commit {ref}  deletes the instance (the destination has it);
//   vtpm.export_abort  {ref}  clears the mark and restarts it if it ran;
//   vtpm.import {package, challenge} -> {instance, name, uuid, requested}
//       opens the package with this manager's key (and the challenge this
//       host's migratord handed out for it), binds the domain by the
//       allocation rule, stores the state and marks it "incoming";
//   vtpm.import_commit {ref}  clears the mark: the instance can start;
//   vtpm.import_abort  {ref}  deletes the incoming instance.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "rpc/json_rpc.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/migration.hpp"
#include "vtpm/registry.hpp"

namespace shype::vtpm {

using LogSink = std::function<void(std::string_view)>;

class Manager {
 public:
  Manager(Layout layout, LogSink log);
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();

  // Creates the directories, loads the registry and starts every instance
  // marked autostart (one that fails is logged, the others still start).
  [[nodiscard]] acm::Status open();
  // Saves and stops every running instance, keeping their autostart marks.
  void shutdown();

  [[nodiscard]] rpc::Result<rpc::Json> call(std::string_view method, const rpc::Json& params);

  // Reaps exited workers (call on SIGCHLD and periodically); a worker that
  // exited without being stopped is marked crashed.
  void reap();

  [[nodiscard]] const Registry& registry() const noexcept { return registry_; }

  // An instance's saved state as a whole: the only way migration reads or
  // writes saved/ (so that protected state can decrypt/encrypt here).
  // import_saved_state refuses file names the worker does not use and
  // replaces the whole set.
  [[nodiscard]] acm::Result<StateFiles> export_saved_state(std::uint32_t instance) const;
  [[nodiscard]] acm::Status import_saved_state(std::uint32_t instance, const StateFiles& files);

 private:
  struct Running {
    pid_t pid = 0;
  };
  rpc::Result<rpc::Json> create(const rpc::Json& params);
  rpc::Result<rpc::Json> start(std::uint32_t instance);
  rpc::Result<rpc::Json> stop(std::uint32_t instance, bool keep_autostart);
  rpc::Result<rpc::Json> save(std::uint32_t instance);
  rpc::Result<rpc::Json> remove(std::uint32_t instance);
  rpc::Result<Binding> reference(const rpc::Json& params) const;
  rpc::Json describe(const Binding& binding) const;
  acm::Status store_registry() const;
  // manager_migration.cpp
  rpc::Result<rpc::Json> migration_call(std::string_view method, const rpc::Json& params);
  rpc::Result<rpc::Json> export_begin(std::uint32_t instance, const rpc::Json& params);
  rpc::Result<rpc::Json> export_finish(std::uint32_t instance, bool commit);
  rpc::Result<rpc::Json> import_package(const rpc::Json& params);
  rpc::Result<rpc::Json> import_finish(std::uint32_t instance, bool commit);
  // The instance's migration mark (stored as {"state": "outgoing"|"incoming",
  // "was_running"}), or nullopt.
  struct MigrationMark {
    bool incoming = false;
    bool was_running = false;
  };
  [[nodiscard]] std::optional<MigrationMark> migration_mark(std::uint32_t instance) const;
  rpc::Result<const MigrationKey*> migration_key();

  Layout layout_;
  LogSink log_;
  Registry registry_;
  std::map<std::uint32_t, Running> running_;
  std::map<std::uint32_t, int> crashed_;  // instance -> wait status
  bool drop_privileges_ = false;
  // The platform TPM's TCTI (platform_tcti_from_environment()).
  std::string platform_tcti_;
  std::optional<MigrationKey> migration_key_;
};

}  // namespace shype::vtpm
