// A compiled policy: exactly what the binary formats carry, in host form.
// Both binary formats (Xen's v4 format and shype's compact format) are
// written from and read into a PolicyImage; the decision engine is built from
// one. No XML, no strings needed for decisions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "acm/policy_version.hpp"

namespace shype::acm {

// Component codes of the binary header (reference xen-acm-hypervisor.md 2.2).
enum class PolicyCode : std::uint32_t {
  null = 0,
  chinese_wall = 1,
  simple_type_enforcement = 2,
  undefined = 15,
};
[[nodiscard]] const char* policy_code_name(PolicyCode code) noexcept;  // "CHINESE WALL"...

// Limits every reader enforces (a policy beyond them is rejected, never
// allocated): ssidref halves are 16 bits, so rows are indexes 0..65535.
inline constexpr std::uint32_t kMaxRows = 65536;
inline constexpr std::uint32_t kMaxTypes = 65536;
inline constexpr std::uint32_t kMaxConflictSets = 65536;
inline constexpr std::uint32_t kMaxPolicyNameLength = 4096;

// Rows of type sets in compressed-sparse-row form: row r holds the types
// types[offsets[r] .. offsets[r+1]), strictly ascending. Used for label rows
// (label -> types) and for conflict sets (set -> types).
class TypeSets {
 public:
  TypeSets() = default;

  // Appends a row. The caller passes strictly ascending type indexes.
  void add_row(std::span<const std::uint32_t> row_types);
  void reserve(std::size_t rows, std::size_t entries);

  [[nodiscard]] std::uint32_t rows() const noexcept {
    return static_cast<std::uint32_t>(offsets_.size() - 1);
  }
  [[nodiscard]] std::span<const std::uint32_t> row(std::uint32_t r) const noexcept {
    return {types_.data() + offsets_[r], types_.data() + offsets_[r + 1]};
  }
  [[nodiscard]] bool contains(std::uint32_t r, std::uint32_t type) const noexcept;
  [[nodiscard]] std::size_t entries() const noexcept { return types_.size(); }
  [[nodiscard]] const std::vector<std::uint32_t>& offsets() const noexcept { return offsets_; }
  [[nodiscard]] const std::vector<std::uint32_t>& types() const noexcept { return types_; }

  friend bool operator==(const TypeSets&, const TypeSets&) = default;

 private:
  std::vector<std::uint32_t> offsets_{0};
  std::vector<std::uint32_t> types_;
};

// Names of everything a policy numbers. The compact format carries them; for
// Xen's format they come from the .map file written beside the binary.
struct PolicyNames {
  std::vector<std::string> ste_types;     // by STE type index
  std::vector<std::string> chwall_types;  // by CHWALL type index
  std::vector<std::string> vm_labels;     // by VM label index (0 = __UNLABELED__ or __NULL_LABEL__)
  std::vector<std::string> resource_labels;  // by resource number r; STE row = vm_labels.size() + r
  std::vector<std::string> conflict_sets;    // by conflict set index
  friend bool operator==(const PolicyNames&, const PolicyNames&) = default;
};

struct PolicyImage {
  std::string name;  // PolicyName
  PolicyVersion xml_version;
  std::array<std::uint8_t, 20> xml_sha1{};  // SHA-1 of the XML text compiled
  PolicyCode primary = PolicyCode::chinese_wall;
  PolicyCode secondary = PolicyCode::simple_type_enforcement;

  // Chinese Wall: one row per VM label; conflict sets over CHWALL types.
  std::uint32_t chwall_type_count = 0;
  TypeSets chwall_labels;
  TypeSets conflict_sets;

  // STE: VM label rows first (vm_label_count of them), then resource label rows.
  std::uint32_t ste_type_count = 0;
  TypeSets ste_labels;
  std::uint32_t vm_label_count = 0;

  std::optional<PolicyNames> names;

  [[nodiscard]] bool has_chwall() const noexcept {
    return primary == PolicyCode::chinese_wall || secondary == PolicyCode::chinese_wall;
  }
  [[nodiscard]] bool has_ste() const noexcept {
    return primary == PolicyCode::simple_type_enforcement ||
           secondary == PolicyCode::simple_type_enforcement;
  }

  friend bool operator==(const PolicyImage&, const PolicyImage&) = default;
};

}  // namespace shype::acm
