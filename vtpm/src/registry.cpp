#include "vtpm/registry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include <openssl/rand.h>

#include "vtpm/attest.hpp"
#include "vtpm/policy_gate.hpp"

namespace shype::vtpm {

using acm::Errc;
using acm::make_error;
using nlohmann::json;

bool is_valid_domain_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  });
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash) {
      if (out[i] != '-') return std::nullopt;
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(out[i])) == 0) return std::nullopt;
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

std::string random_uuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // OpenSSL's generator failing is not recoverable here; a fixed UUID would
    // collide, so fall back to the clock-seeded C library (still unique enough
    // for a name nobody chose).
    for (auto& x : b)
      x = static_cast<unsigned char>(std::rand());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string out;
  char hex[3];
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", b[i]);
    out += hex;
  }
  return out;
}

std::uint32_t Registry::lowest_free() const noexcept {
  std::uint32_t candidate = 1;
  for (const auto& b : bindings_) {  // sorted
    if (b.instance == candidate)
      ++candidate;
    else if (b.instance > candidate)
      break;
  }
  return candidate;
}

acm::Result<Allocation> Registry::create(std::string_view name, std::string_view uuid,
                                         std::optional<std::int64_t> requested,
                                         std::vector<std::string> pcr_banks) {
  if (pcr_banks.empty()) {
    return make_error(Errc::invalid_argument, "an instance needs at least one PCR bank");
  }
  for (std::size_t i = 0; i < pcr_banks.size(); ++i) {
    if (!is_known_pcr_bank(pcr_banks[i]) ||
        std::find(pcr_banks.begin(), pcr_banks.begin() + static_cast<std::ptrdiff_t>(i),
                  pcr_banks[i]) != pcr_banks.begin() + static_cast<std::ptrdiff_t>(i)) {
      return make_error(Errc::invalid_argument,
                        "PCR bank '" + pcr_banks[i] +
                            "' is unknown or listed twice (sha1, sha256, sha384, sha512)");
    }
  }
  if (!is_valid_domain_name(name)) {
    return make_error(Errc::invalid_argument,
                      "domain name '" + std::string(name) +
                          "' is invalid (1-64 characters of A-Z a-z 0-9 _ . -)");
  }
  std::string canonical;
  if (!uuid.empty()) {
    auto c = canonical_uuid(uuid);
    if (!c) {
      return make_error(Errc::invalid_argument,
                        "domain uuid '" + std::string(uuid) +
                            "' is invalid (expected 8-4-4-4-12 hexadecimal digits)");
    }
    canonical = *c;
  }
  if (requested && *requested < 0) {
    return make_error(Errc::invalid_argument,
                      "instance " + std::to_string(*requested) + " is invalid (negative)");
  }
  for (const auto& b : bindings_) {
    const bool same_name = b.domain_name == name;
    const bool same_uuid = !canonical.empty() && b.domain_uuid == canonical;
    if (same_uuid && !same_name) {
      return make_error(Errc::invalid_argument,
                        "domain uuid " + canonical + " is already bound to instance " +
                            std::to_string(b.instance) + " under the name '" + b.domain_name + "'");
    }
    if (same_name && !canonical.empty() && !same_uuid) {
      return make_error(Errc::invalid_argument,
                        "domain name '" + std::string(name) + "' is already bound to instance " +
                            std::to_string(b.instance) + " with uuid " + b.domain_uuid);
    }
    if (same_name) {
      Allocation a;
      a.binding = b;
      a.existing = true;
      if (requested)
        a.requested = static_cast<std::uint32_t>(std::min<std::int64_t>(*requested, UINT32_MAX));
      return a;
    }
  }
  std::uint32_t chosen = 0;
  if (requested && *requested > static_cast<std::int64_t>(kReservedInstance) &&
      *requested <= static_cast<std::int64_t>(kMaxInstance) &&
      find(static_cast<std::uint32_t>(*requested)) == nullptr) {
    chosen = static_cast<std::uint32_t>(*requested);
  } else {
    chosen = lowest_free();
  }
  if (chosen > kMaxInstance) {
    return make_error(Errc::limit_exceeded, "no free vTPM instance: all " +
                                                std::to_string(kMaxInstance) +
                                                " instance numbers are bound");
  }
  Binding binding{chosen, std::string(name), canonical.empty() ? random_uuid() : canonical, false,
                  {}, std::move(pcr_banks)};
  bindings_.push_back(binding);
  std::sort(bindings_.begin(), bindings_.end(),
            [](const Binding& a, const Binding& b) { return a.instance < b.instance; });
  Allocation a;
  a.binding = binding;
  if (requested)
    a.requested = static_cast<std::uint32_t>(std::min<std::int64_t>(*requested, UINT32_MAX));
  return a;
}

const Binding* Registry::find(std::uint32_t instance) const noexcept {
  for (const auto& b : bindings_) {
    if (b.instance == instance) return &b;
  }
  return nullptr;
}

