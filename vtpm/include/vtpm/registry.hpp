// The registry of vTPM instances: which domain (UUID and name) is bound to
// which instance number. It reproduces the allocation rule of the Xen 3.3
// manual (section 5.4) and its hotplug scripts:
//  - instance 0 is reserved (Domain-0's control instance); numbers are 1..255;
//  - a requested number is honoured only if it is free; one that is bound to
//    another domain (or out of range) falls through to the lowest free one;
//  - a domain that already has a binding keeps it (create is idempotent);
//  - bindings survive stop, manager restart and domain shutdown until they
//    are deleted explicitly.
// The registry is pure data: Manager stores it with acm::write_file_atomic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acm/error.hpp"

namespace shype::vtpm {

inline constexpr std::uint32_t kReservedInstance = 0;
inline constexpr std::uint32_t kMaxInstance = 255;

struct Binding {
  std::uint32_t instance = 0;
  std::string domain_name;
  std::string domain_uuid;  // canonical: lower-case 8-4-4-4-12
  // Desired state: the instance ran when the manager last stopped (or was
  // started and not stopped since), so a manager restart starts it again.
  bool autostart = false;
  // The domain's VM label, "ACM:<policy>:<label>" (policy_gate.hpp), or ""
  // for an unlabeled instance (Domain-0's own).
  std::string label;
  // The PCR banks the instance's TPM is manufactured with (attest.hpp).
  std::vector<std::string> pcr_banks = {"sha256"};
};

// What create() did.
struct Allocation {
  Binding binding;
  bool existing = false;                   // the domain already had this binding
  std::optional<std::uint32_t> requested;  // the number asked for, if any
};

// A domain name: 1..64 characters of [A-Za-z0-9_.-], not "." or "..".
[[nodiscard]] bool is_valid_domain_name(std::string_view name) noexcept;
// A UUID in 8-4-4-4-12 hex form, either case; returns it lower-cased.
[[nodiscard]] std::optional<std::string> canonical_uuid(std::string_view text);
// A random (version 4) UUID.
[[nodiscard]] std::string random_uuid();

class Registry {
 public:
  // Binds `name` (and `uuid`; a random one if empty) to an instance with the
  // manual's rule. Errors (invalid_argument) name the bad field; a name bound
  // under another UUID, or a UUID bound under another name, is refused;
  // limit_exceeded when all 255 numbers are bound.
  // `pcr_banks` (sha1, sha256, sha384, sha512; not empty) is recorded for a
  // new binding; an existing binding keeps its own.
  [[nodiscard]] acm::Result<Allocation> create(std::string_view name, std::string_view uuid,
                                               std::optional<std::int64_t> requested,
                                               std::vector<std::string> pcr_banks = {"sha256"});

  // Finds a binding by instance number ("3"), domain UUID or domain name.
  // not_found says which reference matched nothing.
  [[nodiscard]] acm::Result<Binding> resolve(std::string_view reference) const;
  [[nodiscard]] const Binding* find(std::uint32_t instance) const noexcept;
  [[nodiscard]] acm::Status set_autostart(std::uint32_t instance, bool autostart);
  // Sets the instance's label (canonical_vtpm_label form; not checked here).
  [[nodiscard]] acm::Status set_label(std::uint32_t instance, std::string label);
  [[nodiscard]] acm::Status remove(std::uint32_t instance);

  // Sorted by instance number.
  [[nodiscard]] const std::vector<Binding>& bindings() const noexcept { return bindings_; }

  // The stored form: {"version": 1, "instances": [{...}]}; "pcr_banks" is
  // optional in an entry (["sha256"] when missing).
  [[nodiscard]] nlohmann::json to_json() const;
  // Validates everything (types, ranges, duplicates); errors name the entry
  // and field. `origin` (a file name) goes into the error's location.
  [[nodiscard]] static acm::Result<Registry> from_json(const nlohmann::json& stored,
                                                       const std::string& origin = {});

 private:
  [[nodiscard]] std::uint32_t lowest_free() const noexcept;
  std::vector<Binding> bindings_;
};

}  // namespace shype::vtpm
