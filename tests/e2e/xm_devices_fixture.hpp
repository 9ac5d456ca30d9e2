// What the split-device e2e tests (block, network, driver domains, the core
// devices) share on top of XmTest: guest kernels installed under the root,
// a policy set at start, configuration files for guests with devices,
// console logs and `xm --json <class>-list` rows.
#pragma once

#include <nlohmann/json.hpp>

#include "xm_fixture.hpp"

namespace shype::testing {

// How many times `needle` occurs in `text` (lines of a console log).
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The guest_disk pattern (hypervisor/guest/kernels/disk.cpp): FNV-1a 32 of
// the domain name, mixed with the byte's offset on the disk.
inline std::uint32_t fnv1a32(const std::string& text) {
  std::uint32_t h = 2166136261u;
  for (const char c : text) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

inline std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t offset) {
  const std::uint32_t word = seed ^ static_cast<std::uint32_t>((offset / 4) * 2654435761u);
  return static_cast<std::uint8_t>(word >> ((offset % 4) * 8));
}

class XmDevicesTest : public XmTest {
 protected:
  // Copies the kernel built at `built` to `kernel` (a path inside the root).
  void install_kernel(const fs::path& built, const char* kernel) {
    fs::copy_file(built, root_ / fs::path(kernel).relative_path(),
                  fs::copy_options::overwrite_existing);
  }

  // xm setpolicy ACM <policy>; a fatal failure if it does not work.
  void set_policy(const std::string& policy) {
    const XmResult r = xm({"setpolicy", "ACM", policy});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // <name>.xm in the working directory: `kernel` with 16 MiB, `extra` as
  // its command line and `devices` (whole lines such as disk_line's) after;
  // labeled `label_name` when that is not empty.
  void write_config(const std::string& name, const std::string& label_name,
                    const std::string& kernel, const std::string& extra,
                    const std::string& devices = {}) {
    write_file(work_ / (name + ".xm"), "kernel = \"" + kernel + "\"\nmemory = 16\nname = \"" +
                                           name + "\"\nextra = \"" + extra + "\"\n" + devices);
    if (!label_name.empty()) quietly({"addlabel", label_name, "dom", name + ".xm"});
  }

  // "disk = ['a', 'b']\n".
  static std::string disk_line(const std::vector<std::string>& disks) {
    std::string text = "disk = [";
    for (std::size_t i = 0; i < disks.size(); ++i)
      text += (i == 0 ? "'" : ", '") + disks[i] + "'";
    return text + "]\n";
  }

  fs::path console_log(const std::string& name) const {
    return root_ / "var/log/xen/console" / ("guest-" + name + ".log");
  }

  // Waits until the guest's console shows `text`.
  bool console_shows(const std::string& name, const std::string& text,
                     std::chrono::milliseconds timeout = 60s) {
    return eventually(
        [&] { return slurp(console_log(name)).find(text) != std::string::npos; }, timeout, 100ms);
  }

  // The rows of `xm --json <command> <domain>` (block-list, network-list).
  nlohmann::json device_list(const std::string& command, const std::string& domain) {
    const XmResult r = xm({"--json", command, domain});
    EXPECT_EQ(r.exit_code, 0) << r;
    auto parsed = nlohmann::json::parse(r.out, nullptr, false);
    if (parsed.is_discarded()) return nlohmann::json::array();
    return parsed.value("devices", nlohmann::json::array());
  }
};

}  // namespace shype::testing
