// One loaded policy as the ACM module holds it: the exact bytes it was
// given (getpolicy returns them), the decision engine built from them once,
// and what audit records quote (name, version, SHA-256 fingerprint).
// Immutable once loaded; a policy change builds a new one beside it and
// swaps the pointer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "acm/binary_policy.hpp"
#include "acm/decision_engine.hpp"
#include "acm/error.hpp"
#include "acm/fingerprint.hpp"
#include "acm/ssidref.hpp"

namespace shype::xsm {

class ActivePolicy {
 public:
  // Strict read (acm::read_binary_policy: decode, then validate), then the
  // engine. The reader's error is returned unchanged.
  [[nodiscard]] static acm::Result<std::unique_ptr<const ActivePolicy>> load(
      std::span<const std::uint8_t> binary);

  [[nodiscard]] const acm::PolicyEngine& engine() const noexcept { return engine_; }
  [[nodiscard]] const acm::PolicyImage& image() const noexcept { return engine_.image(); }
  [[nodiscard]] const std::vector<std::uint8_t>& binary() const noexcept { return binary_; }
  [[nodiscard]] acm::BinaryFormat format() const noexcept { return format_; }
  [[nodiscard]] const acm::Sha256Digest& fingerprint() const noexcept { return fingerprint_; }
  [[nodiscard]] const std::string& fingerprint_hex() const noexcept { return fingerprint_hex_; }
  [[nodiscard]] const std::string& version_text() const noexcept { return version_text_; }
  // "'mytest' 1.0", for messages.
  [[nodiscard]] std::string describe() const;

  // The VM label index of an ssidref: both halves equal and below the
  // number of VM labels (the tools' (i << 16) | i; Xen only range-checked
  // each half, which let mixed halves no tool writes slip through).
  [[nodiscard]] std::optional<std::uint32_t> vm_label_index(acm::Ssidref ssidref) const noexcept {
    const std::uint32_t index = acm::primary_half(ssidref);
    if (index != acm::secondary_half(ssidref) || index >= image().vm_label_count) {
      return std::nullopt;
    }
    return index;
  }
  [[nodiscard]] bool is_vm_label(acm::Ssidref ssidref) const noexcept {
    return vm_label_index(ssidref).has_value();
  }
  // A resource label: CHWALL half 0, STE row past the VM labels.
  [[nodiscard]] bool is_resource_label(acm::Ssidref ssidref) const noexcept {
    const std::uint32_t row = acm::secondary_half(ssidref);
    return acm::primary_half(ssidref) == 0 && row >= image().vm_label_count &&
           row < image().ste_labels.rows();
  }
  // The VM or resource label name of an ssidref; "" if it names neither or
  // the policy carries no names.
  [[nodiscard]] std::string label_name(acm::Ssidref ssidref) const;
  // Does the policy have the DEFAULT policy's shape (reference 5.5, as Xen's
  // is_default_policy predicates of 3.3: structure, not names)?
  [[nodiscard]] bool default_shaped() const noexcept;

  ActivePolicy(std::vector<std::uint8_t> binary, acm::PolicyEngine engine,
               acm::BinaryFormat format);

 private:
  std::vector<std::uint8_t> binary_;
  acm::PolicyEngine engine_;
  acm::BinaryFormat format_;
  acm::Sha256Digest fingerprint_{};
  std::string fingerprint_hex_;
  std::string version_text_;
};

}  // namespace shype::xsm
