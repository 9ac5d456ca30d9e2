#include "acm/compact_format.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "acm/binary_policy.hpp"
#include "acm/byte_cursor.hpp"
#include "acm/fingerprint.hpp"

namespace shype::acm {
namespace {

using namespace compact;

constexpr char kPrefix[] = "malformed compact policy: ";

// Sizes are computed in std::size_t from u32 counts; 64 bits keep every
// product below exact (and checked_* guards the rest).
static_assert(sizeof(std::size_t) >= 8);

tl::unexpected<Error> malformed(const std::string& what) {
  return make_error(Errc::malformed_binary, kPrefix + what);
}

tl::unexpected<Error> too_large(const std::string& what) {
  return make_error(Errc::limit_exceeded, kPrefix + what);
}

std::string at(std::size_t offset) {
  return "(offset " + format_hex(offset) + ")";
}

const char* section_name(std::uint32_t id) {
  switch (static_cast<SectionId>(id)) {
    case SectionId::meta:
      return "META";
    case SectionId::ste:
      return "STE";
    case SectionId::chwall:
      return "CHWALL";
    case SectionId::names:
      return "NAMES";
  }
  return "unknown";
}

bool known_section(std::uint32_t id) {
  return id >= static_cast<std::uint32_t>(SectionId::meta) &&
         id <= static_cast<std::uint32_t>(SectionId::names);
}

// The flags the writer gives each known section: NAMES may be skipped by a
// reader that does not know it; the others are needed for decisions.
std::uint32_t canonical_flags(std::uint32_t id) {
  return static_cast<SectionId>(id) == SectionId::names ? kSectionOptional : 0;
}

// SHA-256 of bytes with the digest field read as zeros. bytes.size() >= 64.
Sha256Digest file_digest(std::span<const std::uint8_t> bytes) {
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  static constexpr std::array<std::uint8_t, kDigestSize> kZeros{};
  Sha256Digest out{};
  unsigned int len = 0;
  const std::size_t after = kDigestOffset + kDigestSize;
  // A failure here is an allocation failure or a broken OpenSSL, as in
  // fingerprint.cpp: not something a caller can recover from.
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), kDigestOffset) != 1 ||
      EVP_DigestUpdate(ctx.get(), kZeros.data(), kZeros.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data() + after, bytes.size() - after) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return out;
}

// ---- writing ---------------------------------------------------------------

void put_csr_offsets(ByteWriter& w, const TypeSets& sets) {
  for (std::uint32_t o : sets.offsets())
    w.put_u32_le(o);
}

void put_csr_types(ByteWriter& w, const TypeSets& sets) {
  for (std::uint32_t t : sets.types())
    w.put_u16_le(static_cast<std::uint16_t>(t));
}

void put_meta(ByteWriter& w, const PolicyImage& image) {
  w.put_u32_le(static_cast<std::uint32_t>(image.primary));
  w.put_u32_le(static_cast<std::uint32_t>(image.secondary));
  w.put_u32_le(image.xml_version.major);
  w.put_u32_le(image.xml_version.minor);
  w.put_u32_le(image.vm_label_count);
  w.put_u32_le(static_cast<std::uint32_t>(image.name.size()));
  w.put_bytes(image.xml_sha1);
  w.put_u32_le(0);  // reserved
  for (char c : image.name)
    w.put_u8(static_cast<std::uint8_t>(c));
}

void put_ste(ByteWriter& w, const PolicyImage& image) {
  w.put_u32_le(image.ste_type_count);
  w.put_u32_le(image.ste_labels.rows());
  w.put_u32_le(static_cast<std::uint32_t>(image.ste_labels.entries()));
  w.put_u32_le(0);  // reserved
  put_csr_offsets(w, image.ste_labels);
  put_csr_types(w, image.ste_labels);
}

void put_chwall(ByteWriter& w, const PolicyImage& image) {
  w.put_u32_le(image.chwall_type_count);
  w.put_u32_le(image.chwall_labels.rows());
  w.put_u32_le(static_cast<std::uint32_t>(image.chwall_labels.entries()));
  w.put_u32_le(image.conflict_sets.rows());
  w.put_u32_le(static_cast<std::uint32_t>(image.conflict_sets.entries()));
  w.put_u32_le(0);  // reserved
  put_csr_offsets(w, image.chwall_labels);
  put_csr_offsets(w, image.conflict_sets);
  put_csr_types(w, image.chwall_labels);
  put_csr_types(w, image.conflict_sets);
}

