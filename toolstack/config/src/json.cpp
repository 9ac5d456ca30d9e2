#include "xmconfig/json.hpp"

#include <limits>
#include <set>
#include <utility>

#include "field_checks.hpp"
#include "text.hpp"

namespace shype::xmconfig {
namespace {

using acm::Errc;
using acm::Error;
using acm::make_error;
using nlohmann::json;

tl::unexpected<Error> bad(const std::string& path, std::string message) {
  return make_error(
      Errc::invalid_argument,
      "domain record " + (path.empty() ? std::string("/") : path) + ": " + std::move(message));
}

// A JSON integer, signed or unsigned (saturated at INT64_MAX; every field's
// range is far below it).
std::optional<std::int64_t> integer_of(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(u);
  }
  return v.get<std::int64_t>();
}

void put_optional(json& j, const char* key, const std::optional<std::string>& value) {
  if (value) j[key] = *value;
}

// Reads one object, remembering which keys were used so that unknown ones
// can be refused at the end.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  // Device entries and access_control are comma-separated in configuration
  // files, so their strings cannot hold a comma.
  void refuse_commas() { refuse_commas_ = true; }

  [[nodiscard]] Status require_object() const {
    if (!object_.is_object()) return bad(path_, "must be a JSON object");
    return {};
  }

  [[nodiscard]] const json* get(const std::string& key) {
    used_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  [[nodiscard]] std::string path(const std::string& key) const { return path_ + "/" + key; }

  // A string that a configuration file could hold: UTF-8 without NUL.
  [[nodiscard]] Result<std::optional<std::string>> string(const std::string& key) {
    const json* v = get(key);
    if (v == nullptr) return std::optional<std::string>{};
    if (!v->is_string()) return bad(path(key), "must be a string");
    const auto& s = v->get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos || detail::first_invalid_utf8(s)) {
      return bad(path(key), "must be UTF-8 text without NUL characters");
    }
    if (refuse_commas_ && s.find(',') != std::string::npos) {
      return bad(path(key), "must not contain ','");
    }
    return std::optional<std::string>(s);
  }

  [[nodiscard]] Status string_into(const std::string& key, std::string& target) {
    auto s = string(key);
    if (!s) return tl::unexpected(s.error());
    if (*s) target = std::move(**s);
    return {};
  }

  // An optional string field: absent, or a non-empty string (the parser maps
  // '' to absent, so "" is not a form the writer produces).
  [[nodiscard]] Status optional_into(const std::string& key, std::optional<std::string>& target) {
    auto s = string(key);
    if (!s) return tl::unexpected(s.error());
    if (*s && (*s)->empty()) return bad(path(key), "must not be empty (leave the key out)");
    target = std::move(*s);
    return {};
  }

  template <typename Check>
  [[nodiscard]] Status integer_into(const std::string& key, std::uint32_t& target, Check check) {
    const json* v = get(key);
    if (v == nullptr) return {};
    const auto n = integer_of(*v);
    if (!n) return bad(path(key), "must be an integer");
    if (auto why = check(*n); !why.empty()) return bad(path(key), std::move(why));
    target = static_cast<std::uint32_t>(*n);
    return {};
  }

  [[nodiscard]] Status bool_into(const std::string& key, bool& target) {
    const json* v = get(key);
    if (v == nullptr) return {};
    if (!v->is_boolean()) return bad(path(key), "must be true or false");
    target = v->get<bool>();
    return {};
  }

