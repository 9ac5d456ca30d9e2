#include "field_checks.hpp"

#include "text.hpp"

namespace shype::xmconfig::detail {
namespace {

std::string range_error(std::string_view field, std::int64_t v, std::int64_t lo, std::int64_t hi,
                        std::string_view note) {
  if (v >= lo && v <= hi) return {};
  return std::string(field) + " must be between " + std::to_string(lo) + " and " +
         std::to_string(hi) + std::string(note) + ", not " + std::to_string(v);
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string check_memory(std::int64_t mib) {
  return range_error("memory", mib, kMemoryMin, kMemoryMax, " (MiB)");
}
std::string check_vcpus(std::int64_t count) {
  return range_error("vcpus", count, kVcpusMin, kVcpusMax, "");
}
std::string check_cpu_weight(std::int64_t weight) {
  return range_error("cpu_weight", weight, kWeightMin, kWeightMax, "");
}
std::string check_cpu_cap(std::int64_t cap) {
  return range_error("cpu_cap", cap, kCapMin, kCapMax, " (percent of one CPU; 0 means no cap)");
}

std::string check_domain_name(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxDomainNameLength;
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == ':' ||
                         c == '+';
    ok = ok && allowed;
  }
  if (ok) return {};
  return std::string(what) + " " + quoted(name) +
         " is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)";
}

std::string check_image_path(std::string_view what, std::string_view path) {
  if (path.empty()) return std::string(what) + " must not be empty";
  return {};
}

std::string check_cpus(std::string_view cpus) {
  std::string bad = "cpus " + quoted(cpus) +
                    " is not a CPU list such as '0-3,^1' (CPU numbers 0 to " +
                    std::to_string(kMaxCpuNumber) + ")";
  for (std::string_view item : split(cpus, ',')) {
    item = trim(item);
    bool exclude = false;
    if (!item.empty() && item.front() == '^') {
      exclude = true;
      item.remove_prefix(1);
    }
    const std::size_t dash = item.find('-');
    if (exclude && dash != std::string_view::npos) return bad;
    const std::string_view first = dash == std::string_view::npos ? item : item.substr(0, dash);
    const auto lo = parse_decimal(first);
    if (!lo || first.front() == '+' || first.front() == '-' || *lo > kMaxCpuNumber) return bad;
    if (dash != std::string_view::npos) {
      const std::string_view second = item.substr(dash + 1);
      const auto hi = parse_decimal(second);
      if (!hi || second.front() == '+' || second.front() == '-' || *hi > kMaxCpuNumber ||
          *hi < *lo) {
        return bad;
      }
    }
  }
  return {};
}

std::optional<std::string> canonical_uuid(std::string_view uuid) {
  static constexpr std::size_t kGroups[] = {8, 4, 4, 4, 12};
  if (uuid.size() != 36) return std::nullopt;
  std::string out;
  std::size_t i = 0;
  for (std::size_t g = 0; g < 5; ++g) {
    if (g > 0) {
      if (uuid[i] != '-') return std::nullopt;
      out += '-';
      ++i;
    }
    for (std::size_t k = 0; k < kGroups[g]; ++k, ++i) {
      const char c = uuid[i];
      if (!is_hex(c)) return std::nullopt;
      out += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  return out;
}

std::string uuid_error(std::string_view uuid) {
  return "uuid " + quoted(uuid) +
         " is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)";
}

std::string check_nfs(std::string_view nfs_server, std::string_view nfs_root) {
  if (!nfs_root.empty() && nfs_server.empty()) {
    return "nfs_root needs nfs_server (the address of the NFS server)";
  }
  return {};
}

std::string check_vtpm_count(std::size_t count) {
  if (count <= 1) return {};
  return "vtpm: a domain has at most one virtual TPM (found " + std::to_string(count) + " entries)";
}

std::string check_unique_devices(const std::vector<DiskSpec>& disks) {
  for (std::size_t i = 0; i < disks.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (disks[i].dev == disks[j].dev) {
        return "disk " + quoted(format_disk_spec(disks[i])) + ": device " + disks[i].dev +
               " is already used by " + quoted(format_disk_spec(disks[j]));
      }
    }
  }
  return {};
}

}  // namespace shype::xmconfig::detail