// The five PolicyNames lists in their on-disk order.
std::array<const std::vector<std::string>*, 5> name_lists(const PolicyNames& n) {
  return {&n.ste_types, &n.chwall_types, &n.vm_labels, &n.resource_labels, &n.conflict_sets};
}

std::size_t common_prefix(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i])
    ++i;
  return i;
}

// Each list is front-coded: a name shares the longest possible prefix with
// the name before it in the same list (generated names such as vm_01233,
// vm_01234 cost 5 bytes each).
void put_names(ByteWriter& w, const PolicyNames& names) {
  const auto lists = name_lists(names);
  for (const auto* list : lists)
    w.put_u32_le(static_cast<std::uint32_t>(list->size()));
  w.put_u32_le(0);  // reserved
  for (const auto* list : lists) {
    std::string_view prev;
    for (const std::string& name : *list) {
      const std::size_t shared = common_prefix(prev, name);
      w.put_u16_le(static_cast<std::uint16_t>(shared));  // names <= kMaxNameLength (4096)
      w.put_u16_le(static_cast<std::uint16_t>(name.size() - shared));
      for (std::size_t i = shared; i < name.size(); ++i)
        w.put_u8(static_cast<std::uint8_t>(name[i]));
      prev = name;
    }
  }
}

// ---- reading ---------------------------------------------------------------

struct SectionEntry {
  std::uint32_t id = 0;
  std::uint32_t flags = 0;
  std::size_t offset = 0;
  std::size_t length = 0;
};

// A cursor over a section whose exact length has been checked: reads inside
// it cannot fail, so they are dereferenced directly.
struct Fields {
  ByteReader r;
  std::uint32_t u32() { return *r.read_u32_le(); }
  std::uint16_t u16() { return *r.read_u16_le(); }
};

Status check_exact_length(const ByteReader& section, const char* name,
                          std::optional<std::size_t> expected) {
  if (!expected || section.size() != *expected) {
    return malformed(
        std::string(name) + " section (offset " + format_hex(section.base()) + ", " +
        std::to_string(section.size()) + " bytes) does not have the length its counts give (" +
        (expected ? std::to_string(*expected) + " bytes" : std::string("overflow")) + ")");
  }
  return {};
}

Status check_fixed(const ByteReader& section, const char* name, std::size_t fixed) {
  if (section.size() < fixed) {
    return malformed(std::string(name) + " section (offset " + format_hex(section.base()) + ", " +
                     std::to_string(section.size()) + " bytes) is shorter than its " +
                     std::to_string(fixed) + "-byte fixed part");
  }
  return {};
}

Status check_reserved(Fields& f, const char* name) {
  const std::size_t offset = f.r.absolute_position();
  const std::uint32_t v = f.u32();
  if (v != 0) {
    return malformed(std::string(name) + " reserved field " + at(offset) + " is " + format_hex(v) +
                     ", expected 0");
  }
  return {};
}

Result<std::uint32_t> read_count(Fields& f, const std::string& name, std::uint32_t limit) {
  const std::size_t offset = f.r.absolute_position();
  const std::uint32_t v = f.u32();
  if (v > limit) {
    return too_large(name + " " + at(offset) + " is " + std::to_string(v) +
                     ", above the limit of " + std::to_string(limit));
  }
  return v;
}

