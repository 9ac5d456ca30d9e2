// Checks shared by the typed view of a configuration file and the JSON
// reader, so that a stored record is accepted exactly when a configuration
// file could have produced it. Each returns the reason a value is
// unacceptable, or an empty string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xmconfig/domain_config.hpp"

namespace shype::xmconfig::detail {

inline constexpr std::int64_t kMemoryMin = 1;
inline constexpr std::int64_t kMemoryMax = 65536;  // MiB
inline constexpr std::int64_t kVcpusMin = 1;
inline constexpr std::int64_t kVcpusMax = 32;
inline constexpr std::int64_t kWeightMin = 1;  // manual 4.2.2
inline constexpr std::int64_t kWeightMax = 65535;
inline constexpr std::int64_t kCapMin = 0;
inline constexpr std::int64_t kCapMax = 65535;  // the credit scheduler's cap is 16 bits
inline constexpr std::size_t kMaxDomainNameLength = 64;
inline constexpr std::int64_t kMaxCpuNumber = 4095;

[[nodiscard]] std::string check_memory(std::int64_t mib);
[[nodiscard]] std::string check_vcpus(std::int64_t count);
[[nodiscard]] std::string check_cpu_weight(std::int64_t weight);
[[nodiscard]] std::string check_cpu_cap(std::int64_t cap);

// A domain name, also used for backend domains: 1..64 characters from
// A-Z a-z 0-9 _ - . : + (Xen's set without '/', since names become path
// components in xend's store).
[[nodiscard]] std::string check_domain_name(std::string_view what, std::string_view name);
// kernel, ramdisk: a non-empty path.
[[nodiscard]] std::string check_image_path(std::string_view what, std::string_view path);
// "0-3,^1": comma-separated CPU numbers, ranges a-b (a <= b) and exclusions ^n.
[[nodiscard]] std::string check_cpus(std::string_view cpus);
// The canonical lower-case form of a UUID written as 8-4-4-4-12 hex digits.
[[nodiscard]] std::optional<std::string> canonical_uuid(std::string_view uuid);
[[nodiscard]] std::string uuid_error(std::string_view uuid);
// nfs_root needs nfs_server.
[[nodiscard]] std::string check_nfs(std::string_view nfs_server, std::string_view nfs_root);
// The error for a vtpm list with more than one entry.
[[nodiscard]] std::string check_vtpm_count(std::size_t count);
// Two disks exporting the same guest device.
[[nodiscard]] std::string check_unique_devices(const std::vector<DiskSpec>& disks);

}  // namespace shype::xmconfig::detail
