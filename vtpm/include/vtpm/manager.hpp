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
//   vtpm.attach {ref, domid}             -> instance object (the instance is handed to
//                                           the domain: label check, it must be running)
//   vtpm.detach {ref}                    -> instance object
//   vtpm.label  {ref, label}             -> instance object ("" removes the label)
// Attestation (manager_attest.cpp, docs/vtpm.md "Attestation"):
//   vtpm.ek_cert {ref}                   -> {"instance", "uuid", "pem", "der" (hex)}
//   vtpm.ca_cert {}                      -> {"pem"}: the local CA, the platform credential
//   vtpm.platform_ak {}                  -> {"pem", "public" (TPM2B_PUBLIC hex)}
//   vtpm.deepquote {ref, nonce (hex), pcrs?, platform_pcrs?} -> a deep quote document
//     (deepquote.hpp); pcrs/platform_pcrs are lists like "0,1,16" or "0-7"; the
//     platform default is $SHYPE_VTPM_QUOTE_PCRS, else "0-7".
// vtpm.create also takes pcr_banks (["sha1","sha256"] or "sha1,sha256"; default
// sha256): a new instance is manufactured at its first start (attest.hpp).
// An instance object: {instance, name, uuid, status: running|stopped|crashed,
// pid (0 if none), tcti, autostart, label ("" if none), domid (null if not
// attached)}. `ref` is an instance number, a domain UUID or a domain name.
//
// Labels (policy_gate.hpp): vtpm.create takes the domain's label; start and
// tcti (Domain-0 reaching the instance) and attach (a domain reaching it)
// are refused unless the policy the hypervisor enforces permits them; every
// decision is logged.
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
#include <vector>

#include <sys/types.h>

#include "rpc/json_rpc.hpp"
#include "vtpm/local_ca.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/policy_gate.hpp"
#include "vtpm/migration.hpp"
#include "vtpm/registry.hpp"
#include "vtpm/state_store.hpp"

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
  [[nodiscard]] acm::Result<StateFiles> export_saved_state(std::uint32_t instance);
  [[nodiscard]] acm::Status import_saved_state(std::uint32_t instance, const std::string& uuid,
                                               const StateFiles& files);

 private:
  struct Running {
    pid_t pid = 0;
    std::optional<std::uint32_t> domid;  // the domain it is attached to
  };
  rpc::Result<rpc::Json> create(const rpc::Json& params);
  rpc::Result<rpc::Json> start(std::uint32_t instance);
  rpc::Result<rpc::Json> stop(std::uint32_t instance, bool keep_autostart);
  rpc::Result<rpc::Json> save(std::uint32_t instance);
  rpc::Result<rpc::Json> remove(std::uint32_t instance);
  rpc::Result<rpc::Json> attach(const Binding& b, const rpc::Json& params);
  rpc::Result<rpc::Json> detach(const Binding& b);
  rpc::Result<rpc::Json> relabel(const Binding& b, const rpc::Json& params);
  // The label check for `domid` reaching instance `b` (policy_gate.hpp):
  // an error that says why unless the policy permits it. `what` names the
  // access in the log and the message.
  rpc::Result<void> check_label(const Binding& b, std::uint32_t domid, std::string_view what);
  rpc::Result<Binding> reference(const rpc::Json& params) const;
  rpc::Json describe(const Binding& binding) const;
  acm::Status store_registry() const;
  // Attestation (manager_attest.cpp).
  acm::Status open_ca();
  [[nodiscard]] bool needs_manufacturing(std::uint32_t instance) const;
  // Manufactures the running, new instance and saves it; on failure removes
  // whatever it kept (the caller stops the worker).
  acm::Status manufacture(std::uint32_t instance);
  // vtpm.create's "pcr_banks" (a list or "sha1,sha256"; default sha256).
  [[nodiscard]] static acm::Result<std::vector<std::string>> pcr_banks_parameter(
      const rpc::Json& params);
  [[nodiscard]] static bool is_attest_method(std::string_view method);
  rpc::Result<rpc::Json> attest_call(std::string_view method, const rpc::Json& params);
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
  PolicyGate gate_;
  // The protected saved state (state_store.hpp), anchored in the platform TPM.
  StateStore store_{layout_, platform_tcti_from_environment()};
  std::optional<LocalCa> ca_;  // set by open()
  std::optional<MigrationKey> migration_key_;
};

}  // namespace shype::vtpm
