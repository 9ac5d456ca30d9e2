#include "acm/binary_policy.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>

#include "acm/compact_format.hpp"
#include "acm/xen_format.hpp"

namespace shype::acm {
namespace {

tl::unexpected<Error> invalid(const std::string& what) {
  return make_error(Errc::malformed_binary, what);
}

tl::unexpected<Error> over_limit(const std::string& what) {
  return make_error(Errc::limit_exceeded, what);
}

Status check_limit(std::uint64_t value, std::uint64_t limit, const char* what) {
  if (value > limit) {
    return over_limit(std::string(what) + " is " + std::to_string(value) + ", above the limit of " +
                      std::to_string(limit));
  }
  return {};
}

Status check_rows(const TypeSets& sets, std::uint32_t type_count, const char* what) {
  for (std::uint32_t r = 0; r < sets.rows(); ++r) {
    auto row = sets.row(r);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (row[i] >= type_count) {
        return invalid(std::string(what) + " " + std::to_string(r) + " has type " +
                       std::to_string(row[i]) + ", not below the type count " +
                       std::to_string(type_count));
      }
      if (i > 0 && row[i] <= row[i - 1]) {
        return invalid(std::string(what) + " " + std::to_string(r) +
                       " is not strictly ascending (type " + std::to_string(row[i]) + " after " +
                       std::to_string(row[i - 1]) + ")");
      }
    }
  }
  return {};
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF) without ASCII controls (< 0x20, 0x7f) or space.
bool valid_name_bytes(std::string_view name) {
  std::size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {  // the common case: printable ASCII
      if (c < 0x21 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t min = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2, min = 0x80, cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, min = 0x800, cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, min = 0x10000, cp = c & 0x07u;
    } else {
      return false;
    }
    if (name.size() - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(name[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// A name that occurs twice, if any. Compiled lists are sorted apart from
// their first entries (VM label 0 and the bootstrap label 1), so the common
// case is a linear scan plus two binary searches; anything else is sorted.
std::optional<std::string> find_duplicate(const std::vector<std::string>& names) {
  std::size_t sorted_from = names.size();
  while (sorted_from > 1 && names[sorted_from - 2] < names[sorted_from - 1])
    --sorted_from;
  if (sorted_from > 0) --sorted_from;  // names[sorted_from..] is strictly ascending
  if (sorted_from <= 2) {
    const auto tail_begin = names.begin() + static_cast<std::ptrdiff_t>(sorted_from);
    for (std::size_t i = 0; i < sorted_from; ++i) {
      if (std::binary_search(tail_begin, names.end(), names[i])) return names[i];
      for (std::size_t j = i + 1; j < sorted_from; ++j) {
        if (names[i] == names[j]) return names[i];
      }
    }
    return std::nullopt;
  }
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) return std::string(*dup);
  return std::nullopt;
}

Status check_name_list(const std::vector<std::string>& names, std::size_t expected,
                       const char* what, const char* count_what, bool unique) {
  if (names.size() != expected) {
    return invalid(std::string("names: ") + std::to_string(names.size()) + " " + what +
                   " names for " + std::to_string(expected) + " " + count_what);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto s = check_binary_name(names[i]); !s) {
      return invalid(std::string("names: ") + what + " name " + std::to_string(i) + " " +
                     s.error().message);
    }
  }
  if (unique) {
    if (auto dup = find_duplicate(names)) {
      return invalid(std::string("names: ") + what + " name '" + *dup + "' appears twice");
    }
  }
  return {};
}

}  // namespace

const char* binary_format_name(BinaryFormat format) noexcept {
  switch (format) {
    case BinaryFormat::xen:
      return "xen";
    case BinaryFormat::compact:
      return "compact";
  }
  return "unknown";
}

bool supported_combination(PolicyCode primary, PolicyCode secondary) noexcept {
  using enum PolicyCode;
  return (primary == chinese_wall && (secondary == simple_type_enforcement || secondary == null)) ||
         (primary == simple_type_enforcement && (secondary == chinese_wall || secondary == null));
}

Status check_binary_policy_name(std::string_view name) {
  if (name.empty()) return invalid("is empty");
  if (name.size() > kMaxPolicyNameLength) {
    return over_limit("is " + std::to_string(name.size()) + " bytes, above the limit of " +
                      std::to_string(kMaxPolicyNameLength));
  }
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e) {
      return invalid("has byte " + std::to_string(c) +
                     "; only printable ASCII without spaces is allowed");
    }
  }
  return {};
}

Status check_binary_name(std::string_view name) {
  if (name.empty()) return invalid("is empty");
  if (name.size() > kMaxNameLength) {
    return over_limit("is " + std::to_string(name.size()) + " bytes, above the limit of " +
                      std::to_string(kMaxNameLength));
  }
  if (!valid_name_bytes(name)) {
    return invalid("is not UTF-8 without control characters and whitespace");
  }
  return {};
}

std::optional<BinaryFormat> detect_binary_format(std::span<const std::uint8_t> bytes) noexcept {
  static constexpr std::uint8_t kXen[] = {0x00, 0x01, 0xde, 0xbc};
  if (bytes.size() >= sizeof kXen && std::equal(kXen, kXen + sizeof kXen, bytes.begin())) {
    return BinaryFormat::xen;
  }
  const auto& magic = compact::kMagic;
  if (bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin())) {
    return BinaryFormat::compact;
  }
  return std::nullopt;
}

