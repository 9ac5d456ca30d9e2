#include "acm/xen_format.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "acm/binary_policy.hpp"
#include "acm/byte_cursor.hpp"

namespace shype::acm {
namespace {

using namespace xen;

constexpr char kPrefix[] = "malformed binary policy: ";

// Sizes below are products of values bounded by 65536 (2^33 bytes at most);
// they are computed in std::size_t, so it must be 64 bits wide.
static_assert(sizeof(std::size_t) >= 8);

// Header field offsets (reference xen-acm-hypervisor.md 2.2).
constexpr std::size_t kOffMagic = 0;
constexpr std::size_t kOffVersion = 4;
constexpr std::size_t kOffLen = 8;
constexpr std::size_t kOffReference = 12;
constexpr std::size_t kOffPrimaryCode = 16;
constexpr std::size_t kOffPrimaryOffset = 20;
constexpr std::size_t kOffSecondaryCode = 24;
constexpr std::size_t kOffSecondaryOffset = 28;
constexpr std::size_t kOffXmlMajor = 32;
constexpr std::size_t kOffXmlMinor = 36;
constexpr std::size_t kOffSha1 = 40;
static_assert(kOffSha1 + kSha1Size == kHeaderSize);
static_assert(kOffXmlMinor + 4 == kHeaderSizeV3);
static_assert(kOffXmlMajor + 4 == kOffXmlMinor && kOffSecondaryOffset + 4 == kOffXmlMajor);

tl::unexpected<Error> malformed(const std::string& what) {
  return make_error(Errc::malformed_binary, kPrefix + what);
}

tl::unexpected<Error> too_large(const std::string& what) {
  return make_error(Errc::limit_exceeded, kPrefix + what);
}

std::string at(std::size_t offset) {
  return "(offset " + format_hex(offset) + ")";
}

// Reads one big-endian u32 field, naming it if the buffer ends first.
Result<std::uint32_t> read_field(ByteReader& r, const std::string& name) {
  const std::size_t offset = r.absolute_position();
  auto v = r.read_u32_be();
  if (!v) return malformed(name + " " + at(offset) + " is truncated");
  return *v;
}

std::string code_text(std::uint32_t code) {
  return std::to_string(code) + " (" + policy_code_name(static_cast<PolicyCode>(code)) + ")";
}

// Dense matrix sizes. S, T, C are bounded by 65536 before these are used, so
// the products fit in 64 bits; the checked forms keep that true on any host.
std::optional<std::size_t> matrix_bytes(std::size_t rows, std::size_t cols) {
  auto cells = checked_mul(rows, cols);
  if (!cells) return std::nullopt;
  return checked_mul(*cells, kCellSize);
}

std::size_t reference_section_size(const std::string& name) {
  return *round_up(4 + name.size() + 1, kSectionAlignment);
}

std::uint64_t chwall_block_size(const PolicyImage& image) {
  const std::uint64_t t = image.chwall_type_count;
  const std::uint64_t cells =
      (std::uint64_t{image.chwall_labels.rows()} + image.conflict_sets.rows()) * t;
  return (kChwallHeaderSize + kCellSize * cells + 7) & ~std::uint64_t{7};
}

std::uint64_t ste_block_size(const PolicyImage& image) {
  const std::uint64_t cells = std::uint64_t{image.ste_labels.rows()} * image.ste_type_count;
  return (kSteHeaderSize + kCellSize * cells + 7) & ~std::uint64_t{7};
}

std::uint64_t component_size(const PolicyImage& image, PolicyCode code) {
  switch (code) {
    case PolicyCode::chinese_wall:
      return chwall_block_size(image);
    case PolicyCode::simple_type_enforcement:
      return ste_block_size(image);
    case PolicyCode::null:
    case PolicyCode::undefined:
      return 0;
  }
  return 0;
}

// Writes the rows of `sets` as a dense rows x types matrix of u16 BE 0/1 at
// the writer's end.
void put_matrix(ByteWriter& w, const TypeSets& sets, std::uint32_t types) {
  const std::size_t start = w.size();
  w.put_zeros(std::size_t{sets.rows()} * types * kCellSize);
  for (std::uint32_t r = 0; r < sets.rows(); ++r) {
    const std::size_t row_start = start + std::size_t{r} * types * kCellSize;
    for (std::uint32_t t : sets.row(r))
      w.patch_u16_be(row_start + t * kCellSize, 1);
  }
}

void put_chwall(ByteWriter& w, const PolicyImage& image) {
  const std::size_t start = w.size();
  const std::uint32_t t = image.chwall_type_count;
  const std::uint32_t s = image.chwall_labels.rows();
  w.put_u32_be(kChwallVersion);
  w.put_u32_be(static_cast<std::uint32_t>(PolicyCode::chinese_wall));
  w.put_u32_be(t);
  w.put_u32_be(s);
  w.put_u32_be(image.conflict_sets.rows());
  w.put_u32_be(static_cast<std::uint32_t>(kChwallHeaderSize));
  w.put_u32_be(static_cast<std::uint32_t>(kChwallHeaderSize + kCellSize * std::size_t{s} * t));
  w.put_u32_be(0);  // running types: only meaningful in a hypervisor dump
  w.put_u32_be(0);  // conflict aggregate: likewise
  put_matrix(w, image.chwall_labels, t);
  put_matrix(w, image.conflict_sets, t);
  w.pad_to_multiple(kSectionAlignment, start);
}

void put_ste(ByteWriter& w, const PolicyImage& image) {
  const std::size_t start = w.size();
  w.put_u32_be(kSteVersion);
  w.put_u32_be(static_cast<std::uint32_t>(PolicyCode::simple_type_enforcement));
  w.put_u32_be(image.ste_type_count);
  w.put_u32_be(image.ste_labels.rows());
  w.put_u32_be(static_cast<std::uint32_t>(kSteHeaderSize));
  put_matrix(w, image.ste_labels, image.ste_type_count);
  w.pad_to_multiple(kSectionAlignment, start);
}

void put_component(ByteWriter& w, const PolicyImage& image, PolicyCode code) {
  if (code == PolicyCode::chinese_wall) put_chwall(w, image);
  if (code == PolicyCode::simple_type_enforcement) put_ste(w, image);
}

// ---- reading ---------------------------------------------------------------

// Checks that the component bytes after `data_end` are the zero padding to a
// multiple of 8 and nothing more.
Status check_component_end(const ByteReader& component, std::size_t data_end, const char* what) {
  const std::size_t padded = *round_up(data_end, kSectionAlignment);
  if (component.size() != padded) {
    return malformed(std::string(what) + " component (offset " + format_hex(component.base()) +
                     ", " + std::to_string(component.size()) +
                     " bytes) is not its contents padded to a multiple of 8 bytes (" +
                     std::to_string(padded) + " bytes)");
  }
  ByteReader pad = *component.sub(data_end, padded - data_end);
  if (!pad.rest_is_zero()) {
    return malformed(std::string(what) + " padding " + at(pad.base()) + " is not zero");
  }
  return {};
}

// Checks that a rows x cols matrix at component-relative `offset` lies inside
// the component.
Status check_matrix_extent(const ByteReader& component, std::size_t offset, std::uint32_t rows,
                           std::uint32_t cols, const std::string& what) {
  auto bytes = matrix_bytes(rows, cols);
  if (!bytes || offset > component.size() || *bytes > component.size() - offset) {
    return malformed(what + " (offset " + format_hex(component.base() + offset) + ", " +
                     std::to_string(rows) + " x " + std::to_string(cols) +
                     " cells) extends past the end of the component");
  }
  return {};
}

// Decodes a dense 0/1 matrix (already known to be inside `component`) into
// rows of ascending type indexes.
Status read_matrix(const ByteReader& component, std::size_t offset, std::uint32_t rows,
                   std::uint32_t cols, const std::string& what, TypeSets& out) {
  ByteReader r = *component.sub(offset, *matrix_bytes(rows, cols));
  out = TypeSets{};
  out.reserve(rows, 0);
  std::vector<std::uint32_t> row;
  for (std::uint32_t s = 0; s < rows; ++s) {
    row.clear();
    for (std::uint32_t t = 0; t < cols; ++t) {
      const std::size_t cell_at = r.absolute_position();
      const std::uint16_t v = *r.read_u16_be();  // inside: extent checked by the caller
      if (v > 1) {
        return malformed(what + " cell [" + std::to_string(s) + "][" + std::to_string(t) + "] " +
                         at(cell_at) + " is " + std::to_string(v) + "; only 0 and 1 are allowed");
      }
      if (v == 1) row.push_back(t);
    }
    out.add_row(row);
  }
  return {};
}

Result<std::uint32_t> read_count(ByteReader& r, const std::string& name, std::uint32_t limit) {
  const std::size_t offset = r.absolute_position();
  auto v = read_field(r, name);
  if (!v) return v;
  if (*v > limit) {
    return too_large(name + " " + at(offset) + " is " + std::to_string(*v) +
                     ", above the limit of " + std::to_string(limit));
  }
  return v;
}

Status expect_field(ByteReader& r, const std::string& name, std::uint32_t expected) {
  const std::size_t offset = r.absolute_position();
  auto v = read_field(r, name);
  if (!v) return tl::unexpected(v.error());
  if (*v != expected) {
    return malformed(name + " " + at(offset) + " is " + std::to_string(*v) + ", expected " +
                     std::to_string(expected));
  }
  return {};
}

Status read_chwall(ByteReader component, PolicyImage& image) {
  if (component.size() < kChwallHeaderSize) {
    return malformed("CHWALL header (offset " + format_hex(component.base()) +
                     ", 36 bytes) extends past the end of the component (" +
                     std::to_string(component.size()) + " bytes)");
  }
  ByteReader h = component;
  if (auto s = expect_field(h, "CHWALL policy version", kChwallVersion); !s) return s;
  if (auto s = expect_field(h, "CHWALL policy code", 1); !s) return s;
  auto types = read_count(h, "CHWALL type count", kMaxTypes);
  if (!types) return tl::unexpected(types.error());
  auto labels = read_count(h, "CHWALL label count", kMaxRows);
  if (!labels) return tl::unexpected(labels.error());
  auto sets = read_count(h, "CHWALL conflict set count", kMaxConflictSets);
  if (!sets) return tl::unexpected(sets.error());
  const std::size_t ssid_field_at = h.absolute_position();
  const std::uint32_t ssid_offset = *h.read_u32_be();
  const std::size_t conflict_field_at = h.absolute_position();
  const std::uint32_t conflict_offset = *h.read_u32_be();
  const std::size_t running_field_at = h.absolute_position();
  const std::uint32_t running_offset = *h.read_u32_be();
  const std::size_t aggregate_field_at = h.absolute_position();
  const std::uint32_t aggregate_offset = *h.read_u32_be();

  // The tools' layout: header, label matrix, conflict matrix; a hypervisor
  // dump appends running-type and aggregate counters (values ignored).
  const std::size_t label_bytes = *matrix_bytes(*labels, *types);
  const std::size_t conflict_bytes = *matrix_bytes(*sets, *types);
  const std::size_t expected_conflict = kChwallHeaderSize + label_bytes;
  const std::size_t expected_running = expected_conflict + conflict_bytes;
  const std::size_t counter_bytes = std::size_t{*types} * kCellSize;
  const std::size_t expected_aggregate = expected_running + counter_bytes;

  if (ssid_offset != kChwallHeaderSize) {
    return malformed("CHWALL label matrix offset " + at(ssid_field_at) + " is " +
                     std::to_string(ssid_offset) + ", expected 36 (right after the header)");
  }
  if (auto s = check_matrix_extent(component, ssid_offset, *labels, *types, "CHWALL label matrix");
      !s) {
    return s;
  }
  if (conflict_offset != expected_conflict) {
    return malformed("CHWALL conflict matrix offset " + at(conflict_field_at) + " is " +
                     std::to_string(conflict_offset) + ", expected " +
                     std::to_string(expected_conflict) + " (36 + 2 x labels x types)");
  }
  if (auto s =
          check_matrix_extent(component, conflict_offset, *sets, *types, "CHWALL conflict matrix");
      !s) {
    return s;
  }
  std::size_t data_end = expected_running;
  if (running_offset != 0) {
    if (running_offset != expected_running) {
      return malformed("CHWALL running types offset " + at(running_field_at) + " is " +
                       std::to_string(running_offset) + ", expected 0 or " +
                       std::to_string(expected_running));
    }
    if (auto s =
            check_matrix_extent(component, running_offset, 1, *types, "CHWALL running types array");
        !s) {
      return s;
    }
    data_end = std::max(data_end, expected_running + counter_bytes);
  }
  if (aggregate_offset != 0) {
    if (aggregate_offset != expected_aggregate) {
      return malformed("CHWALL conflict aggregate offset " + at(aggregate_field_at) + " is " +
                       std::to_string(aggregate_offset) + ", expected 0 or " +
                       std::to_string(expected_aggregate));
    }
    if (auto s = check_matrix_extent(component, aggregate_offset, 1, *types,
                                     "CHWALL conflict aggregate array");
        !s) {
      return s;
    }
    data_end = std::max(data_end, expected_aggregate + counter_bytes);
  }
  if (auto s = check_component_end(component, data_end, "CHWALL"); !s) return s;

  image.chwall_type_count = *types;
  if (auto s = read_matrix(component, ssid_offset, *labels, *types, "CHWALL label matrix",
                           image.chwall_labels);
      !s) {
    return s;
  }
  return read_matrix(component, conflict_offset, *sets, *types, "CHWALL conflict matrix",
                     image.conflict_sets);
}

Status read_ste(ByteReader component, PolicyImage& image) {
  if (component.size() < kSteHeaderSize) {
    return malformed("STE header (offset " + format_hex(component.base()) +
                     ", 20 bytes) extends past the end of the component (" +
                     std::to_string(component.size()) + " bytes)");
  }
  ByteReader h = component;
  if (auto s = expect_field(h, "STE policy version", kSteVersion); !s) return s;
  if (auto s = expect_field(h, "STE policy code", 2); !s) return s;
  auto types = read_count(h, "STE type count", kMaxTypes);
  if (!types) return tl::unexpected(types.error());
  auto labels = read_count(h, "STE label count", kMaxRows);
  if (!labels) return tl::unexpected(labels.error());
  const std::size_t ssid_field_at = h.absolute_position();
  const std::uint32_t ssid_offset = *h.read_u32_be();
  if (ssid_offset != kSteHeaderSize) {
    return malformed("STE label matrix offset " + at(ssid_field_at) + " is " +
                     std::to_string(ssid_offset) + ", expected 20 (right after the header)");
  }
  if (auto s = check_matrix_extent(component, ssid_offset, *labels, *types, "STE label matrix");
      !s) {
    return s;
  }
  const std::size_t data_end = kSteHeaderSize + *matrix_bytes(*labels, *types);
  if (auto s = check_component_end(component, data_end, "STE"); !s) return s;
  image.ste_type_count = *types;
  return read_matrix(component, ssid_offset, *labels, *types, "STE label matrix", image.ste_labels);
}

Status read_component(const ByteReader& component, PolicyCode code, PolicyImage& image) {
  if (code == PolicyCode::chinese_wall) return read_chwall(component, image);
  if (code == PolicyCode::simple_type_enforcement) return read_ste(component, image);
  return {};
}

Result<PolicyCode> read_code(ByteReader& r, const char* name) {
  const std::size_t offset = r.absolute_position();
  const std::uint32_t v = *r.read_u32_be();
  if (v > static_cast<std::uint32_t>(PolicyCode::simple_type_enforcement)) {
    return malformed(std::string(name) + " " + at(offset) + " is " + std::to_string(v) +
                     ", not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  }
  return static_cast<PolicyCode>(v);
}

bool printable_name_byte(std::uint8_t c) {
  return c > 0x20 && c < 0x7f;
}

Status read_reference(const ByteReader& section, PolicyImage& image) {
  ByteReader r = section;
  const std::size_t len_at = r.absolute_position();
  auto len = read_field(r, "policy reference length");
  if (!len) return tl::unexpected(len.error());
  if (*len < 2) {
    return malformed("policy reference length " + at(len_at) + " is " + std::to_string(*len) +
                     ": the policy name is empty");
  }
  if (*len - 1 > kMaxPolicyNameLength) {
    return too_large("policy reference length " + at(len_at) + " is " + std::to_string(*len) +
                     ", above the limit of " + std::to_string(kMaxPolicyNameLength) + " + 1");
  }
  const std::size_t name_at = r.absolute_position();
  auto bytes = r.read_bytes(*len);
  if (!bytes) {
    return malformed("policy name (offset " + format_hex(name_at) + ", " + std::to_string(*len) +
                     " bytes) extends past the policy reference section (" +
                     std::to_string(section.size()) + " bytes)");
  }
  for (std::size_t i = 0; i + 1 < bytes->size(); ++i) {
    const std::uint8_t c = (*bytes)[i];
    if (c == 0) {
      return malformed("policy name " + at(name_at) + " has a NUL byte at offset " +
                       format_hex(name_at + i) + " before its terminator");
    }
    if (!printable_name_byte(c)) {
      return malformed("policy name " + at(name_at) + " has byte " + format_hex(c) + " at offset " +
                       format_hex(name_at + i) +
                       "; only printable ASCII without spaces is allowed");
    }
  }
  if (bytes->back() != 0) {
    return malformed("policy name " + at(name_at) + " is not NUL-terminated (byte " +
                     format_hex(bytes->back()) + " at offset " +
                     format_hex(name_at + bytes->size() - 1) + ")");
  }
  const std::size_t padded = *round_up(4 + std::size_t{*len}, kSectionAlignment);
  if (section.size() != padded) {
    return malformed("policy reference section (offset " + format_hex(section.base()) + ", " +
                     std::to_string(section.size()) +
                     " bytes) is not the name padded to a multiple of 8 bytes (" +
                     std::to_string(padded) + " bytes)");
  }
  if (!r.rest_is_zero()) {
    return malformed("policy reference padding " + at(r.absolute_position()) + " is not zero");
  }
  image.name.assign(bytes->begin(), bytes->end() - 1);
  return {};
}

}  // namespace

std::optional<std::uint64_t> xen_policy_size(const PolicyImage& image) {
  const std::uint64_t total = kHeaderSize + reference_section_size(image.name) +
                              component_size(image, image.primary) +
                              component_size(image, image.secondary);
  if (total > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return total;
}

std::vector<std::uint8_t> write_xen_policy(const PolicyImage& image) {
  if (auto s = validate_image(image); !s) {
    throw std::invalid_argument("write_xen_policy: " + s.error().message);
  }
  const auto total = xen_policy_size(image);
  if (!total) {
    throw std::invalid_argument("write_xen_policy: policy '" + image.name +
                                "' does not fit in Xen's format (over 4 GiB of dense matrices)");
  }
  ByteWriter w;
  w.reserve(static_cast<std::size_t>(*total));
  w.put_u32_be(kMagic);
  w.put_u32_be(kPolicyVersion);
  w.put_u32_be(0);  // len, patched below
  w.put_u32_be(static_cast<std::uint32_t>(kHeaderSize));
  w.put_u32_be(static_cast<std::uint32_t>(image.primary));
  w.put_u32_be(0);  // primary offset
  w.put_u32_be(static_cast<std::uint32_t>(image.secondary));
  w.put_u32_be(0);  // secondary offset
  w.put_u32_be(image.xml_version.major);
  w.put_u32_be(image.xml_version.minor);
  w.put_bytes(image.xml_sha1);

  const std::size_t reference_at = w.size();
  w.put_u32_be(static_cast<std::uint32_t>(image.name.size() + 1));
  for (char c : image.name)
    w.put_u8(static_cast<std::uint8_t>(c));
  w.put_u8(0);
  w.pad_to_multiple(kSectionAlignment, reference_at);

  const std::size_t primary_at = w.size();
  put_component(w, image, image.primary);
  const std::size_t secondary_at = w.size();
  put_component(w, image, image.secondary);

  w.patch_u32_be(kOffLen, static_cast<std::uint32_t>(w.size()));
  w.patch_u32_be(kOffPrimaryOffset, static_cast<std::uint32_t>(primary_at));
  w.patch_u32_be(kOffSecondaryOffset, static_cast<std::uint32_t>(secondary_at));
  return std::move(w).take();
}

Result<PolicyImage> read_xen_policy(std::span<const std::uint8_t> bytes, XenPolicyInfo* info) {
  ByteReader r(bytes);
  auto magic = read_field(r, "magic");
  if (!magic) return tl::unexpected(magic.error());
  if (*magic != kMagic) {
    return malformed("magic " + at(kOffMagic) + " is " + format_hex(*magic) + ", expected " +
                     format_hex(kMagic));
  }
  auto version = read_field(r, "policy format version");
  if (!version) return tl::unexpected(version.error());
  if (*version != kPolicyVersion && *version != kPolicyVersionV3) {
    return make_error(Errc::unsupported, std::string(kPrefix) + "policy format version " +
                                             at(kOffVersion) + " is " + std::to_string(*version) +
                                             "; only versions 3 and 4 are supported");
  }
  const std::size_t header_size = *version == kPolicyVersion ? kHeaderSize : kHeaderSizeV3;
  if (bytes.size() < header_size) {
    return malformed("header (offset 0x0, " + std::to_string(header_size) +
                     " bytes) is truncated: the buffer has " + std::to_string(bytes.size()) +
                     " bytes");
  }
  const std::uint32_t len = *r.read_u32_be();
  if (len != bytes.size()) {
    return malformed("total length " + at(kOffLen) + " is " + std::to_string(len) +
                     " but the buffer has " + std::to_string(bytes.size()) + " bytes");
  }
  const std::uint32_t reference_offset = *r.read_u32_be();
  if (reference_offset != header_size) {
    return malformed("policy reference offset " + at(kOffReference) + " is " +
                     std::to_string(reference_offset) + ", expected " +
                     std::to_string(header_size) + " (right after the header)");
  }
  auto primary = read_code(r, "primary policy code");
  if (!primary) return tl::unexpected(primary.error());
  const std::uint32_t primary_offset = *r.read_u32_be();
  auto secondary = read_code(r, "secondary policy code");
  if (!secondary) return tl::unexpected(secondary.error());
  const std::uint32_t secondary_offset = *r.read_u32_be();

  PolicyImage image;
  image.primary = *primary;
  image.secondary = *secondary;
  image.xml_version.major = *r.read_u32_be();
  image.xml_version.minor = *r.read_u32_be();
  if (header_size == kHeaderSize) {
    auto sha = *r.read_bytes(kSha1Size);
    std::copy(sha.begin(), sha.end(), image.xml_sha1.begin());
  }

  if (!supported_combination(*primary, *secondary)) {
    return malformed(
        "policy combination (primary " + code_text(static_cast<std::uint32_t>(*primary)) + " " +
        at(kOffPrimaryCode) + ", secondary " + code_text(static_cast<std::uint32_t>(*secondary)) +
        " " + at(kOffSecondaryCode) +
        ") is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  }
  // Sections are implied by order: reference, primary, secondary, end.
  if (primary_offset <= reference_offset || primary_offset >= len) {
    return malformed("primary buffer offset " + at(kOffPrimaryOffset) + " is " +
                     format_hex(primary_offset) + "; it must lie after the policy reference (" +
                     format_hex(reference_offset) + ") and before the end of the policy (" +
                     format_hex(len) + ")");
  }
  if (*secondary == PolicyCode::null) {
    if (secondary_offset != len) {
      return malformed("secondary buffer offset " + at(kOffSecondaryOffset) + " is " +
                       format_hex(secondary_offset) +
                       "; a NULL secondary must have offset == policy length (" + format_hex(len) +
                       ")");
    }
  } else if (secondary_offset <= primary_offset || secondary_offset >= len) {
    return malformed("secondary buffer offset " + at(kOffSecondaryOffset) + " is " +
                     format_hex(secondary_offset) + "; it must lie after the primary buffer (" +
                     format_hex(primary_offset) + ") and before the end of the policy (" +
                     format_hex(len) + ")");
  }
  struct Section {
    const char* name;
    std::size_t begin, end;
  };
  const Section sections[] = {{"policy reference section", reference_offset, primary_offset},
                              {"primary buffer", primary_offset, secondary_offset},
                              {"secondary buffer", secondary_offset, len}};
  for (const auto& s : sections) {
    if ((s.end - s.begin) % kSectionAlignment != 0) {
      return malformed(std::string(s.name) + " (offset " + format_hex(s.begin) + ", " +
                       std::to_string(s.end - s.begin) +
                       " bytes) is not a multiple of 8 bytes long");
    }
  }

  ByteReader whole(bytes);
  if (auto s =
          read_reference(*whole.sub(reference_offset, primary_offset - reference_offset), image);
      !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = read_component(*whole.sub(primary_offset, secondary_offset - primary_offset),
                              *primary, image);
      !s) {
    return tl::unexpected(s.error());
  }
  if (auto s =
          read_component(*whole.sub(secondary_offset, len - secondary_offset), *secondary, image);
      !s) {
    return tl::unexpected(s.error());
  }
  image.vm_label_count = image.has_chwall() ? image.chwall_labels.rows() : image.ste_labels.rows();

  if (auto s = validate_image(image); !s) {
    return make_error(s.error().code, kPrefix + s.error().message);
  }
  if (info) {
    info->format_version = *version;
    // Determined again cheaply: the reader accepted nonzero counter offsets
    // only in the exact dump layout.
    info->has_counter_arrays = false;
    if (image.has_chwall()) {
      const std::size_t chwall_at =
          image.primary == PolicyCode::chinese_wall ? primary_offset : secondary_offset;
      ByteReader h = *whole.sub(chwall_at + 28, 8);
      info->has_counter_arrays = *h.read_u32_be() != 0 || *h.read_u32_be() != 0;
    }
  }
  return image;
}

}  // namespace shype::acm
