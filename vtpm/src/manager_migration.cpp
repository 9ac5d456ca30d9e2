// The manager's half of migration (manager.hpp, docs/vtpm.md "Migration"):
// two-phase export and import with a durable mark per instance, so that a
// crash anywhere leaves either the source or the destination able to run
// the instance, never both without an operator's decision.
#include <filesystem>

#include "acm/file_io.hpp"
#include "vtpm/manager.hpp"
#include "vtpm/migration.hpp"

namespace shype::vtpm {

namespace {

using rpc::ErrorCode;
using rpc::Json;

tl::unexpected<rpc::RpcError> migration_fail(const std::string& message,
                                             ErrorCode code = ErrorCode::failed) {
  return rpc::fail(message, nullptr, code);
}

std::filesystem::path mark_path(const Layout& layout, std::uint32_t n) {
  return layout.instance_dir(n) / "migration.json";
}

// The destination's challenge for this migration (hex, 16 bytes).
rpc::Result<std::vector<std::uint8_t>> challenge_parameter(const Json& params) {
  const auto raw = params.contains("challenge") && params["challenge"].is_string()
                       ? from_hex(params["challenge"].get<std::string>())
                       : acm::Result<Bytes>(tl::unexpect, acm::Error{});
  if (!raw || raw->size() != kMigrationChallengeBytes) {
    return migration_fail("parameter 'challenge' must be " +
                              std::to_string(kMigrationChallengeBytes) +
                              " bytes of hex (from the destination)",
                          ErrorCode::invalid_params);
  }
  return *raw;
}

}  // namespace

std::optional<Manager::MigrationMark> Manager::migration_mark(std::uint32_t n) const {
  std::error_code ec;
  const auto path = mark_path(layout_, n);
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  // An unreadable mark still blocks the instance (as outgoing, not
  // running): better stuck than cloned.
  MigrationMark mark;
  auto text = acm::read_text_file(path);
  const Json stored = text ? Json::parse(*text, nullptr, false) : Json();
  if (!stored.is_object()) return mark;
  if (const auto state = stored.find("state"); state != stored.end() && *state == "incoming")
    mark.incoming = true;
  if (const auto ran = stored.find("was_running"); ran != stored.end() && *ran == true)
    mark.was_running = true;
  return mark;
}

rpc::Result<const MigrationKey*> Manager::migration_key() {
  if (!migration_key_) {
    auto key = MigrationKey::load_or_create(MigrationPaths(layout_).recipient_key);
    if (!key) return migration_fail("migration key: " + key.error().to_string());
    migration_key_ = std::move(*key);
  }
  return &*migration_key_;
}

rpc::Result<Json> Manager::migration_call(std::string_view method, const Json& params) {
  if (method == "vtpm.migration_key") {
    auto key = migration_key();
    if (!key) return tl::unexpected(key.error());
    return Json{{"public_key", (*key)->public_hex()}};
  }
  if (method == "vtpm.import") return import_package(params);
  if (method != "vtpm.export_begin" && method != "vtpm.export_commit" &&
      method != "vtpm.export_abort" && method != "vtpm.import_commit" &&
      method != "vtpm.import_abort") {
    return migration_fail("unknown method '" + std::string(method) + "'",
                          ErrorCode::method_not_found);
  }
  auto b = reference(params);
  if (!b) return tl::unexpected(b.error());
  if (method == "vtpm.export_begin") return export_begin(b->instance, params);
  if (method == "vtpm.export_commit") return export_finish(b->instance, true);
  if (method == "vtpm.export_abort") return export_finish(b->instance, false);
  if (method == "vtpm.import_commit") return import_finish(b->instance, true);
  return import_finish(b->instance, false);
}

rpc::Result<Json> Manager::export_begin(std::uint32_t n, const Json& params) {
  if (!params.contains("recipient_key") || !params["recipient_key"].is_string()) {
    return migration_fail("missing parameter 'recipient_key' (the destination's migration key)",
                          ErrorCode::invalid_params);
  }
  const auto recipient = from_hex(params["recipient_key"].get<std::string>());
  if (!recipient || recipient->size() != 32) {
    return migration_fail("parameter 'recipient_key' must be 32 bytes of hex (X25519)",
                          ErrorCode::invalid_params);
  }
  auto challenge = challenge_parameter(params);
  if (!challenge) return tl::unexpected(challenge.error());
  const std::string which = "vTPM instance " + std::to_string(n);
  if (const auto mark = migration_mark(n)) {
    return migration_fail(which + " is already " +
                          (mark->incoming ? "an incoming migration" : "migrating away") +
                          "; finish or abort that first");
  }
  const bool was_running = running_.count(n) != 0;
  if (was_running) {
    if (auto stopped = stop(n, true); !stopped) {
      return migration_fail(which + ": cannot stop it for migration: " + stopped.error().message);
    }
  }
  const auto restore = [&] {
    if (was_running) (void)start(n);
  };
  const Binding binding = *registry_.find(n);
  auto files = export_saved_state(n);
  if (!files) {
    restore();
    return migration_fail(which + ": " + files.error().to_string());
  }
  if (files->empty()) {
    restore();
    return migration_fail(which + " has no saved state yet (start it once before migrating it)");
  }
  MigrationMetadata metadata{binding.domain_name, binding.domain_uuid, n, {}};
  for (const auto& [name, bytes] : *files)
    metadata.files.push_back(name);
  auto package = seal_package(metadata, *files, *recipient, *challenge);
  if (!package) {
    restore();
    return migration_fail(which + ": " + package.error().message);
  }
  // The mark is durable before the package leaves: from here on the
  // instance cannot start here until the migration is aborted.
  if (auto ok = acm::write_file_atomic(
          mark_path(layout_, n),
          Json{{"state", "outgoing"}, {"was_running", was_running}}.dump() + "\n", 0600);
      !ok) {
    restore();
    return migration_fail(which + ": " + ok.error().to_string());
  }
  log_("instance " + std::to_string(n) + " (" + binding.domain_name + ") exported for migration" +
       (was_running ? " (stopped)" : ""));
  return Json{{"instance", n},
              {"name", binding.domain_name},
              {"uuid", binding.domain_uuid},
              {"was_running", was_running},
              {"package", package_to_json(*package)}};
}

rpc::Result<Json> Manager::export_finish(std::uint32_t n, bool commit) {
  const std::string which = "vTPM instance " + std::to_string(n);
  const auto mark = migration_mark(n);
  if (!mark || mark->incoming) return migration_fail(which + " is not migrating away");
  if (commit) {
    auto removed = remove(n);
    if (!removed) return removed;
    log_("instance " + std::to_string(n) + " migrated away: its state here is deleted");
    Json out = *removed;
    out["migrated"] = true;
    return out;
  }
  std::error_code ec;
  if (!std::filesystem::remove(mark_path(layout_, n), ec) && ec)
    return migration_fail(which + ": cannot remove its migration mark: " + ec.message());
  log_("instance " + std::to_string(n) + ": migration aborted, it stays here");
  if (mark->was_running) {
    auto started = start(n);
    if (!started) {
      return migration_fail(
          which + ": migration aborted, but it did not start again: " + started.error().message);
    }
    return *started;
  }
  return describe(*registry_.find(n));
}

rpc::Result<Json> Manager::import_package(const Json& params) {
  if (!params.is_object() || !params.contains("package")) {
    return migration_fail("missing parameter 'package'", ErrorCode::invalid_params);
  }
  auto challenge = challenge_parameter(params);
  if (!challenge) return tl::unexpected(challenge.error());
  auto package = package_from_json(params["package"]);
  if (!package) return migration_fail(package.error().message, ErrorCode::invalid_params);
  auto key = migration_key();
  if (!key) return tl::unexpected(key.error());
  auto files = open_package(*package, **key, *challenge);
  if (!files) return migration_fail(files.error().message, ErrorCode::invalid_params);
  const MigrationMetadata& m = package->metadata;

  Registry updated = registry_;
  auto allocation = updated.create(m.name, m.uuid, m.instance);
  if (!allocation) {
    return migration_fail("cannot import domain " + m.name + ": " + allocation.error().message);
  }
  if (allocation->existing) {
    return migration_fail("domain " + m.name + " (" + m.uuid + ") already has vTPM instance " +
                          std::to_string(allocation->binding.instance) +
                          " here; the import is refused");
  }
  const std::uint32_t n = allocation->binding.instance;
  const auto discard = [&] {
    if (store_.has_instance(n)) (void)store_.remove_instance(n);
    std::error_code ec;
    std::filesystem::remove_all(layout_.instance_dir(n), ec);
  };
  // State, then the mark, then the binding: a crash before the registry is
  // stored leaves files that the next create of this number discards.
  if (auto ok = import_saved_state(n, m.uuid, *files); !ok) {
    discard();
    return migration_fail("cannot store the imported state: " + ok.error().to_string());
  }
  if (auto ok = acm::write_file_atomic(
          mark_path(layout_, n), Json{{"state", "incoming"}, {"was_running", false}}.dump() + "\n",
          0600);
      !ok) {
    discard();
    return migration_fail("cannot mark the imported instance: " + ok.error().to_string());
  }
  registry_ = std::move(updated);
  if (auto ok = store_registry(); !ok) {
    return migration_fail("cannot store the registry: " + ok.error().to_string());
  }
  log_("instance " + std::to_string(n) + " imported for domain " + m.name + " (" + m.uuid +
       "), waiting for the source to commit");
  return Json{{"instance", n},
              {"name", m.name},
              {"uuid", m.uuid},
              {"requested", m.instance},
              {"status", "incoming"}};
}

rpc::Result<Json> Manager::import_finish(std::uint32_t n, bool commit) {
  const std::string which = "vTPM instance " + std::to_string(n);
  const auto mark = migration_mark(n);
  if (!mark || !mark->incoming) return migration_fail(which + " is not an incoming migration");
  if (!commit) {
    auto removed = remove(n);
    if (removed) log_("instance " + std::to_string(n) + ": incoming migration aborted");
    return removed;
  }
  std::error_code ec;
  if (!std::filesystem::remove(mark_path(layout_, n), ec) && ec)
    return migration_fail(which + ": cannot remove its migration mark: " + ec.message());
  log_("instance " + std::to_string(n) + ": incoming migration committed, it can start");
  return describe(*registry_.find(n));
}

}  // namespace shype::vtpm
