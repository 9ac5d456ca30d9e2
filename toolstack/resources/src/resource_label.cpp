#include "resources/resource_label.hpp"

#include <vector>

namespace shype::resources {
namespace {

using acm::Errc;
using acm::make_error;

std::vector<std::string_view> split_colons(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = text.find(':', start);
    if (colon == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
}

bool has_control(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string_view label_type_name(LabelType type) noexcept {
  return type == LabelType::inv_acm ? "INV_ACM" : "ACM";
}

std::string ResourceLabel::to_string() const {
  std::string out(label_type_name(type));
  out += ':';
  out += policy;
  out += ':';
  out += label;
  return out;
}

ResourceLabel ResourceLabel::inaccessible() {
  return ResourceLabel{LabelType::acm, std::string(kAnyPolicy), std::string(kInaccessibleLabel)};
}

ResourceLabel ResourceLabel::invalidated() const {
  ResourceLabel out = *this;
  out.type = LabelType::inv_acm;
  return out;
}

Result<ResourceLabel> ResourceLabel::parse(std::string_view text) {
  const auto parts = split_colons(text);
  if (parts.size() != 3) {
    return make_error(Errc::invalid_argument, "Resource label '" + std::string(text) +
                                                  "' is not of the form <type>:<policy>:<label>");
  }
  ResourceLabel out;
  if (parts[0] == "ACM") {
    out.type = LabelType::acm;
  } else if (parts[0] == "INV_ACM") {
    out.type = LabelType::inv_acm;
  } else {
    return make_error(Errc::invalid_argument, "Resource label '" + std::string(text) +
                                                  "' has the unknown policy type '" +
                                                  std::string(parts[0]) + "' (ACM or INV_ACM)");
  }
  out.policy = parts[1];
  out.label = parts[2];
  if (auto valid = out.validate(); !valid) return tl::unexpected(valid.error());
  return out;
}

acm::Status ResourceLabel::validate() const {
  const std::string text = to_string();
  if (policy.empty() || label.empty()) {
    return make_error(Errc::invalid_argument,
                      "Resource label '" + text + "' has an empty policy or label name");
  }
  if (policy.find(':') != std::string::npos || label.find(':') != std::string::npos) {
    return make_error(Errc::invalid_argument,
                      "Resource label '" + text + "' has a ':' in its policy or label name");
  }
  if (has_control(policy) || has_control(label)) {
    return make_error(
        Errc::invalid_argument,
        "Resource label '" + text + "' has a control character in its policy or label name");
  }
  return {};
}

}  // namespace shype::resources
