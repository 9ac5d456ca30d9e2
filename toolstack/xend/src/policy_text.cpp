#include "xend/policy_text.hpp"

#include <cstdio>
#include <vector>

#include "acm/policy_image.hpp"

namespace shype::xend {
namespace {

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "%x", value);
  return text;
}

const char* code_name(acm::PolicyCode code) {
  switch (code) {
    case acm::PolicyCode::chinese_wall: return "CHINESE WALL";
    case acm::PolicyCode::simple_type_enforcement: return "SIMPLE TYPE ENFORCEMENT";
    default: return "NULL";
  }
}

// Rows of 0/1 flags, one per label, as xensec_tool printed them.
void matrix(std::string& out, const acm::TypeSets& rows, std::size_t first_row, std::size_t count,
            std::uint32_t types, std::uint32_t dom0_row, const std::vector<std::string>* names) {
  for (std::uint32_t r = static_cast<std::uint32_t>(first_row);
       r < first_row + count && r < rows.rows(); ++r) {
    char head[32];
    std::snprintf(head, sizeof head, "ssidref%02u:  ", r);
    out += head;
    for (std::uint32_t t = 0; t < types; ++t) out += rows.contains(r, t) ? "01 " : "00 ";
    if (r == dom0_row) out += " <-- Domain-0";
    if (names != nullptr && r < names->size()) out += "  (" + (*names)[r] + ")";
    out += "\n";
  }
}

}  // namespace

std::string dump_policy_text(const acm::PolicyImage& image, acm::Ssidref dom0,
                             const abi::AcmStats* stats, const std::string& fingerprint_hex) {
  std::string out = "Policy dump:\n============\n";
  out += "POLICY REFERENCE = " + image.name + ".\n";
  out += "XML Vers. = " + image.xml_version.to_string() + "\n";
  out += "Fingerprint (SHA-256) = " + fingerprint_hex + "\n";
  out += std::string("Primary   = ") + code_name(image.primary) + ".\n";
  out += std::string("Secondary = ") + code_name(image.secondary) + ".\n\n";
  const std::vector<std::string>* vm_names =
      image.names ? &image.names->vm_labels : nullptr;
  if (image.has_chwall()) {
    out += "Chinese Wall policy:\n====================\n";
    out += "Max Types     = " + hex(image.chwall_type_count) + ".\n";
    out += "Max Ssidrefs  = " + hex(image.chwall_labels.rows()) + ".\n";
    out += "Max ConfSets  = " + hex(image.conflict_sets.rows()) + ".\n";
    if (image.names) {
      out += "Types         =";
      for (const auto& t : image.names->chwall_types) out += " " + t;
      out += "\n";
    }
    out += "\nSSID To CHWALL-Type matrix:\n\n";
    matrix(out, image.chwall_labels, 0, image.chwall_labels.rows(), image.chwall_type_count,
           acm::primary_half(dom0), vm_names);
    out += "\nConflict Sets:\n\n";
    matrix(out, image.conflict_sets, 0, image.conflict_sets.rows(), image.chwall_type_count,
           0xffffffffu, image.names ? &image.names->conflict_sets : nullptr);
    out += "\n";
  }
  if (image.has_ste()) {
    out += "Simple Type Enforcement policy:\n===============================\n";
    out += "Max Types     = " + hex(image.ste_type_count) + ".\n";
    out += "Max Ssidrefs  = " + hex(image.ste_labels.rows()) + ".\n";
    if (image.names) {
      out += "Types         =";
      for (const auto& t : image.names->ste_types) out += " " + t;
      out += "\n";
    }
    out += "\nSSID To STE-Type matrix:\n\n";
    std::vector<std::string> ste_names;
    if (image.names) {
      ste_names = image.names->vm_labels;
      for (const auto& r : image.names->resource_labels) ste_names.push_back("res:" + r);
    }
    matrix(out, image.ste_labels, 0, image.ste_labels.rows(), image.ste_type_count,
           acm::secondary_half(dom0), image.names ? &ste_names : nullptr);
    out += "\n";
  }
  if (stats != nullptr) {
    out += "Statistics:\n===========\n";
    out += "Event channel decisions  = " + std::to_string(stats->ec_eval_count) + " (" +
           std::to_string(stats->ec_denied_count) + " denied)\n";
    out += "Grant table decisions    = " + std::to_string(stats->gt_eval_count) + " (" +
           std::to_string(stats->gt_denied_count) + " denied)\n";
    out += "Domain creations denied  = " + std::to_string(stats->domain_create_denied) + "\n";
    out += "Audit records            = " + std::to_string(stats->audit_records) + "\n";
  }
  return out;
}

}  // namespace shype::xend
