#include "vtpm/state_store.hpp"

#include <algorithm>
#include <system_error>

#include <openssl/crypto.h>

#include "acm/file_io.hpp"

namespace shype::vtpm {

namespace fs = std::filesystem;

namespace {

tl::unexpected<acm::Error> refused(const std::string& message) {
  return acm::make_error(acm::Errc::update_rejected, message);
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

fs::path next_of(const fs::path& p) {
  return p.string() + ".next";
}

}  // namespace

StateStore::StateStore(const Layout& layout, std::string platform_tcti)
    : layout_(layout), tcti_(std::move(platform_tcti)) {}

StateStore::~StateStore() {
  if (key_) OPENSSL_cleanse(key_->data(), key_->size());
  OPENSSL_cleanse(mac_key_.data(), mac_key_.size());
  OPENSSL_cleanse(wrap_key_.data(), wrap_key_.size());
}

fs::path StateStore::sealed_key_path() const {
  return layout_.state_dir / "manager-key.sealed";
}

fs::path StateStore::manifest_path() const {
  return layout_.state_dir / "manifest.json";
}

acm::Status StateStore::open(bool instances_exist) {
  key_.reset();
  const fs::path sealed_path = sealed_key_path();
  const fs::path manifest_file = manifest_path();
  StateKey key{};
  if (!present(sealed_path)) {
    if (instances_exist || present(manifest_file)) {
      return refused("the manager key " + sealed_path.string() +
                     " is missing but vTPM instance state exists under " +
                     layout_.state_dir.string() +
                     "; refusing to start (nothing was changed or deleted)");
    }
    // First start: a new manager key, sealed before anything depends on it.
    auto pcrs = seal_pcrs_from_environment();
    if (!pcrs) return tl::unexpected(pcrs.error());
    auto index = counter_index_from_environment();
    if (!index) return tl::unexpected(index.error());
    auto fresh = random_state_key();
    if (!fresh) return tl::unexpected(fresh.error());
    auto counter = ensure_counter(tcti_, *index);
    if (!counter) return tl::unexpected(counter.error());
    auto sealed = seal_secret(tcti_, *pcrs, *index, *fresh);
    if (!sealed) return tl::unexpected(sealed.error());
    if (auto ok = acm::write_file_atomic(sealed_path, sealed->serialize(), 0600); !ok) return ok;
    key = *fresh;
    counter_index_ = *index;
  } else {
    auto bytes = acm::read_file(sealed_path);
    if (!bytes) return tl::unexpected(bytes.error());
    auto sealed = parse_sealed_secret(*bytes, sealed_path.string());
    if (!sealed) return tl::unexpected(sealed.error());
    auto unsealed = unseal_secret(tcti_, *sealed);
    if (!unsealed) {
      return refused(unsealed.error().message + "; " + sealed_path.string() +
                     " and every instance's state are left as they are");
    }
    key = *unsealed;
    counter_index_ = sealed->counter_index;
  }
  mac_key_ = derive_key(key, "shype vtpm manifest mac");
  wrap_key_ = derive_key(key, "shype vtpm instance key wrap");

  if (!present(manifest_file)) {
    if (instances_exist) {
      return refused("the manifest " + manifest_file.string() +
                     " is missing but vTPM instance state exists; refusing to start (nothing "
                     "was changed or deleted)");
    }
    auto counter = ensure_counter(tcti_, counter_index_);
    if (!counter) return tl::unexpected(counter.error());
    Manifest fresh;
    fresh.counter = *counter;
    if (auto ok = acm::write_file_atomic(manifest_file, fresh.serialize(mac_key_), 0600); !ok)
      return ok;
    manifest_ = fresh;
    key_ = key;
    OPENSSL_cleanse(key.data(), key.size());
    return {};
  }
  auto text = acm::read_text_file(manifest_file);
  if (!text) return tl::unexpected(text.error());
  auto parsed = parse_manifest(*text, manifest_file.string());
  if (!parsed) return tl::unexpected(parsed.error());
  if (!parsed->verify(mac_key_)) {
    return refused(manifest_file.string() +
                   ": the MAC does not match (modified, or written under another manager key); "
                   "refusing to start");
  }
  auto counter = read_counter(tcti_, counter_index_);
  if (!counter) return tl::unexpected(counter.error());
  const std::uint64_t stored = parsed->manifest.counter;
  if (stored == *counter + 1) {
    // A crash between writing the manifest and incrementing the counter:
    // the manifest is the latest save; finish it.
    auto incremented = increment_counter(tcti_, counter_index_);
    if (!incremented) return tl::unexpected(incremented.error());
  } else if (stored != *counter) {
    return refused(manifest_file.string() + ": counter " + std::to_string(stored) +
                   ", but the platform TPM's NV counter is " + std::to_string(*counter) +
                   (stored < *counter ? ": an older manifest was put back (rollback)"
                                      : ": the manifest is ahead of the TPM (another TPM?)") +
                   "; refusing to start");
  }
  manifest_ = parsed->manifest;
  key_ = key;
  OPENSSL_cleanse(key.data(), key.size());
  return {};
}

acm::Status StateStore::commit(Manifest updated) {
  if (!key_) return refused("the vTPM state store is not open");
  if (counter_behind_) {
    if (auto ok = increment_counter(tcti_, counter_index_); !ok) return tl::unexpected(ok.error());
    counter_behind_ = false;
  }
  updated.counter = manifest_.counter + 1;
  if (auto ok = acm::write_file_atomic(manifest_path(), updated.serialize(mac_key_), 0600); !ok)
    return ok;
  manifest_ = std::move(updated);
  if (auto ok = increment_counter(tcti_, counter_index_); !ok) {
    counter_behind_ = true;
    return acm::make_error(acm::Errc::io_error,
                           "the manifest is written but the platform NV counter was not "
                           "incremented (it will be at the next save or start): " +
                               ok.error().message);
  }
  return {};
}

acm::Result<StateKey> StateStore::instance_key(std::uint32_t n, const ManifestEntry& entry) const {
  const fs::path path = layout_.saved_dir(n) / key_file();
  auto bytes = acm::read_file(path);
  if (!bytes)
    return refused("vTPM instance " + std::to_string(n) + ": its key " + path.string() +
                   " cannot be read");
  if (sha256_hex(*bytes) != entry.key_sha256) {
    return refused(path.string() +
                   ": not the key this instance was created with (replaced); refused");
  }
  auto parsed = parse_state_blob(*bytes, path.string());
  if (!parsed) return tl::unexpected(parsed.error());
  auto plain =
      open_state_blob(wrap_key_, *parsed, {n, 0, entry.domain_uuid, key_file()}, path.string());
  if (!plain) return tl::unexpected(plain.error());
  if (plain->size() != kStateKeyBytes) return refused(path.string() + ": not a 256-bit key");
  StateKey key{};
  std::copy(plain->begin(), plain->end(), key.begin());
  OPENSSL_cleanse(plain->data(), plain->size());
  return key;
}

acm::Status StateStore::create_instance(std::uint32_t n, const std::string& uuid) {
  if (!key_) return refused("the vTPM state store is not open");
  auto key = random_state_key();
  if (!key) return tl::unexpected(key.error());
  auto wrapped = seal_state_blob(wrap_key_, {n, 0, uuid, key_file()}, *key);
  if (!wrapped) return tl::unexpected(wrapped.error());
  if (auto ok = acm::write_file_atomic(layout_.saved_dir(n) / key_file(), *wrapped, 0600); !ok)
    return ok;
  Manifest updated = manifest_;
  updated.instances[n] = ManifestEntry{uuid, 0, {}, sha256_hex(*wrapped)};
  return commit(std::move(updated));
}

acm::Status StateStore::save(std::uint32_t n, const std::string& uuid, const StateFiles& files) {
  if (!key_) return refused("the vTPM state store is not open");
  const auto found = manifest_.instances.find(n);
  if (found == manifest_.instances.end())
    return refused("vTPM instance " + std::to_string(n) + " has no entry in the manifest");
  if (found->second.domain_uuid != uuid) {
    return refused("vTPM instance " + std::to_string(n) + ": the manifest binds it to domain " +
                   found->second.domain_uuid + ", not " + uuid + "; refused");
  }
  auto key = instance_key(n, found->second);
  if (!key) return tl::unexpected(key.error());
  ManifestEntry entry = found->second;
  entry.generation += 1;
  entry.files.clear();
  StateFiles sealed;
  for (const auto& [name, plain] : files) {
    auto blob = seal_state_blob(*key, {n, entry.generation, uuid, name}, plain);
    if (!blob) return tl::unexpected(blob.error());
    if (auto ok = acm::write_file_atomic(next_of(layout_.saved_dir(n) / name), *blob, 0600); !ok)
      return ok;
    entry.files.push_back(name);
    sealed[name] = std::move(*blob);
  }
  const std::vector<std::string> old_files = found->second.files;
  Manifest updated = manifest_;
  updated.instances[n] = entry;
  auto committed = commit(updated);
  if (manifest_.instances[n] != entry) return committed;  // not committed: nothing changed
  std::error_code ec;
  for (const auto& [name, blob] : sealed) {
    const fs::path path = layout_.saved_dir(n) / name;
    if (auto ok = acm::write_file_atomic(path, blob, 0600); !ok) return ok;
    fs::remove(next_of(path), ec);
  }
  for (const auto& name : old_files)
    if (sealed.count(name) == 0) fs::remove(layout_.saved_dir(n) / name, ec);
  return committed;
}

acm::Result<StateFiles> StateStore::load(std::uint32_t n, const std::string& uuid) {
  if (!key_) return refused("the vTPM state store is not open");
  const auto found = manifest_.instances.find(n);
  if (found == manifest_.instances.end()) {
    return refused("vTPM instance " + std::to_string(n) + " has no entry in the manifest " +
                   manifest_path().string() + "; refused");
  }
  const ManifestEntry& entry = found->second;
  if (entry.domain_uuid != uuid) {
    return refused("vTPM instance " + std::to_string(n) + ": the manifest binds it to domain " +
                   entry.domain_uuid + ", not " + uuid + "; refused");
  }
  StateFiles out;
  if (entry.files.empty()) return out;
  auto key = instance_key(n, entry);
  if (!key) return tl::unexpected(key.error());
  for (const auto& name : entry.files) {
    const fs::path path = layout_.saved_dir(n) / name;
    const BlobHeader expected{n, entry.generation, uuid, name};
    const auto try_open = [&](const fs::path& p) -> acm::Result<std::vector<std::uint8_t>> {
      if (!present(p)) {
        return refused(p.string() + ": missing (the manifest lists it at generation " +
                       std::to_string(entry.generation) + "); refused");
      }
      auto bytes = acm::read_file(p);
      if (!bytes) return tl::unexpected(bytes.error());
      auto parsed = parse_state_blob(*bytes, p.string());
      if (!parsed) return tl::unexpected(parsed.error());
      return open_state_blob(*key, *parsed, expected, p.string());
    };
    auto plain = try_open(path);
    if (!plain && present(next_of(path))) {
      // A crash after the manifest was committed, before <file> was written.
      if (auto next = try_open(next_of(path)); next) plain = std::move(next);
    }
    if (!plain) return tl::unexpected(plain.error());
    out[name] = std::move(*plain);
  }
  return out;
}

acm::Status StateStore::remove_instance(std::uint32_t n) {
  if (!key_) return refused("the vTPM state store is not open");
  if (manifest_.instances.count(n) == 0) return {};
  Manifest updated = manifest_;
  updated.instances.erase(n);
  return commit(std::move(updated));
}

}  // namespace shype::vtpm
