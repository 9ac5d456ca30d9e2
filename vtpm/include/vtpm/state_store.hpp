// Everything secret the vTPM manager keeps under var/lib/vtpm (docs/vtpm.md,
// "Protected state"):
//   manager-key.sealed                  the manager key, sealed to the platform
//                                       TPM under a PCR policy (platform_seal.hpp)
//   manifest.json                       instance -> generation, files and key hash,
//                                       plus the platform NV counter value; MACed
//   instances/<N>/saved/instance.key    instance N's AES-256 key, wrapped by the
//                                       manager key (a state blob, state_blob.hpp)
//   instances/<N>/saved/<file>          instance N's swtpm state files, each an
//                                       AES-256-GCM state blob under its key
//   instances/<N>/saved/<file>.next     a save in progress (see save())
//
// The save protocol, so that a crash never loses the last completed save
// and never makes an older one acceptable:
//   1. write every <file>.next at generation g+1 (atomically);
//   2. write the manifest with generation g+1 and counter c+1 (atomically);
//   3. increment the platform NV counter to c+1;
//   4. write every <file> from <file>.next, remove <file>.next.
// At open, the manifest's counter must equal the NV counter, or be one ahead
// (a crash between 2 and 3: step 3 is completed then). At load, each file
// must be at the manifest's generation, in <file> or (a crash in 4)
// <file>.next; a blob of a crash before 2 is at g+1 and ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/platform_seal.hpp"
#include "vtpm/state_blob.hpp"

namespace shype::vtpm {

using StateFiles = std::map<std::string, std::vector<std::uint8_t>>;

class StateStore {
 public:
  StateStore(const Layout& layout, std::string platform_tcti);
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;
  ~StateStore();  // wipes the keys it holds

  // Unseals the manager key (or, on first start, when `instances_exist` is
  // false, makes and seals a new one), then checks the manifest against the
  // platform NV counter. Nothing on disk is removed or changed on error.
  [[nodiscard]] acm::Status open(bool instances_exist);
  [[nodiscard]] bool is_open() const noexcept { return key_.has_value(); }

  // A new instance: a fresh key, wrapped, and an empty manifest entry.
  [[nodiscard]] acm::Status create_instance(std::uint32_t instance, const std::string& uuid);
  // Encrypts and commits a new generation of the instance's files.
  [[nodiscard]] acm::Status save(std::uint32_t instance, const std::string& uuid,
                                 const StateFiles& files);
  // Decrypts the instance's last committed files (empty for a fresh
  // instance). A tampered, moved or rolled-back file is an error naming it;
  // nothing on disk is changed then.
  [[nodiscard]] acm::Result<StateFiles> load(std::uint32_t instance, const std::string& uuid);
  // Drops the instance from the manifest (the caller removes its files).
  // An error after the manifest was written (the platform counter could not
  // be incremented; done at the next change or start) leaves the instance
  // gone: check has_instance().
  [[nodiscard]] acm::Status remove_instance(std::uint32_t instance);
  [[nodiscard]] bool has_instance(std::uint32_t instance) const {
    return manifest_.instances.count(instance) != 0;
  }

  [[nodiscard]] std::filesystem::path sealed_key_path() const;
  [[nodiscard]] std::filesystem::path manifest_path() const;
  [[nodiscard]] static constexpr const char* key_file() { return "instance.key"; }

 private:
  acm::Status commit(Manifest updated);
  acm::Result<StateKey> instance_key(std::uint32_t instance, const ManifestEntry& entry) const;

  Layout layout_;
  std::string tcti_;
  std::optional<StateKey> key_;  // the manager key
  StateKey mac_key_{};
  StateKey wrap_key_{};
  std::uint32_t counter_index_ = kDefaultCounterIndex;
  Manifest manifest_;
  bool counter_behind_ = false;  // the last increment failed (manifest one ahead)
};

}  // namespace shype::vtpm
