#include "hv/boot_config.hpp"

#include <cerrno>
#include <charconv>
#include <set>
#include <system_error>

#include "acm/file_io.hpp"
#include "hv/cpu_placement.hpp"
#include "xenctrl/connection.hpp"

namespace shype::hv {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<acm::Ssidref> parse_ssidref(std::string_view text) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  text.remove_prefix(2);
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

acm::Result<BootConfig> parse_boot_config(std::string_view text, const std::string& file_name) {
  BootConfig config;
  std::set<std::string, std::less<>> seen;
  std::uint32_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    const acm::SourceLocation where{file_name, line_number, 0};
    const auto fail = [&](std::string reason) {
      return acm::make_error(acm::Errc::invalid_argument, std::move(reason), where);
    };

    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) return fail("expected 'key = value'");
    const std::string_view key = trim(line.substr(0, equals));
    const std::string_view value = trim(line.substr(equals + 1));
    if (key.empty()) return fail("missing key before '='");
    if (value.empty()) return fail("missing value for '" + std::string(key) + "'");
    if (!seen.insert(std::string(key)).second) {
      return fail("'" + std::string(key) + "' given twice");
    }

    if (key == "xsm") {
      if (value != "acm" && value != "dummy") {
        return fail("xsm must be 'acm' or 'dummy', not '" + std::string(value) + "'");
      }
      config.xsm_module = std::string(value);
    } else if (key == "policy") {
      config.policy = std::filesystem::path(std::string(value));
    } else if (key == "dom0_label") {
      if (config.dom0_ssidref) return fail("dom0_label and dom0_ssidref are exclusive");
      if (value.find_first_of(" \t") != std::string_view::npos) {
        return fail("dom0_label '" + std::string(value) + "' contains whitespace");
      }
      config.dom0_label = std::string(value);
    } else if (key == "dom0_ssidref") {
      if (config.dom0_label) return fail("dom0_label and dom0_ssidref are exclusive");
      const auto ssidref = parse_ssidref(value);
      if (!ssidref) {
        return fail("dom0_ssidref must be a 32-bit hexadecimal number like 0x00010001, not '" +
                    std::string(value) + "'");
      }
      config.dom0_ssidref = *ssidref;
    } else if (key == "cgroup") {
      if (value.find('/') == 0 || value.find("..") != std::string_view::npos) {
        return fail("cgroup must be a relative cgroup name without '..'");
      }
      config.cgroup_parent = std::string(value);
    } else if (key == "dom0_cpus") {
      auto cpus = xc::parse_cpu_list(value, host_cpu_count());
      if (!cpus) return fail("dom0_cpus: " + cpus.error().message);
      if (cpus->empty()) return fail("dom0_cpus '" + std::string(value) + "' names no CPU");
      config.dom0_cpus = std::move(*cpus);
    } else {
      return fail("unknown key '" + std::string(key) +
                  "' (known: xsm, policy, dom0_label, dom0_ssidref, cgroup, dom0_cpus)");
    }
  }
  return config;
}

acm::Result<BootConfig> read_boot_config(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) && !ec) return BootConfig{};
  auto text = acm::read_text_file(file);
  if (!text) return tl::unexpected(text.error());
  return parse_boot_config(*text, file.string());
}

std::filesystem::path resolve_under_root(const std::filesystem::path& root,
                                         const std::filesystem::path& path) {
  if (path.is_absolute()) return path;
  return root / path;
}

}  // namespace shype::hv