// Decodes one CSR structure: `offsets` holds rows + 1 u32, `types` holds
// `entries` u16 (both already known to be inside the section).
Status read_csr(ByteReader offsets, ByteReader types, std::uint32_t rows, std::uint32_t entries,
                std::uint32_t type_count, const std::string& what, TypeSets& out) {
  out = TypeSets{};
  out.reserve(rows, entries);
  std::vector<std::uint32_t> row;
  const std::size_t first_at = offsets.absolute_position();
  std::uint32_t begin = *offsets.read_u32_le();
  if (begin != 0) {
    return malformed(what + " offsets[0] " + at(first_at) + " is " + std::to_string(begin) +
                     ", expected 0");
  }
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end_at = offsets.absolute_position();
    const std::uint32_t end = *offsets.read_u32_le();
    if (end < begin || end > entries) {
      return malformed(what + " offsets[" + std::to_string(r + 1) + "] " + at(end_at) + " is " +
                       std::to_string(end) + "; offsets must be ascending from " +
                       std::to_string(begin) + " and at most the entry count " +
                       std::to_string(entries));
    }
    row.clear();
    for (std::uint32_t k = begin; k < end; ++k) {
      const std::size_t type_at = types.absolute_position();
      const std::uint32_t t = *types.read_u16_le();
      if (t >= type_count) {
        return malformed(what + " row " + std::to_string(r) + " type " + at(type_at) + " is " +
                         std::to_string(t) + ", not below the type count " +
                         std::to_string(type_count));
      }
      if (!row.empty() && t <= row.back()) {
        return malformed(what + " row " + std::to_string(r) + " type " + at(type_at) + " is " +
                         std::to_string(t) + " after " + std::to_string(row.back()) +
                         "; types must be strictly ascending");
      }
      row.push_back(t);
    }
    out.add_row(row);
    begin = end;
  }
  if (begin != entries) {
    return malformed(what + " offsets[" + std::to_string(rows) + "] " +
                     at(offsets.absolute_position() - 4) + " is " + std::to_string(begin) +
                     ", expected the entry count " + std::to_string(entries));
  }
  return {};
}

