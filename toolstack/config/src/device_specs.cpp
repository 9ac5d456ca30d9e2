// The entries of the disk, vif, vtpm and access_control lists, following
// Xen 3.3's xm create (preprocess_disk, preprocess_vifs, preprocess_vtpm,
// preprocess_access_control), with the fields trimmed and checked.
#include <array>
#include <utility>

#include "field_checks.hpp"
#include "text.hpp"
#include "xmconfig/domain_config.hpp"

namespace shype::xmconfig {
namespace {

using acm::Errc;
using acm::make_error;
using detail::quoted;
using detail::split;
using detail::trim;

constexpr std::string_view kIoemuPrefix = "ioemu:";

tl::unexpected<acm::Error> invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

bool is_device_name(std::string_view dev) {
  if (dev.empty() || dev.size() > 32) return false;
  for (char c : dev) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// TYPE:TARGET with TYPE a lower-case word (phy, file, tap, or a block script).
bool is_uname(std::string_view uname) {
  const std::size_t colon = uname.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uname.size()) return false;
  for (char c : uname.substr(0, colon)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  for (char c : uname) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A value in a key=value device setting: what xm kept after strip().
std::string check_setting(std::string_view spec_kind, std::string_view spec, std::string_view key,
                          std::string_view value) {
  if (value.empty()) {
    return std::string(spec_kind) + " " + quoted(spec) + ": " + std::string(key) + " is empty";
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return std::string(spec_kind) + " " + quoted(spec) + ": " + std::string(key) +
             " contains a control character";
    }
  }
  return {};
}

bool is_mac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (std::size_t i = 0; i < mac.size(); ++i) {
    const char c = mac[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ---- disk ------------------------------------------------------------------

Result<DiskSpec> parse_disk_spec(std::string_view spec) {
  const auto fields = split(spec, ',');
  if (fields.size() < 3 || fields.size() > 4) {
    return invalid("Invalid disk specifier: " + quoted(spec) +
                   " (expected 'UNAME,DEV,MODE' or 'UNAME,DEV,MODE,BACKEND')");
  }
  const std::string prefix = "disk " + quoted(spec) + ": ";
  DiskSpec disk;
  disk.uname = std::string(trim(fields[0]));

  std::string_view dev = trim(fields[1]);
  if (dev.substr(0, kIoemuPrefix.size()) == kIoemuPrefix) {
    disk.ioemu = true;
    dev.remove_prefix(kIoemuPrefix.size());
  }
  if (const std::size_t colon = dev.find(':'); colon != std::string_view::npos) {
    const auto media = disk_media_from_string(dev.substr(colon + 1));
    if (!media) {
      return invalid(prefix + "unknown device type " + quoted(dev.substr(colon)) +
                     " (expected :cdrom or :disk)");
    }
    disk.media = *media;
    dev = dev.substr(0, colon);
  }
  if (!is_device_name(dev)) {
    return invalid(prefix + "device " + quoted(dev) +
                   " is not a device name such as xvda, sda1 or hdc (letters and digits)");
  }
  disk.dev = std::string(dev);

  if (disk.uname.empty()) {
    if (disk.media != DiskMedia::cdrom) {
      return invalid(
          prefix +
          "the device to export is missing (only a CD-ROM drive, 'DEV:cdrom', may be empty)");
    }
  } else if (!is_uname(disk.uname)) {
    return invalid(
        prefix + quoted(disk.uname) +
        " is not a device to export such as phy:hda1, file:/path/disk.img or tap:aio:/path/disk.img");
  }

  const std::string_view mode = trim(fields[2]);
  const auto parsed_mode = disk_mode_from_string(mode);
  if (!parsed_mode) return invalid(prefix + "mode must be r, w or w!, not " + quoted(mode));
  disk.mode = *parsed_mode;

  if (fields.size() == 4) {
    std::string_view backend = trim(fields[3]);
    constexpr std::string_view kBackendKey = "backend=";
    if (backend.substr(0, kBackendKey.size()) == kBackendKey) {
      backend = trim(backend.substr(kBackendKey.size()));
    }
    if (auto why = detail::check_domain_name("backend", backend); !why.empty()) {
      return invalid(prefix + why);
    }
    disk.backend = std::string(backend);
  }
  return disk;
}

std::string format_disk_spec(const DiskSpec& disk) {
  std::string out = disk.uname;
  out += ',';
  if (disk.ioemu) out += kIoemuPrefix;
  out += disk.dev;
  if (disk.media == DiskMedia::cdrom) out += ":cdrom";
  out += ',';
  out += to_string(disk.mode);
  if (disk.backend) {
    out += ',';
    out += *disk.backend;
  }
  return out;
}

// ---- vif -------------------------------------------------------------------

Result<VifSpec> parse_vif_spec(std::string_view spec) {
  VifSpec vif;
  const std::array<std::pair<std::string_view, std::optional<std::string>*>, 9> keys = {{
      {"type", &vif.type},
      {"mac", &vif.mac},
      {"bridge", &vif.bridge},
      {"ip", &vif.ip},
      {"script", &vif.script},
      {"backend", &vif.backend},
      {"vifname", &vif.vifname},
      {"rate", &vif.rate},
      {"model", &vif.model},
  }};
  for (std::string_view item : split(spec, ',')) {
    item = trim(item);
    if (item.empty()) continue;  // '' is an interface with every default
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return invalid("vif " + quoted(spec) + ": expected key=value, found " + quoted(item));
    }
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    std::optional<std::string>* field = nullptr;
    for (const auto& [name, target] : keys) {
      if (name == key) field = target;
    }
    if (field == nullptr) {
      return invalid(
          "Invalid vif option: " + quoted(key) + " in " + quoted(spec) +
          " (the options are type, mac, bridge, ip, script, backend, vifname, rate and model)");
    }
    if (field->has_value()) {
      return invalid("vif " + quoted(spec) + ": " + std::string(key) + " is given twice");
    }
    if (auto why = check_setting("vif", spec, key, value); !why.empty()) return invalid(why);
    if (key == "mac") {
      if (!is_mac(value)) {
        return invalid("vif " + quoted(spec) + ": mac " + quoted(value) +
                       " is not six hex octets such as 00:16:3E:F6:BB:B3");
      }
      const int first_octet = std::stoi(std::string(value.substr(0, 2)), nullptr, 16);
      if ((first_octet & 1) != 0) {
        return invalid("vif " + quoted(spec) + ": mac " + quoted(value) +
                       " is a multicast address (the first octet must be even)");
      }
    }
    if (key == "backend") {
      if (auto why = detail::check_domain_name("backend", value); !why.empty()) {
        return invalid("vif " + quoted(spec) + ": " + why);
      }
    }
    *field = std::string(value);
  }
  return vif;
}

std::string format_vif_spec(const VifSpec& vif) {
  std::string out;
  const auto add = [&out](std::string_view key, const std::optional<std::string>& value) {
    if (!value) return;
    if (!out.empty()) out += ", ";
    out += key;
    out += '=';
    out += *value;
  };
  add("type", vif.type);
  add("mac", vif.mac);
  add("bridge", vif.bridge);
  add("ip", vif.ip);
  add("script", vif.script);
  add("backend", vif.backend);
  add("vifname", vif.vifname);
  add("rate", vif.rate);
  add("model", vif.model);
  return out;
}

// ---- vtpm ------------------------------------------------------------------

Result<VtpmSpec> parse_vtpm_spec(std::string_view spec) {
  VtpmSpec vtpm;
  for (std::string_view item : split(spec, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string_view key = eq == std::string_view::npos ? item : trim(item.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    if (eq == std::string_view::npos || (key != "instance" && key != "backend")) {
      return invalid("Invalid vtpm specifier: " + quoted(spec) +
                     " (expected 'instance=N, backend=DOMAIN', both optional)");
    }
    if (key == "instance") {
      if (vtpm.instance) return invalid("vtpm " + quoted(spec) + ": instance is given twice");
      const auto n = detail::parse_decimal(value);
      if (!n || value.front() == '+' || value.front() == '-' || *n <= 0 ||
          *n > std::int64_t{0xFFFFFFFF}) {
        return invalid("vtpm " + quoted(spec) + ": instance must be a number greater than 0, not " +
                       quoted(value));
      }
      vtpm.instance = static_cast<std::uint32_t>(*n);
    } else {
      if (vtpm.backend) return invalid("vtpm " + quoted(spec) + ": backend is given twice");
      if (auto why = detail::check_domain_name("backend", value); !why.empty()) {
        return invalid("vtpm " + quoted(spec) + ": " + why);
      }
      vtpm.backend = std::string(value);
    }
  }
  return vtpm;
}

std::string format_vtpm_spec(const VtpmSpec& vtpm) {
  std::string out;
  if (vtpm.instance) out += "instance=" + std::to_string(*vtpm.instance);
  if (vtpm.backend) {
    if (!out.empty()) out += ", ";
    out += "backend=" + *vtpm.backend;
  }
  return out;
}

// ---- access_control (reference 2.1) ------------------------------------------

Result<AccessControl> parse_access_control(std::string_view spec) {
  const auto items = split(spec, ',');
  if (items.size() > 2) {
    return invalid("Too many elements in access_control specifier: " + std::string(spec));
  }
  std::optional<std::string> policy;
  std::optional<std::string> label;
  for (std::string_view item : items) {
    item = trim(item);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return invalid("Invalid access_control specifier: " + std::string(spec));
    }
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (key == "policy") {
      policy = std::string(value);
    } else if (key == "label") {
      label = std::string(value);
    } else {
      return invalid("Invalid access_control specifier: " + std::string(spec));
    }
  }
  if (!policy || !label || policy->empty() || label->empty()) {
    return invalid("Invalid access_control specifier: " + std::string(spec) +
                   " (it needs policy=<policy>,label=<label>)");
  }
  return AccessControl{std::move(*policy), std::move(*label)};
}

std::string security_label(const AccessControl& access_control) {
  return "ACM:" + access_control.policy + ":" + access_control.label;
}

// ---- enums -------------------------------------------------------------------

std::string_view to_string(DiskMode mode) noexcept {
  switch (mode) {
    case DiskMode::read_only:
      return "r";
    case DiskMode::read_write:
      return "w";
    case DiskMode::force_write:
      return "w!";
  }
  return "r";
}

std::string_view to_string(DiskMedia media) noexcept {
  return media == DiskMedia::cdrom ? "cdrom" : "disk";
}

std::string_view to_string(ShutdownAction a) noexcept {
  switch (a) {
    case ShutdownAction::destroy:
      return "destroy";
    case ShutdownAction::restart:
      return "restart";
    case ShutdownAction::preserve:
      return "preserve";
    case ShutdownAction::rename_restart:
      return "rename-restart";
  }
  return "destroy";
}

std::optional<DiskMode> disk_mode_from_string(std::string_view s) noexcept {
  if (s == "r") return DiskMode::read_only;
  if (s == "w") return DiskMode::read_write;
  if (s == "w!") return DiskMode::force_write;
  return std::nullopt;
}

std::optional<DiskMedia> disk_media_from_string(std::string_view s) noexcept {
  if (s == "disk") return DiskMedia::disk;
  if (s == "cdrom") return DiskMedia::cdrom;
  return std::nullopt;
}

std::optional<ShutdownAction> shutdown_action_from_string(std::string_view s) noexcept {
  if (s == "destroy") return ShutdownAction::destroy;
  if (s == "restart") return ShutdownAction::restart;
  if (s == "preserve") return ShutdownAction::preserve;
  if (s == "rename-restart") return ShutdownAction::rename_restart;
  return std::nullopt;
}

}  // namespace shype::xmconfig