  [[nodiscard]] Status no_unknown_keys() const {
    for (const auto& [key, value] : object_.items()) {
      if (!used_.contains(key)) return bad(path(key), "unknown key");
    }
    return {};
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> used_;
  bool refuse_commas_ = false;
};

// Devices are checked by writing them in configuration-file syntax and
// parsing that back: a record is accepted exactly when a configuration file
// could have produced it.
template <typename Spec, typename Format, typename Parse>
Status check_by_reparsing(const Spec& spec, const std::string& path, Format format, Parse parse) {
  auto reparsed = parse(format(spec));
  if (!reparsed) return bad(path, reparsed.error().message);
  if (!(*reparsed == spec)) {
    return bad(path, "is not in canonical form (expected " + format(*reparsed) + ")");
  }
  return {};
}

Result<DiskSpec> disk_from_json(const json& j, const std::string& path) {
  ObjectReader r(j, path);
  r.refuse_commas();
  if (auto ok = r.require_object(); !ok) return tl::unexpected(ok.error());
  DiskSpec d;
  auto uname = r.string("uname");
  auto dev = r.string("dev");
  auto mode = r.string("mode");
  auto media = r.string("media");
  for (const auto* s : {&uname, &dev, &mode, &media}) {
    if (!*s) return tl::unexpected(s->error());
  }
  if (!*uname || !*dev || !*mode) return bad(path, "needs uname, dev and mode");
  d.uname = std::move(**uname);
  d.dev = std::move(**dev);
  const auto m = disk_mode_from_string(**mode);
  if (!m) return bad(r.path("mode"), "must be r, w or w!");
  d.mode = *m;
  if (*media) {
    const auto parsed = disk_media_from_string(**media);
    if (!parsed) return bad(r.path("media"), "must be disk or cdrom");
    d.media = *parsed;
  }
  if (auto ok = r.bool_into("ioemu", d.ioemu); !ok) return tl::unexpected(ok.error());
  if (auto ok = r.optional_into("backend", d.backend); !ok) return tl::unexpected(ok.error());
  if (auto ok = r.no_unknown_keys(); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_by_reparsing(d, path, format_disk_spec, parse_disk_spec); !ok) {
    return tl::unexpected(ok.error());
  }
  return d;
}

Result<VifSpec> vif_from_json(const json& j, const std::string& path) {
  ObjectReader r(j, path);
  r.refuse_commas();
  if (auto ok = r.require_object(); !ok) return tl::unexpected(ok.error());
  VifSpec v;
  for (auto [key, target] : {std::pair<const char*, std::optional<std::string>*>{"type", &v.type},
                             {"mac", &v.mac},
                             {"bridge", &v.bridge},
                             {"ip", &v.ip},
                             {"script", &v.script},
                             {"backend", &v.backend},
                             {"vifname", &v.vifname},
                             {"rate", &v.rate},
                             {"model", &v.model}}) {
    if (auto ok = r.optional_into(key, *target); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = r.no_unknown_keys(); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_by_reparsing(v, path, format_vif_spec, parse_vif_spec); !ok) {
    return tl::unexpected(ok.error());
  }
  return v;
}

Result<VtpmSpec> vtpm_from_json(const json& j, const std::string& path) {
  ObjectReader r(j, path);
  r.refuse_commas();
  if (auto ok = r.require_object(); !ok) return tl::unexpected(ok.error());
  VtpmSpec v;
  if (const json* instance = r.get("instance")) {
    const auto n = integer_of(*instance);
    if (!n || *n <= 0 || *n > 0xFFFFFFFF) {
      return bad(r.path("instance"), "must be a number greater than 0");
    }
    v.instance = static_cast<std::uint32_t>(*n);
  }
  if (auto ok = r.optional_into("backend", v.backend); !ok) return tl::unexpected(ok.error());
  if (auto ok = r.no_unknown_keys(); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_by_reparsing(v, path, format_vtpm_spec, parse_vtpm_spec); !ok) {
    return tl::unexpected(ok.error());
  }
  return v;
}

template <typename Spec, typename Decode>
Status list_from_json(ObjectReader& r, const std::string& key, std::vector<Spec>& target,
                      Decode decode) {
  const json* list = r.get(key);
  if (list == nullptr) return {};
  if (!list->is_array()) return bad(r.path(key), "must be an array");
  if (list->size() > kMaxListLength) {
    return bad(r.path(key), "has more than " + std::to_string(kMaxListLength) + " entries");
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto spec = decode((*list)[i], r.path(key) + "/" + std::to_string(i));
    if (!spec) return tl::unexpected(spec.error());
    target.push_back(std::move(*spec));
  }
  return {};
}

Status actions_from_json(ObjectReader& r, DomainConfig& c) {
  for (auto [key, target] : {std::pair<const char*, ShutdownAction*>{"on_poweroff", &c.on_poweroff},
                             {"on_reboot", &c.on_reboot},
                             {"on_crash", &c.on_crash}}) {
    auto s = r.string(key);
    if (!s) return tl::unexpected(s.error());
    if (!*s) continue;
    const auto action = shutdown_action_from_string(**s);
    if (!action) return bad(r.path(key), "must be destroy, restart, preserve or rename-restart");
    *target = *action;
  }
  return {};
}

Status access_control_from_json(ObjectReader& r, DomainConfig& c) {
  const json* ac = r.get("access_control");
  if (ac == nullptr) return {};
  ObjectReader inner(*ac, r.path("access_control"));
  inner.refuse_commas();
  if (auto ok = inner.require_object(); !ok) return ok;
  auto policy = inner.string("policy");
  if (!policy) return tl::unexpected(policy.error());
  auto label = inner.string("label");
  if (!label) return tl::unexpected(label.error());
  if (auto ok = inner.no_unknown_keys(); !ok) return ok;
  if (!*policy || !*label) return bad(r.path("access_control"), "needs policy and label");
  AccessControl parsed{std::move(**policy), std::move(**label)};
  const auto format = [](const AccessControl& a) {
    return "policy=" + a.policy + ",label=" + a.label;
  };
  return check_by_reparsing(parsed, r.path("access_control"), format, parse_access_control)
      .map([&] { c.access_control = std::move(parsed); });
}

}  // namespace

nlohmann::json to_json(const DomainConfig& c) {
  json j = json::object();
  j["name"] = c.name;
  j["kernel"] = c.kernel;
  put_optional(j, "ramdisk", c.ramdisk);
  j["memory"] = c.memory;
  j["vcpus"] = c.vcpus;

  json disks = json::array();
  for (const DiskSpec& d : c.disks) {
    json disk = {{"uname", d.uname},
                 {"dev", d.dev},
                 {"ioemu", d.ioemu},
                 {"media", std::string(to_string(d.media))},
                 {"mode", std::string(to_string(d.mode))}};
    put_optional(disk, "backend", d.backend);
    disks.push_back(std::move(disk));
  }
  j["disks"] = std::move(disks);

  json vifs = json::array();
  for (const VifSpec& v : c.vifs) {
    json vif = json::object();
    put_optional(vif, "type", v.type);
    put_optional(vif, "mac", v.mac);
    put_optional(vif, "bridge", v.bridge);
    put_optional(vif, "ip", v.ip);
    put_optional(vif, "script", v.script);
    put_optional(vif, "backend", v.backend);
    put_optional(vif, "vifname", v.vifname);
    put_optional(vif, "rate", v.rate);
    put_optional(vif, "model", v.model);
    vifs.push_back(std::move(vif));
  }
  j["vifs"] = std::move(vifs);

  json vtpms = json::array();
  for (const VtpmSpec& v : c.vtpms) {
    json vtpm = json::object();
    if (v.instance) vtpm["instance"] = *v.instance;
    put_optional(vtpm, "backend", v.backend);
    vtpms.push_back(std::move(vtpm));
  }
  j["vtpms"] = std::move(vtpms);

  j["root"] = c.root;
  j["extra"] = c.extra;
  j["cmdline"] = c.cmdline;
  j["dhcp"] = c.dhcp;
  j["ip"] = c.ip;
  j["netmask"] = c.netmask;
  j["gateway"] = c.gateway;
  j["hostname"] = c.hostname;
  j["interface"] = c.interface;
  j["nfs_server"] = c.nfs_server;
  j["nfs_root"] = c.nfs_root;
  j["on_poweroff"] = std::string(to_string(c.on_poweroff));
  j["on_reboot"] = std::string(to_string(c.on_reboot));
  j["on_crash"] = std::string(to_string(c.on_crash));
  put_optional(j, "cpus", c.cpus);
  j["cpu_weight"] = c.cpu_weight;
  j["cpu_cap"] = c.cpu_cap;
  put_optional(j, "uuid", c.uuid);
  if (c.access_control) {
    j["access_control"] = {{"policy", c.access_control->policy},
                           {"label", c.access_control->label}};
  }
  return j;
}

Result<DomainConfig> domain_config_from_json(const nlohmann::json& j) {
  ObjectReader r(j, "");
  if (auto ok = r.require_object(); !ok) return tl::unexpected(ok.error());
  DomainConfig c;

  auto name = r.string("name");
  if (!name) return tl::unexpected(name.error());
  if (!*name) return bad(r.path("name"), "is required");
  if (auto why = detail::check_domain_name("name", **name); !why.empty()) {
    return bad(r.path("name"), std::move(why));
  }
  c.name = std::move(**name);

  auto kernel = r.string("kernel");
  if (!kernel) return tl::unexpected(kernel.error());
  if (!*kernel) return bad(r.path("kernel"), "is required");
  if (auto why = detail::check_image_path("kernel", **kernel); !why.empty()) {
    return bad(r.path("kernel"), std::move(why));
  }
  c.kernel = std::move(**kernel);

  if (auto ok = r.optional_into("ramdisk", c.ramdisk); !ok) return tl::unexpected(ok.error());
  if (auto ok = r.integer_into("memory", c.memory, detail::check_memory); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = r.integer_into("vcpus", c.vcpus, detail::check_vcpus); !ok) {
    return tl::unexpected(ok.error());
  }

  if (auto ok = list_from_json(r, "disks", c.disks, disk_from_json); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto why = detail::check_unique_devices(c.disks); !why.empty()) {
    return bad(r.path("disks"), std::move(why));
  }
  if (auto ok = list_from_json(r, "vifs", c.vifs, vif_from_json); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = list_from_json(r, "vtpms", c.vtpms, vtpm_from_json); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto why = detail::check_vtpm_count(c.vtpms.size()); !why.empty()) {
    return bad(r.path("vtpms"), std::move(why));
  }

  for (auto [key, target] : {std::pair<const char*, std::string*>{"root", &c.root},
                             {"extra", &c.extra},
                             {"ip", &c.ip},
                             {"netmask", &c.netmask},
                             {"gateway", &c.gateway},
                             {"hostname", &c.hostname},
                             {"interface", &c.interface},
                             {"nfs_server", &c.nfs_server},
                             {"nfs_root", &c.nfs_root}}) {
    if (auto ok = r.string_into(key, *target); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = r.bool_into("dhcp", c.dhcp); !ok) return tl::unexpected(ok.error());
  if (auto why = detail::check_nfs(c.nfs_server, c.nfs_root); !why.empty()) {
    return bad(r.path("nfs_root"), std::move(why));
  }
  c.cmdline = build_cmdline(c);
  auto cmdline = r.string("cmdline");
  if (!cmdline) return tl::unexpected(cmdline.error());
  if (*cmdline && **cmdline != c.cmdline) {
    return bad(r.path("cmdline"),
               "does not match the command line built from ip, root, nfs_* and extra (" +
                   detail::quoted(c.cmdline) + ")");
  }

  if (auto ok = actions_from_json(r, c); !ok) return tl::unexpected(ok.error());

  if (auto ok = r.optional_into("cpus", c.cpus); !ok) return tl::unexpected(ok.error());
  if (c.cpus) {
    if (auto why = detail::check_cpus(*c.cpus); !why.empty()) {
      return bad(r.path("cpus"), std::move(why));
    }
  }
  if (auto ok = r.integer_into("cpu_weight", c.cpu_weight, detail::check_cpu_weight); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = r.integer_into("cpu_cap", c.cpu_cap, detail::check_cpu_cap); !ok) {
    return tl::unexpected(ok.error());
  }

  std::optional<std::string> uuid;
  if (auto ok = r.optional_into("uuid", uuid); !ok) return tl::unexpected(ok.error());
  if (uuid) {
    c.uuid = detail::canonical_uuid(*uuid);
    if (!c.uuid) return bad(r.path("uuid"), detail::uuid_error(*uuid));
  }

  if (auto ok = access_control_from_json(r, c); !ok) return tl::unexpected(ok.error());
  if (auto ok = r.no_unknown_keys(); !ok) return tl::unexpected(ok.error());
  return c;
}

}  // namespace shype::xmconfig
