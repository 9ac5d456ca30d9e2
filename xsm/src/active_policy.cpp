#include "active_policy.hpp"

#include <utility>

namespace shype::xsm {

acm::Result<std::unique_ptr<const ActivePolicy>> ActivePolicy::load(
    std::span<const std::uint8_t> binary) {
  acm::BinaryFormat format = acm::BinaryFormat::compact;
  auto image = acm::read_binary_policy(binary, &format);
  if (!image) return tl::unexpected(image.error());
  auto engine = acm::PolicyEngine::build(std::move(*image));
  if (!engine) return tl::unexpected(engine.error());
  return std::make_unique<const ActivePolicy>(
      std::vector<std::uint8_t>(binary.begin(), binary.end()), std::move(*engine), format);
}

ActivePolicy::ActivePolicy(std::vector<std::uint8_t> binary, acm::PolicyEngine engine,
                           acm::BinaryFormat format)
    : binary_(std::move(binary)),
      engine_(std::move(engine)),
      format_(format),
      fingerprint_(acm::sha256(binary_)),
      fingerprint_hex_(acm::to_hex(fingerprint_)),
      version_text_(engine_.image().xml_version.to_string()) {}

std::string ActivePolicy::describe() const {
  return "'" + image().name + "' " + version_text_;
}

std::string ActivePolicy::label_name(acm::Ssidref ssidref) const {
  const acm::PolicyImage& im = image();
  if (!im.names) return {};
  if (auto index = vm_label_index(ssidref)) return im.names->vm_labels[*index];
  if (is_resource_label(ssidref)) {
    return im.names->resource_labels[acm::secondary_half(ssidref) - im.vm_label_count];
  }
  return {};
}

bool ActivePolicy::default_shaped() const noexcept {
  const acm::PolicyImage& im = image();
  if (!im.has_chwall() || !im.has_ste()) return false;
  // CHWALL: one type, two labels, neither holding it (so no conflict set
  // can ever matter).
  if (im.chwall_type_count != 1 || im.vm_label_count != 2 || im.chwall_labels.rows() != 2 ||
      !im.chwall_labels.row(0).empty() || !im.chwall_labels.row(1).empty()) {
    return false;
  }
  // STE: two types; unlabeled = {1}, Domain-0 = {0, 1}; no resource rows
  // besides the unlabeled one (which is row 0).
  if (im.ste_type_count != 2 || im.ste_labels.rows() != 2) return false;
  const auto unlabeled = im.ste_labels.row(0);
  const auto domain0 = im.ste_labels.row(1);
  return unlabeled.size() == 1 && unlabeled[0] == 1 && domain0.size() == 2 && domain0[0] == 0 &&
         domain0[1] == 1;
}

}  // namespace shype::xsm