acm::Result<Binding> Registry::resolve(std::string_view reference) const {
  if (reference.empty()) {
    return make_error(Errc::invalid_argument, "no vTPM instance given");
  }
  const bool numeric = std::all_of(reference.begin(), reference.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (numeric) {
    if (reference.size() <= 4) {
      const auto n = static_cast<std::uint32_t>(std::stoul(std::string(reference)));
      if (const Binding* b = find(n)) return *b;
    }
    return make_error(Errc::not_found, "no vTPM instance " + std::string(reference));
  }
  const auto uuid = canonical_uuid(reference);
  for (const auto& b : bindings_) {
    if ((uuid && b.domain_uuid == *uuid) || b.domain_name == reference) return b;
  }
  return make_error(Errc::not_found, "no vTPM instance is bound to a domain named or with uuid '" +
                                         std::string(reference) + "'");
}

acm::Status Registry::set_autostart(std::uint32_t instance, bool autostart) {
  for (auto& b : bindings_) {
    if (b.instance == instance) {
      b.autostart = autostart;
      return {};
    }
  }
  return make_error(Errc::not_found, "no vTPM instance " + std::to_string(instance));
}

acm::Status Registry::set_label(std::uint32_t instance, std::string label) {
  for (auto& b : bindings_) {
    if (b.instance == instance) {
      b.label = std::move(label);
      return {};
    }
  }
  return make_error(Errc::not_found, "no vTPM instance " + std::to_string(instance));
}

acm::Status Registry::remove(std::uint32_t instance) {
  const auto it = std::find_if(bindings_.begin(), bindings_.end(),
                               [&](const Binding& b) { return b.instance == instance; });
  if (it == bindings_.end()) {
    return make_error(Errc::not_found, "no vTPM instance " + std::to_string(instance));
  }
  bindings_.erase(it);
  return {};
}

json Registry::to_json() const {
  json list = json::array();
  for (const auto& b : bindings_) {
    json entry = {{"instance", b.instance},
                  {"name", b.domain_name},
                  {"uuid", b.domain_uuid},
                  {"autostart", b.autostart}};
    entry["pcr_banks"] = b.pcr_banks;
    if (!b.label.empty()) entry["label"] = b.label;
    list.push_back(std::move(entry));
  }
  return {{"version", 1}, {"instances", list}};
}

acm::Result<Registry> Registry::from_json(const json& stored, const std::string& origin) {
  const acm::SourceLocation where{origin, 0, 0};
  const auto bad = [&](const std::string& what) {
    return make_error(Errc::malformed_binary, "vTPM registry: " + what, where);
  };
  if (!stored.is_object()) return bad("not a JSON object");
  if (!stored.contains("version") || !stored["version"].is_number_integer() ||
      stored["version"].get<std::int64_t>() != 1) {
    return bad("\"version\" must be 1");
  }
  if (!stored.contains("instances") || !stored["instances"].is_array()) {
    return bad("\"instances\" must be an array");
  }
  Registry registry;
  std::size_t index = 0;
  for (const auto& entry : stored["instances"]) {
    const std::string at = "entry " + std::to_string(index++) + ": ";
    if (!entry.is_object()) return bad(at + "not an object");
    if (!entry.contains("instance") || !entry["instance"].is_number_integer() ||
        entry["instance"].get<std::int64_t>() < 0) {
      return bad(at + "\"instance\" must be a number 1-255");
    }
    const auto n = entry["instance"].get<std::int64_t>();
    if (n == kReservedInstance || n > kMaxInstance) {
      return bad(at + "instance " + std::to_string(n) + " is out of range 1-255");
    }
    if (!entry.contains("name") || !entry["name"].is_string() ||
        !is_valid_domain_name(entry["name"].get<std::string>())) {
      return bad(at + "\"name\" must be a valid domain name");
    }
    if (!entry.contains("uuid") || !entry["uuid"].is_string() ||
        !canonical_uuid(entry["uuid"].get<std::string>())) {
      return bad(at + "\"uuid\" must be a UUID");
    }
    if (entry.contains("autostart") && !entry["autostart"].is_boolean()) {
      return bad(at + "\"autostart\" must be true or false");
    }
    std::string label;
    if (entry.contains("label")) {
      if (!entry["label"].is_string()) return bad(at + "\"label\" must be a string");
      auto canonical = canonical_vtpm_label(entry["label"].get<std::string>());
      if (!canonical) return bad(at + canonical.error().message);
      label = std::move(*canonical);
    }
    std::vector<std::string> banks = {"sha256"};
    if (entry.contains("pcr_banks")) {
      const auto& list = entry["pcr_banks"];
      if (!list.is_array() || list.empty()) return bad(at + "\"pcr_banks\" must be a list of banks");
      banks.clear();
      for (const auto& bank : list) {
        if (!bank.is_string() || !is_known_pcr_bank(bank.get<std::string>()) ||
            std::find(banks.begin(), banks.end(), bank.get<std::string>()) != banks.end()) {
          return bad(at + "\"pcr_banks\" holds an unknown or repeated bank");
        }
        banks.push_back(bank.get<std::string>());
      }
    }
    const bool autostart = entry.contains("autostart") && entry["autostart"] == true;
    Binding b{static_cast<std::uint32_t>(n), entry["name"].get<std::string>(),
              *canonical_uuid(entry["uuid"].get<std::string>()), autostart, std::move(label),
              std::move(banks)};
    for (const auto& other : registry.bindings_) {
      if (other.instance == b.instance) {
        return bad(at + "instance " + std::to_string(n) + " appears twice");
      }
      if (other.domain_name == b.domain_name) {
        return bad(at + "domain name '" + b.domain_name + "' appears twice");
      }
      if (other.domain_uuid == b.domain_uuid) {
        return bad(at + "domain uuid " + b.domain_uuid + " appears twice");
      }
    }
    registry.bindings_.push_back(std::move(b));
  }
  std::sort(registry.bindings_.begin(), registry.bindings_.end(),
            [](const Binding& a, const Binding& b) { return a.instance < b.instance; });
  return registry;
}

}  // namespace shype::vtpm
