#include "xmconfig/domain_config.hpp"

#include <utility>

#include "field_checks.hpp"
#include "text.hpp"

namespace shype::xmconfig {
namespace {

using acm::Errc;
using acm::Error;
using acm::make_error;

// Reads known keys with the type each must have; errors point at the
// variable's assignment.
class Reader {
 public:
  explicit Reader(const ConfigFile& file) : file_(file) {}

  [[nodiscard]] const Variable* find(std::string_view key) const { return file_.find(key); }

  [[nodiscard]] tl::unexpected<Error> fail(const Variable& v, std::string message) const {
    return make_error(Errc::invalid_argument, std::move(message), v.where);
  }
  [[nodiscard]] tl::unexpected<Error> fail_file(std::string message) const {
    return make_error(Errc::invalid_argument, std::move(message),
                      SourceLocation{file_.file_name, 0, 0});
  }

  [[nodiscard]] Result<std::optional<std::string>> string(std::string_view key) const {
    const Variable* v = find(key);
    if (v == nullptr) return std::optional<std::string>{};
    if (v->from_command_line && v->value.is_integer()) {
      return std::optional<std::string>(v->as_typed);  // `xm create cfg cpus=1`
    }
    if (!v->value.is_string()) {
      return fail(*v, std::string(key) + " must be a string, not " + kind_name(v->value.kind()));
    }
    return std::optional<std::string>(v->value.as_string());
  }

  // An optional string where '' means "not set" (as xm's `if vals.ramdisk:`).
  [[nodiscard]] Result<std::optional<std::string>> optional_string(std::string_view key) const {
    auto s = string(key);
    if (s && *s && (*s)->empty()) return std::optional<std::string>{};
    return s;
  }

  [[nodiscard]] Status string_into(std::string_view key, std::string& target) const {
    auto s = string(key);
    if (!s) return tl::unexpected(s.error());
    if (*s) target = std::move(**s);
    return {};
  }

  // Checks with `check` (field_checks.hpp) and stores into a uint32 field.
  template <typename Check>
  [[nodiscard]] Status integer_into(std::string_view key, std::uint32_t& target,
                                    Check check) const {
    const Variable* v = find(key);
    if (v == nullptr) return {};
    if (!v->value.is_integer()) {
      return fail(*v, std::string(key) + " must be an integer, not " + kind_name(v->value.kind()));
    }
    const std::int64_t n = v->value.as_integer();
    if (auto why = check(n); !why.empty()) return fail(*v, std::move(why));
    target = static_cast<std::uint32_t>(n);
    return {};
  }

  // A list (or tuple) of strings; absent is empty.
  [[nodiscard]] Result<std::vector<std::string>> string_list(std::string_view key) const {
    const Variable* v = find(key);
    if (v == nullptr) return std::vector<std::string>{};
    if (v->from_command_line && !v->value.is_sequence()) {
      return std::vector<std::string>{v->as_typed};  // `xm create cfg disk=phy:hda1,sda1,w`
    }
    bool ok = v->value.is_sequence();
    if (ok) {
      for (const Value& item : v->value.items())
        ok = ok && item.is_string();
    }
    if (!ok) {
      return fail(*v, std::string(key) + " must be a list of strings, such as " + std::string(key) +
                          " = ['...']");
    }
    std::vector<std::string> out;
    for (const Value& item : v->value.items())
      out.push_back(item.as_string());
    return out;
  }

  [[nodiscard]] Status action_into(std::string_view key, ShutdownAction& target) const {
    auto s = string(key);
    if (!s) return tl::unexpected(s.error());
    if (!*s) return {};
    const auto action = shutdown_action_from_string(**s);
    if (!action) {
      return fail(*find(key), std::string(key) +
                                  " must be destroy, restart, preserve or rename-restart, not " +
                                  detail::quoted(**s));
    }
    target = *action;
    return {};
  }

