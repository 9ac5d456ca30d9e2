// vdev_to_devid (devices/device_host.hpp): Xen's virtual block device
// numbers, as its toolstack computed them (blkdev_name_to_number):
//   xvd[a-p]<p>   202 << 8 | disk << 4 | p       (p 1..15)
//   xvd<disk><p>  1 << 28 | disk << 8 | p        (disks from xvdq, two
//                 letters "xvdaa" = disk 26, or p 16..255: the extended form)
//   hd[a-t]<p>    IDE majors 3, 22, 33, 34, 56, 57, 88, 89, 90, 91 (two
//                 disks each), minor (disk % 2) << 6 | p   (p 1..63)
//   sd[a-p]<p>    8 << 8 | disk << 4 | p         (p 1..15)
// A partition number is decimal without leading zeros; no number is the
// whole disk. "/dev/" in front is accepted.
#include <array>
#include <optional>
#include <string_view>

#include "devices/device_host.hpp"

namespace shype::devices {
namespace {

struct Parsed {
  std::uint32_t disk = 0;
  std::uint32_t letters = 0;
  std::uint32_t partition = 0;
};

// "<letters><digits>" after the prefix.
std::optional<Parsed> parse_disk(std::string_view rest) {
  Parsed out;
  std::size_t i = 0;
  while (i < rest.size() && rest[i] >= 'a' && rest[i] <= 'z') {
    if (out.letters == 2) return std::nullopt;
    // "a".."z" = 0..25, "aa".."zz" = 26..701 (bijective base 26).
    const auto letter = static_cast<std::uint32_t>(rest[i] - 'a');
    out.disk = out.letters == 0 ? letter : (out.disk + 1) * 26 + letter;
    ++out.letters;
    ++i;
  }
  if (out.letters == 0) return std::nullopt;
  if (i < rest.size()) {
    if (rest[i] == '0') return std::nullopt;  // no "xvda0", no leading zeros
    std::uint32_t p = 0;
    for (; i < rest.size(); ++i) {
      if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
      p = p * 10 + static_cast<std::uint32_t>(rest[i] - '0');
      if (p > 255) return std::nullopt;
    }
    out.partition = p;
  }
  return out;
}

}  // namespace

std::optional<std::uint32_t> vdev_to_devid(std::string_view vdev) {
  if (vdev.starts_with("/dev/")) vdev.remove_prefix(5);
  if (vdev.starts_with("xvd")) {
    const auto p = parse_disk(vdev.substr(3));
    if (!p) return std::nullopt;
    if (p->letters == 1 && p->disk < 16 && p->partition < 16) {
      return (202u << 8) | (p->disk << 4) | p->partition;
    }
    return (1u << 28) | (p->disk << 8) | p->partition;
  }
  if (vdev.starts_with("hd")) {
    const auto p = parse_disk(vdev.substr(2));
    if (!p || p->letters != 1 || p->disk >= 20 || p->partition >= 64) return std::nullopt;
    static constexpr std::array<std::uint32_t, 10> kIdeMajors = {3, 22, 33, 34, 56,
                                                                 57, 88, 89, 90, 91};
    return (kIdeMajors[p->disk / 2] << 8) | ((p->disk % 2) << 6) | p->partition;
  }
  if (vdev.starts_with("sd")) {
    const auto p = parse_disk(vdev.substr(2));
    if (!p || p->letters != 1 || p->disk >= 16 || p->partition >= 16) return std::nullopt;
    return (8u << 8) | (p->disk << 4) | p->partition;
  }
  return std::nullopt;
}

}  // namespace shype::devices