Result<PolicyCode> read_code(Fields& f, const char* name) {
  const std::size_t offset = f.r.absolute_position();
  const std::uint32_t v = f.u32();
  if (v > static_cast<std::uint32_t>(PolicyCode::simple_type_enforcement)) {
    return malformed(std::string("META ") + name + " " + at(offset) + " is " + std::to_string(v) +
                     ", not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  }
  return static_cast<PolicyCode>(v);
}

Status read_meta(const ByteReader& section, PolicyImage& image) {
  if (auto s = check_fixed(section, "META", kMetaFixedSize); !s) return s;
  Fields f{section};
  auto primary = read_code(f, "primary policy code");
  if (!primary) return tl::unexpected(primary.error());
  auto secondary = read_code(f, "secondary policy code");
  if (!secondary) return tl::unexpected(secondary.error());
  if (!supported_combination(*primary, *secondary)) {
    return malformed(
        std::string("META policy combination ") + at(section.base()) + " " +
        policy_code_name(*primary) + " + " + policy_code_name(*secondary) +
        " is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  }
  image.primary = *primary;
  image.secondary = *secondary;
  image.xml_version.major = f.u32();
  image.xml_version.minor = f.u32();
  auto vm = read_count(f, "META VM label count", kMaxRows);
  if (!vm) return tl::unexpected(vm.error());
  image.vm_label_count = *vm;
  const std::size_t name_len_at = f.r.absolute_position();
  const std::uint32_t name_len = f.u32();
  if (name_len == 0) return malformed("META policy name length " + at(name_len_at) + " is 0");
  if (name_len > kMaxPolicyNameLength) {
    return too_large("META policy name length " + at(name_len_at) + " is " +
                     std::to_string(name_len) + ", above the limit of " +
                     std::to_string(kMaxPolicyNameLength));
  }
  auto sha = *f.r.read_bytes(image.xml_sha1.size());
  std::copy(sha.begin(), sha.end(), image.xml_sha1.begin());
  if (auto s = check_reserved(f, "META"); !s) return s;
  if (auto s = check_exact_length(section, "META", kMetaFixedSize + name_len); !s) return s;
  const std::size_t name_at = f.r.absolute_position();
  auto name = *f.r.read_bytes(name_len);
  image.name.assign(name.begin(), name.end());
  if (auto s = check_binary_policy_name(image.name); !s) {
    return make_error(s.error().code,
                      kPrefix + ("META policy name " + at(name_at) + " " + s.error().message));
  }
  return {};
}

Status read_ste(const ByteReader& section, PolicyImage& image) {
  if (auto s = check_fixed(section, "STE", kSteFixedSize); !s) return s;
  Fields f{section};
  auto types = read_count(f, "STE type count", kMaxTypes);
  if (!types) return tl::unexpected(types.error());
  auto rows = read_count(f, "STE label count", kMaxRows);
  if (!rows) return tl::unexpected(rows.error());
  const std::uint32_t entries = f.u32();
  if (auto s = check_reserved(f, "STE"); !s) return s;
  // Everything after the fixed part is exactly the two arrays.
  const std::size_t offsets_bytes = (std::size_t{*rows} + 1) * 4;
  const std::size_t types_bytes = std::size_t{entries} * 2;
  if (auto s = check_exact_length(section, "STE", kSteFixedSize + offsets_bytes + types_bytes);
      !s) {
    return s;
  }
  image.ste_type_count = *types;
  return read_csr(*section.sub(kSteFixedSize, offsets_bytes),
                  *section.sub(kSteFixedSize + offsets_bytes, types_bytes), *rows, entries, *types,
                  "STE label", image.ste_labels);
}

Status read_chwall(const ByteReader& section, PolicyImage& image) {
  if (auto s = check_fixed(section, "CHWALL", kChwallFixedSize); !s) return s;
  Fields f{section};
  auto types = read_count(f, "CHWALL type count", kMaxTypes);
  if (!types) return tl::unexpected(types.error());
  auto rows = read_count(f, "CHWALL label count", kMaxRows);
  if (!rows) return tl::unexpected(rows.error());
  const std::uint32_t label_entries = f.u32();
  auto sets = read_count(f, "CHWALL conflict set count", kMaxConflictSets);
  if (!sets) return tl::unexpected(sets.error());
  const std::uint32_t set_entries = f.u32();
  if (auto s = check_reserved(f, "CHWALL"); !s) return s;
  const std::size_t label_offsets = (std::size_t{*rows} + 1) * 4;
  const std::size_t set_offsets = (std::size_t{*sets} + 1) * 4;
  const std::size_t label_types = std::size_t{label_entries} * 2;
  const std::size_t set_types = std::size_t{set_entries} * 2;
  const std::size_t expected =
      kChwallFixedSize + label_offsets + set_offsets + label_types + set_types;
  if (auto s = check_exact_length(section, "CHWALL", expected); !s) return s;
  image.chwall_type_count = *types;
  std::size_t at_offset = kChwallFixedSize;
  const ByteReader label_offsets_r = *section.sub(at_offset, label_offsets);
  at_offset += label_offsets;
  const ByteReader set_offsets_r = *section.sub(at_offset, set_offsets);
  at_offset += set_offsets;
  const ByteReader label_types_r = *section.sub(at_offset, label_types);
  at_offset += label_types;
  const ByteReader set_types_r = *section.sub(at_offset, set_types);
  if (auto s = read_csr(label_offsets_r, label_types_r, *rows, label_entries, *types,
                        "CHWALL label", image.chwall_labels);
      !s) {
    return s;
  }
  return read_csr(set_offsets_r, set_types_r, *sets, set_entries, *types, "CHWALL conflict set",
                  image.conflict_sets);
}

Status read_names(const ByteReader& section, PolicyImage& image) {
  if (auto s = check_fixed(section, "NAMES", kNamesFixedSize); !s) return s;
  Fields f{section};
  static constexpr const char* kListNames[5] = {"STE type", "CHWALL type", "VM label",
                                                "resource label", "conflict set"};
  static constexpr std::uint32_t kListLimits[5] = {kMaxTypes, kMaxTypes, kMaxRows, kMaxRows,
                                                   kMaxConflictSets};
  std::array<std::uint32_t, 5> counts{};
  std::size_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    auto c = read_count(f, std::string("NAMES ") + kListNames[i] + " count", kListLimits[i]);
    if (!c) return tl::unexpected(c.error());
    counts[i] = *c;
    total += *c;
  }
  if (auto s = check_reserved(f, "NAMES"); !s) return s;
  // Every name takes at least its two u16 lengths and one byte: refuse counts
  // the section cannot hold before reserving anything for them.
  if (!f.r.can_read(total, kMinNameEntrySize)) {
    return malformed("NAMES section (offset " + format_hex(section.base()) + ", " +
                     std::to_string(section.size()) + " bytes) is too short for its " +
                     std::to_string(total) + " names");
  }

  PolicyNames names;
  std::array<std::vector<std::string>*, 5> lists = {&names.ste_types, &names.chwall_types,
                                                    &names.vm_labels, &names.resource_labels,
                                                    &names.conflict_sets};
  for (std::size_t l = 0; l < lists.size(); ++l) {
    std::vector<std::string>& list = *lists[l];
    list.reserve(counts[l]);
    for (std::uint32_t i = 0; i < counts[l]; ++i) {
      // Built only on the error paths: a large policy has tens of thousands
      // of names.
      auto what = [&] { return std::string("NAMES ") + kListNames[l] + " " + std::to_string(i); };
      const std::size_t entry_at = f.r.absolute_position();
      auto shared = f.r.read_u16_le();
      auto suffix_len = f.r.read_u16_le();
      if (!shared || !suffix_len) return malformed(what() + " " + at(entry_at) + " is truncated");
      const std::size_t suffix_at = f.r.absolute_position();
      auto suffix = f.r.read_bytes(*suffix_len);
      if (!suffix) {
        return malformed(what() + " " + at(entry_at) + " (" + std::to_string(*suffix_len) +
                         " bytes) extends past the end of the section");
      }
      const std::string_view prev = i == 0 ? std::string_view() : std::string_view(list.back());
      if (*shared > prev.size()) {
        return malformed(what() + " " + at(entry_at) + " shares " + std::to_string(*shared) +
                         " bytes with a previous name of " + std::to_string(prev.size()) +
                         " bytes");
      }
      // Canonical front coding: the shared prefix is the longest possible.
      if (*shared < prev.size() && !suffix->empty() &&
          (*suffix)[0] == static_cast<std::uint8_t>(prev[*shared])) {
        return malformed(what() + " " + at(entry_at) + " shares " + std::to_string(*shared) +
                         " bytes with the previous name but could share more");
      }
      // Built in place: `list` has its final capacity, so `prev` (a view of
      // list.back()) stays valid while the new name is appended.
      std::string& name = list.emplace_back(prev.substr(0, *shared));
      name.append(suffix->begin(), suffix->end());
      if (auto ok = check_binary_name(name); !ok) {
        return make_error(ok.error().code,
                          kPrefix + (what() + " " + at(suffix_at) + " " + ok.error().message));
      }
    }
  }
  if (!f.r.at_end()) {
    return malformed("NAMES section has " + std::to_string(f.r.remaining()) +
                     " bytes after its last name " + at(f.r.absolute_position()));
  }
  image.names = std::move(names);
  return {};
}

Status read_section(const ByteReader& section, std::uint32_t id, PolicyImage& image) {
  switch (static_cast<SectionId>(id)) {
    case SectionId::meta:
      return read_meta(section, image);
    case SectionId::ste:
      return read_ste(section, image);
    case SectionId::chwall:
      return read_chwall(section, image);
    case SectionId::names:
      return read_names(section, image);
  }
  return {};
}

}  // namespace

std::vector<std::uint8_t> write_compact_policy(const PolicyImage& image) {
  if (auto s = validate_image(image); !s) {
    throw std::invalid_argument("write_compact_policy: " + s.error().message);
  }
  std::vector<SectionId> ids{SectionId::meta};
  if (image.has_ste()) ids.push_back(SectionId::ste);
  if (image.has_chwall()) ids.push_back(SectionId::chwall);
  if (image.names) ids.push_back(SectionId::names);

  ByteWriter w;
  w.put_bytes(kMagic);
  w.put_u16_le(kFormatMajor);
  w.put_u16_le(kFormatMinor);
  w.put_u32_le(static_cast<std::uint32_t>(kHeaderSize));
  w.put_u64_le(0);  // total length, patched below
  w.put_u32_le(static_cast<std::uint32_t>(ids.size()));
  w.put_u32_le(0);  // flags
  w.put_zeros(kDigestSize);
  const std::size_t table_at = w.size();
  w.put_zeros(ids.size() * kSectionEntrySize);

  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::size_t start = w.size();
    switch (ids[i]) {
      case SectionId::meta:
        put_meta(w, image);
        break;
      case SectionId::ste:
        put_ste(w, image);
        break;
      case SectionId::chwall:
        put_chwall(w, image);
        break;
      case SectionId::names:
        put_names(w, *image.names);
        break;
    }
    const std::size_t length = w.size() - start;
    w.pad_to_multiple(kSectionAlignment);
    const std::size_t entry = table_at + i * kSectionEntrySize;
    const auto id = static_cast<std::uint32_t>(ids[i]);
    w.patch_u32_le(entry, id);
    w.patch_u32_le(entry + 4, canonical_flags(id));
    w.patch_u64_le(entry + 8, start);
    w.patch_u64_le(entry + 16, length);
  }
  w.patch_u64_le(16, w.size());
  std::vector<std::uint8_t> bytes = std::move(w).take();
  const Sha256Digest digest = file_digest(bytes);
  std::copy(digest.begin(), digest.end(), bytes.begin() + kDigestOffset);
  return bytes;
}

bool reseal_compact_policy(std::span<std::uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) return false;
  const Sha256Digest digest = file_digest(bytes);
  std::copy(digest.begin(), digest.end(), bytes.begin() + kDigestOffset);
  return true;
}