 private:
  const ConfigFile& file_;
};

Status read_devices(const Reader& r, DomainConfig& c) {
  auto disks = r.string_list("disk");
  if (!disks) return tl::unexpected(disks.error());
  for (const std::string& spec : *disks) {
    auto disk = parse_disk_spec(spec);
    if (!disk) return r.fail(*r.find("disk"), disk.error().message);
    c.disks.push_back(std::move(*disk));
  }
  if (auto why = detail::check_unique_devices(c.disks); !why.empty()) {
    return r.fail(*r.find("disk"), std::move(why));
  }

  auto vifs = r.string_list("vif");
  if (!vifs) return tl::unexpected(vifs.error());
  for (const std::string& spec : *vifs) {
    auto vif = parse_vif_spec(spec);
    if (!vif) return r.fail(*r.find("vif"), vif.error().message);
    c.vifs.push_back(std::move(*vif));
  }

  auto vtpms = r.string_list("vtpm");
  if (!vtpms) return tl::unexpected(vtpms.error());
  if (auto why = detail::check_vtpm_count(vtpms->size()); !why.empty()) {
    return r.fail(*r.find("vtpm"), std::move(why));
  }
  for (const std::string& spec : *vtpms) {
    auto vtpm = parse_vtpm_spec(spec);
    if (!vtpm) return r.fail(*r.find("vtpm"), vtpm.error().message);
    c.vtpms.push_back(std::move(*vtpm));
  }
  return {};
}

// access_control = ['policy=P,label=L'] (reference 2.1).
Status read_access_control(const Reader& r, DomainConfig& c) {
  const Variable* v = r.find("access_control");
  if (v == nullptr) return {};
  auto entries = r.string_list("access_control");
  if (!entries) return tl::unexpected(entries.error());
  if (entries->empty()) return {};  // xm ignored an empty list
  if (entries->size() > 1) return r.fail(*v, "Multiple access_control definitions.");
  auto parsed = parse_access_control(entries->front());
  if (!parsed) return r.fail(*v, parsed.error().message);
  c.access_control = std::move(*parsed);
  return {};
}

Status read_kernel_arguments(const Reader& r, DomainConfig& c) {
  for (auto [key, target] : {std::pair<std::string_view, std::string*>{"root", &c.root},
                             {"extra", &c.extra},
                             {"ip", &c.ip},
                             {"netmask", &c.netmask},
                             {"gateway", &c.gateway},
                             {"hostname", &c.hostname},
                             {"interface", &c.interface},
                             {"nfs_server", &c.nfs_server},
                             {"nfs_root", &c.nfs_root}}) {
    if (auto ok = r.string_into(key, *target); !ok) return ok;
  }
  auto dhcp = r.string("dhcp");
  if (!dhcp) return tl::unexpected(dhcp.error());
  if (*dhcp) {
    if (**dhcp != "dhcp" && **dhcp != "off") {
      return r.fail(*r.find("dhcp"), "dhcp must be 'dhcp' or 'off', not " + detail::quoted(**dhcp));
    }
    c.dhcp = **dhcp == "dhcp";
  }
  if (auto why = detail::check_nfs(c.nfs_server, c.nfs_root); !why.empty()) {
    return r.fail(*r.find("nfs_root"), std::move(why));
  }
  c.cmdline = build_cmdline(c);
  return {};
}

}  // namespace

Result<DomainConfig> domain_config(const ConfigFile& file) {
  const Reader r(file);
  DomainConfig c;

  auto name = r.string("name");
  if (!name) return tl::unexpected(name.error());
  if (!*name) return r.fail_file("name is not set (every domain needs name = \"...\")");
  if (auto why = detail::check_domain_name("name", **name); !why.empty()) {
    return r.fail(*r.find("name"), std::move(why));
  }
  c.name = std::move(**name);

  auto kernel = r.string("kernel");
  if (!kernel) return tl::unexpected(kernel.error());
  if (!*kernel) {
    return r.fail_file(
        r.find("bootloader") != nullptr
            ? "kernel is not set (bootloader is not supported; name the kernel image with kernel = \"...\")"
            : "kernel is not set (every domain needs kernel = \"...\")");
  }
  if (auto why = detail::check_image_path("kernel", **kernel); !why.empty()) {
    return r.fail(*r.find("kernel"), std::move(why));
  }
  c.kernel = std::move(**kernel);

  auto ramdisk = r.optional_string("ramdisk");
  if (!ramdisk) return tl::unexpected(ramdisk.error());
  c.ramdisk = std::move(*ramdisk);

  if (auto ok = r.integer_into("memory", c.memory, detail::check_memory); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = r.integer_into("vcpus", c.vcpus, detail::check_vcpus); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = read_devices(r, c); !ok) return tl::unexpected(ok.error());
  if (auto ok = read_kernel_arguments(r, c); !ok) return tl::unexpected(ok.error());

  for (auto [key, target] :
       {std::pair<std::string_view, ShutdownAction*>{"on_poweroff", &c.on_poweroff},
        {"on_reboot", &c.on_reboot},
        {"on_crash", &c.on_crash}}) {
    if (auto ok = r.action_into(key, *target); !ok) return tl::unexpected(ok.error());
  }

  auto cpus = r.optional_string("cpus");
  if (!cpus) return tl::unexpected(cpus.error());
  if (*cpus) {
    if (auto why = detail::check_cpus(**cpus); !why.empty()) {
      return r.fail(*r.find("cpus"), std::move(why));
    }
  }
  c.cpus = std::move(*cpus);
  if (auto ok = r.integer_into("cpu_weight", c.cpu_weight, detail::check_cpu_weight); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = r.integer_into("cpu_cap", c.cpu_cap, detail::check_cpu_cap); !ok) {
    return tl::unexpected(ok.error());
  }

  auto uuid = r.optional_string("uuid");
  if (!uuid) return tl::unexpected(uuid.error());
  if (*uuid) {
    auto canonical = detail::canonical_uuid(**uuid);
    if (!canonical) return r.fail(*r.find("uuid"), detail::uuid_error(**uuid));
    c.uuid = std::move(*canonical);
  }

  if (auto ok = read_access_control(r, c); !ok) return tl::unexpected(ok.error());
  return c;
}

Result<DomainConfig> parse_domain_config(std::string_view text, std::string file_name,
                                         std::span<const Override> overrides) {
  auto file = parse_config(text, std::move(file_name), overrides);
  if (!file) return tl::unexpected(file.error());
  return domain_config(*file);
}

std::string build_cmdline(const DomainConfig& c) {
  std::vector<std::string> parts;
  if (!c.ip.empty() || c.dhcp) {
    // Xen's preprocess_ip: ip:server:gateway:netmask:hostname:interface:autoconf,
    // with a dummy NFS server address when none is set.
    parts.push_back("ip=" + c.ip + ":" + (c.nfs_server.empty() ? "127.0.255.255" : c.nfs_server) +
                    ":" + c.gateway + ":" + c.netmask + ":" + c.hostname + ":" + c.interface + ":" +
                    (c.dhcp ? "dhcp" : "off"));
  }
  if (!c.root.empty()) {
    constexpr std::string_view kRootKey = "root=";
    std::string_view root = c.root;
    if (root.substr(0, kRootKey.size()) == kRootKey) root.remove_prefix(kRootKey.size());
    parts.push_back("root=" + std::string(root));
  }
  if (!c.nfs_root.empty()) parts.push_back("nfs=" + c.nfs_server + ":" + c.nfs_root);
  if (!c.extra.empty()) parts.push_back(c.extra);
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

}  // namespace shype::xmconfig