Result<PolicyImage> read_binary_policy(std::span<const std::uint8_t> bytes,
                                       BinaryFormat* detected) {
  auto format = detect_binary_format(bytes);
  if (!format) {
    return make_error(Errc::malformed_binary,
                      "malformed binary policy: neither Xen's magic 00 01 de bc nor \"SHYPEPOL\" "
                      "at offset 0x0");
  }
  auto image = *format == BinaryFormat::xen ? read_xen_policy(bytes) : read_compact_policy(bytes);
  if (image && detected) *detected = *format;
  return image;
}

std::vector<std::uint8_t> write_binary_policy(const PolicyImage& image, BinaryFormat format) {
  switch (format) {
    case BinaryFormat::xen:
      return write_xen_policy(image);
    case BinaryFormat::compact:
      return write_compact_policy(image);
  }
  throw std::invalid_argument("write_binary_policy: unknown format");
}

Status validate_image(const PolicyImage& image) {
  if (auto s = check_binary_policy_name(image.name); !s) {
    return make_error(s.error().code, "policy name " + s.error().message);
  }
  if (!supported_combination(image.primary, image.secondary)) {
    return invalid(std::string("policy combination ") + policy_code_name(image.primary) + " + " +
                   policy_code_name(image.secondary) +
                   " is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  }
  if (auto s = check_limit(image.ste_type_count, kMaxTypes, "STE type count"); !s) return s;
  if (auto s = check_limit(image.chwall_type_count, kMaxTypes, "CHWALL type count"); !s) return s;
  if (auto s = check_limit(image.ste_labels.rows(), kMaxRows, "STE label count"); !s) return s;
  if (auto s = check_limit(image.chwall_labels.rows(), kMaxRows, "CHWALL label count"); !s)
    return s;
  if (auto s = check_limit(image.conflict_sets.rows(), kMaxConflictSets, "conflict set count");
      !s) {
    return s;
  }
  if (auto s = check_limit(image.vm_label_count, kMaxRows, "VM label count"); !s) return s;

  if (!image.has_chwall() && (image.chwall_type_count != 0 || image.chwall_labels.rows() != 0 ||
                              image.conflict_sets.rows() != 0)) {
    return invalid("the policy has no CHWALL component but CHWALL types, rows or conflict sets");
  }
  if (!image.has_ste() && (image.ste_type_count != 0 || image.ste_labels.rows() != 0)) {
    return invalid("the policy has no STE component but STE types or rows");
  }
  if (image.vm_label_count < 2) {
    return invalid("VM label count is " + std::to_string(image.vm_label_count) +
                   "; row 0 (unlabeled) and row 1 (bootstrap) must exist");
  }
  if (image.has_chwall() && image.chwall_labels.rows() != image.vm_label_count) {
    return invalid("CHWALL has " + std::to_string(image.chwall_labels.rows()) +
                   " label rows but the policy has " + std::to_string(image.vm_label_count) +
                   " VM labels");
  }
  if (image.has_ste() && image.ste_labels.rows() < image.vm_label_count) {
    return invalid("STE has " + std::to_string(image.ste_labels.rows()) +
                   " label rows, fewer than the " + std::to_string(image.vm_label_count) +
                   " VM labels");
  }
  if (auto s = check_rows(image.chwall_labels, image.chwall_type_count, "CHWALL label row"); !s) {
    return s;
  }
  if (auto s = check_rows(image.conflict_sets, image.chwall_type_count, "conflict set"); !s) {
    return s;
  }
  if (auto s = check_rows(image.ste_labels, image.ste_type_count, "STE label row"); !s) return s;
  for (std::uint32_t c = 0; c < image.conflict_sets.rows(); ++c) {
    if (image.conflict_sets.row(c).empty()) {
      return invalid("conflict set " + std::to_string(c) + " is empty");
    }
  }

  if (!image.names) return {};
  const PolicyNames& n = *image.names;
  const std::size_t resources =
      image.has_ste() ? image.ste_labels.rows() - image.vm_label_count : 0;
  if (auto s = check_name_list(n.ste_types, image.ste_type_count, "STE type", "STE types", true);
      !s) {
    return s;
  }
  if (auto s = check_name_list(n.chwall_types, image.chwall_type_count, "CHWALL type",
                               "CHWALL types", true);
      !s) {
    return s;
  }
  if (auto s = check_name_list(n.vm_labels, image.vm_label_count, "VM label", "VM labels", true);
      !s) {
    return s;
  }
  if (auto s = check_name_list(n.resource_labels, resources, "resource label",
                               "resource label rows", true);
      !s) {
    return s;
  }
  return check_name_list(n.conflict_sets, image.conflict_sets.rows(), "conflict set",
                         "conflict sets", false);
}

}  // namespace shype::acm