Result<PolicyImage> read_compact_policy(std::span<const std::uint8_t> bytes,
                                        CompactPolicyInfo* info) {
  if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    return malformed("magic (offset 0x0) is not \"SHYPEPOL\"");
  }
  if (bytes.size() < kHeaderSize) {
    return malformed("header (offset 0x0, 64 bytes) is truncated: the buffer has " +
                     std::to_string(bytes.size()) + " bytes");
  }
  ByteReader r(bytes);
  (void)r.skip(kMagic.size());
  const std::uint16_t major = *r.read_u16_le();
  const std::uint16_t minor = *r.read_u16_le();
  if (major != kFormatMajor) {
    return make_error(Errc::unsupported,
                      kPrefix + ("format version " + at(8) + " is " + std::to_string(major) + "." +
                                 std::to_string(minor) + "; this build reads " +
                                 std::to_string(kFormatMajor) + ".x"));
  }
  const std::uint32_t header_size = *r.read_u32_le();
  if (header_size != kHeaderSize) {
    return malformed("header size " + at(12) + " is " + std::to_string(header_size) +
                     ", expected 64");
  }
  const std::uint64_t total = *r.read_u64_le();
  if (total != bytes.size()) {
    return malformed("total length " + at(16) + " is " + std::to_string(total) +
                     " but the buffer has " + std::to_string(bytes.size()) + " bytes");
  }
  const std::uint32_t section_count = *r.read_u32_le();
  const std::uint32_t flags = *r.read_u32_le();
  const auto stored = *r.read_bytes(kDigestSize);
  const Sha256Digest digest = file_digest(bytes);
  if (!std::equal(digest.begin(), digest.end(), stored.begin())) {
    return malformed("SHA-256 " + at(kDigestOffset) + " is " + to_hex(stored) +
                     " but the file's contents hash to " + to_hex(digest));
  }
  if (flags != 0) {
    return malformed("header flags " + at(28) + " are " + format_hex(flags) +
                     "; no flags are defined");
  }
  if (section_count == 0 || section_count > kMaxSections) {
    return (section_count == 0 ? malformed : too_large)(
        "section count " + at(24) + " is " + std::to_string(section_count) + "; it must be 1.." +
        std::to_string(kMaxSections));
  }
  const std::size_t table_end = kHeaderSize + std::size_t{section_count} * kSectionEntrySize;
  if (table_end > bytes.size()) {
    return malformed("section table (offset 0x40, " + std::to_string(section_count) +
                     " entries) extends past the end of the file");
  }

  // Pass 1: the table (bounded by kMaxSections, so a fixed array).
  std::array<SectionEntry, kMaxSections> table{};
  std::size_t expected_offset = table_end;
  for (std::uint32_t i = 0; i < section_count; ++i) {
    const std::size_t entry_at = r.absolute_position();
    SectionEntry& e = table[i];
    e.id = *r.read_u32_le();
    e.flags = *r.read_u32_le();
    const std::uint64_t offset = *r.read_u64_le();
    const std::uint64_t length = *r.read_u64_le();
    const std::string entry_name = "section table entry " + std::to_string(i) + " " + at(entry_at);
    if (i > 0 && e.id == table[i - 1].id) {
      return malformed(entry_name + ": duplicate section id " + std::to_string(e.id) + " (" +
                       section_name(e.id) + ")");
    }
    if (i > 0 && e.id < table[i - 1].id) {
      return malformed(entry_name + " has id " + std::to_string(e.id) + " after id " +
                       std::to_string(table[i - 1].id) + "; ids must be ascending");
    }
    if ((e.flags & ~kSectionOptional) != 0) {
      return malformed(entry_name + " has flags " + format_hex(e.flags) +
                       "; only bit 0 (optional) is defined");
    }
    if (known_section(e.id) && e.flags != canonical_flags(e.id)) {
      return malformed(entry_name + " (" + section_name(e.id) + ") has flags " +
                       format_hex(e.flags) + ", expected " + format_hex(canonical_flags(e.id)));
    }
    if (!known_section(e.id) && (e.flags & kSectionOptional) == 0) {
      return make_error(Errc::unsupported,
                        kPrefix + (entry_name + " has unknown id " + std::to_string(e.id) +
                                   " and is not flagged optional"));
    }
    if (offset != expected_offset) {
      return malformed(entry_name + " has offset " + format_hex(offset) + ", expected " +
                       format_hex(expected_offset) +
                       " (sections follow each other, each aligned to 8 bytes)");
    }
    if (length > bytes.size() - offset) {
      return malformed(entry_name + " (offset " + format_hex(offset) + ", " +
                       std::to_string(length) + " bytes) extends past the end of the file");
    }
    e.offset = static_cast<std::size_t>(offset);
    e.length = static_cast<std::size_t>(length);
    const std::size_t end = e.offset + e.length;
    expected_offset = *round_up(end, kSectionAlignment);
    const std::size_t pad_end = std::min(expected_offset, bytes.size());
    if (!ByteReader(bytes).sub(end, pad_end - end)->rest_is_zero()) {
      return malformed("padding after section " + std::to_string(i) + " " + at(end) +
                       " is not zero");
    }
  }
  if (expected_offset != bytes.size()) {
    return malformed("file length " + std::to_string(bytes.size()) +
                     " is not the end of the last section padded to 8 bytes (" +
                     std::to_string(expected_offset) + ")");
  }

  // Pass 2: sections in id order; META (id 1) therefore comes first.
  if (table[0].id != static_cast<std::uint32_t>(SectionId::meta)) {
    return malformed("the required META section is missing");
  }
  PolicyImage image;
  std::uint32_t skipped = 0;
  bool seen_ste = false;
  bool seen_chwall = false;
  ByteReader whole(bytes);
  for (std::uint32_t i = 0; i < section_count; ++i) {
    const SectionEntry& e = table[i];
    if (!known_section(e.id)) {
      ++skipped;
      continue;
    }
    if (static_cast<SectionId>(e.id) == SectionId::ste) {
      if (!image.has_ste()) {
        return malformed("section " + std::to_string(i) +
                         " is STE but the policy has no STE component");
      }
      seen_ste = true;
    }
    if (static_cast<SectionId>(e.id) == SectionId::chwall) {
      if (!image.has_chwall()) {
        return malformed("section " + std::to_string(i) +
                         " is CHWALL but the policy has no CHWALL component");
      }
      seen_chwall = true;
    }
    if (auto s = read_section(*whole.sub(e.offset, e.length), e.id, image); !s) {
      return tl::unexpected(s.error());
    }
  }
  if (image.has_ste() && !seen_ste) return malformed("the required STE section is missing");
  if (image.has_chwall() && !seen_chwall) {
    return malformed("the required CHWALL section is missing");
  }
  if (auto s = validate_image(image); !s) {
    return make_error(s.error().code, kPrefix + s.error().message);
  }
  if (info) {
    info->format_minor = minor;
    info->skipped_sections = skipped;
  }
  return image;
}

}  // namespace shype::acm
