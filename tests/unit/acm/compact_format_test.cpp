#include "acm/compact_format.hpp"

#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

#include "acm/binary_policy.hpp"
#include "acm/byte_cursor.hpp"
#include "acm/compiler.hpp"
#include "acm/fingerprint.hpp"
#include "acm/xen_format.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::string hx(std::size_t v) {
  return format_hex(v);
}

void le32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i)
    b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void le16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void le64(Bytes& b, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i)
    b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get32(const Bytes& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v |= std::uint32_t{b[at + i]} << (8 * i);
  return v;
}
std::uint64_t get64(const Bytes& b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::uint64_t{b[at + i]} << (8 * i);
  return v;
}

Bytes sealed(Bytes b) {
  EXPECT_TRUE(reseal_compact_policy(b));
  return b;
}

std::string error_of(const Bytes& b) {
  auto r = read_compact_policy(b);
  return r ? std::string("<accepted>") : r.error().message;
}

Errc code_of(const Bytes& b) {
  auto r = read_compact_policy(b);
  return r ? Errc::invalid_argument : r.error().code;
}

// A section as stored: id, flags, payload (without padding).
struct Section {
  std::uint32_t id;
  std::uint32_t flags;
  Bytes payload;
  std::size_t offset = 0;  // in the file it was taken from
};

std::vector<Section> sections_of(const Bytes& b) {
  std::vector<Section> out;
  const std::uint32_t count = get32(b, 24);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t e = 64 + 24 * std::size_t{i};
    const auto offset = static_cast<std::size_t>(get64(b, e + 8));
    const auto length = static_cast<std::size_t>(get64(b, e + 16));
    out.push_back({get32(b, e), get32(b, e + 4),
                   Bytes(b.begin() + static_cast<std::ptrdiff_t>(offset),
                         b.begin() + static_cast<std::ptrdiff_t>(offset + length)),
                   offset});
  }
  return out;
}

const Section& section(const std::vector<Section>& all, compact::SectionId id) {
  for (const auto& s : all) {
    if (s.id == static_cast<std::uint32_t>(id)) return s;
  }
  throw std::runtime_error("no such section");
}

// Lays sections out exactly as the writer does (for building variants).
Bytes assemble(const std::vector<Section>& sections, std::uint16_t minor = 0) {
  ByteWriter w;
  w.put_bytes(compact::kMagic);
  w.put_u16_le(1);
  w.put_u16_le(minor);
  w.put_u32_le(64);
  w.put_u64_le(0);
  w.put_u32_le(static_cast<std::uint32_t>(sections.size()));
  w.put_u32_le(0);
  w.put_zeros(32);
  w.put_zeros(24 * sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const std::size_t start = w.size();
    w.put_bytes(sections[i].payload);
    const std::size_t length = w.size() - start;
    w.pad_to_multiple(8);
    w.patch_u32_le(64 + 24 * i, sections[i].id);
    w.patch_u32_le(64 + 24 * i + 4, sections[i].flags);
    w.patch_u64_le(64 + 24 * i + 8, start);
    w.patch_u64_le(64 + 24 * i + 16, length);
  }
  w.patch_u64_le(16, w.size());
  return sealed(std::move(w).take());
}

// A policy of the shape a large deployment generates: `types` STE and CHWALL
// types, `labels` VM labels, labels/10 resource labels and conflict sets,
// `per_label` types per label.
PolicyImage generated_image(std::uint32_t types, std::uint32_t labels, std::uint32_t per_label) {
  PolicyImage img;
  img.name = "generated";
  img.xml_version = {3, 1};
  img.primary = PolicyCode::chinese_wall;
  img.secondary = PolicyCode::simple_type_enforcement;
  img.ste_type_count = types;
  img.chwall_type_count = types;
  img.vm_label_count = labels;
  const std::uint32_t resources = labels / 10;
  const std::uint32_t sets = labels / 10;
  img.ste_labels.reserve(labels + resources, std::size_t{labels + resources} * per_label);
  img.chwall_labels.reserve(labels, std::size_t{labels} * per_label);
  std::vector<std::uint32_t> row;
  auto make_row = [&](std::uint32_t seed, std::uint32_t n) {
    row.clear();
    for (std::uint32_t k = 0; k < n; ++k)
      row.push_back((seed * 7919u + k * 104729u) % types);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
  };
  for (std::uint32_t i = 0; i < labels; ++i) {
    make_row(i, per_label);
    img.ste_labels.add_row(row);
    make_row(i + 1, per_label);
    img.chwall_labels.add_row(row);
  }
  for (std::uint32_t r = 0; r < resources; ++r) {
    make_row(labels + r, 1);
    img.ste_labels.add_row(row);
  }
  for (std::uint32_t c = 0; c < sets; ++c) {
    make_row(3 * c + 2, 4);
    img.conflict_sets.add_row(row);
  }
  PolicyNames names;
  char buf[32];
  for (std::uint32_t t = 0; t < types; ++t) {
    std::snprintf(buf, sizeof buf, "ste_type_%05u", t);
    names.ste_types.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "cw_type_%05u", t);
    names.chwall_types.emplace_back(buf);
  }
  names.vm_labels.emplace_back("__UNLABELED__");
  for (std::uint32_t i = 1; i < labels; ++i) {
    std::snprintf(buf, sizeof buf, "vm_%05u", i);
    names.vm_labels.emplace_back(buf);
  }
  for (std::uint32_t r = 0; r < resources; ++r) {
    std::snprintf(buf, sizeof buf, "res_%05u", r);
    names.resource_labels.emplace_back(buf);
  }
  for (std::uint32_t c = 0; c < sets; ++c) {
    std::snprintf(buf, sizeof buf, "set_%05u", c);
    names.conflict_sets.emplace_back(buf);
  }
  img.names = std::move(names);
  return img;
}

TEST(CompactFormat, RoundTripsEveryFixtureWithNamesByteForByte) {
  for (const auto& model :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    const PolicyImage img = testing::compiled_image(model);
    const Bytes b = write_compact_policy(img);
    CompactPolicyInfo info;
    auto back = read_compact_policy(b, &info);
    ASSERT_TRUE(back) << model.header.name << ": " << back.error().message;
    EXPECT_EQ(*back, img) << model.header.name;
    EXPECT_EQ(write_compact_policy(*back), b) << model.header.name;
    EXPECT_EQ(info.format_minor, 0u);
    EXPECT_EQ(info.skipped_sections, 0u);

    PolicyImage nameless = img;
    nameless.names.reset();
    const Bytes nb = write_compact_policy(nameless);
    EXPECT_EQ(get32(nb, 24), 3u);  // META, STE, CHWALL
    auto nback = read_compact_policy(nb);
    ASSERT_TRUE(nback) << nback.error().message;
    EXPECT_EQ(*nback, nameless);
  }
}

TEST(CompactFormat, HeaderAndTableLayout) {
  const PolicyImage img = testing::compiled_image(testing::mytest_model());
  const Bytes b = write_compact_policy(img);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), "SHYPEPOL");
  EXPECT_EQ(b[8] | b[9] << 8, 1);    // major
  EXPECT_EQ(b[10] | b[11] << 8, 0);  // minor
  EXPECT_EQ(get32(b, 12), 64u);
  EXPECT_EQ(get64(b, 16), b.size());
  EXPECT_EQ(get32(b, 24), 4u);
  EXPECT_EQ(get32(b, 28), 0u);
  EXPECT_EQ(b.size() % 8, 0u);
  // The digest is SHA-256 of the file with the digest field zeroed.
  Bytes zeroed = b;
  std::fill(zeroed.begin() + 32, zeroed.begin() + 64, 0);
  const Sha256Digest d = sha256(zeroed);
  EXPECT_TRUE(std::equal(d.begin(), d.end(), b.begin() + 32));

  const auto secs = sections_of(b);
  ASSERT_EQ(secs.size(), 4u);
  std::size_t expected = 64 + 4 * 24;
  const std::uint32_t ids[] = {1, 2, 3, 4};
  const std::uint32_t flags[] = {0, 0, 0, 1};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(secs[i].id, ids[i]);
    EXPECT_EQ(secs[i].flags, flags[i]);
    EXPECT_EQ(secs[i].offset, expected);
    expected = (secs[i].offset + secs[i].payload.size() + 7) & ~std::size_t{7};
  }
  EXPECT_EQ(expected, b.size());

  // META: codes, version, VM labels, name.
  const Bytes& meta = secs[0].payload;
  ASSERT_EQ(meta.size(), 48u + 6u);
  EXPECT_EQ(get32(meta, 0), 1u);
  EXPECT_EQ(get32(meta, 4), 2u);
  EXPECT_EQ(get32(meta, 8), 1u);
  EXPECT_EQ(get32(meta, 12), 0u);
  EXPECT_EQ(get32(meta, 16), 7u);
  EXPECT_EQ(get32(meta, 20), 6u);
  EXPECT_EQ(std::string(meta.begin() + 48, meta.end()), "mytest");

  // STE: 7 types, 13 rows, CSR. Row 2 (A-Bank) = {0}.
  const Bytes& ste = secs[1].payload;
  EXPECT_EQ(get32(ste, 0), 7u);
  EXPECT_EQ(get32(ste, 4), 13u);
  const std::uint32_t entries = get32(ste, 8);
  EXPECT_EQ(entries, img.ste_labels.entries());
  EXPECT_EQ(ste.size(), 16u + 4u * 14u + 2u * entries);
  const std::uint32_t row2 = get32(ste, 16 + 4 * 2);
  EXPECT_EQ(get32(ste, 16 + 4 * 3), row2 + 1);
  const std::size_t types_at = 16 + 4 * 14;
  EXPECT_EQ(ste[types_at + 2 * row2], 0);
}

TEST(CompactFormat, OtherCombinationsRoundTrip) {
  PolicyImage img = testing::compiled_image(testing::example_test_model());
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::chinese_wall;
  auto back = read_compact_policy(write_compact_policy(img));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, img);

  // STE only: the compact format keeps the VM / resource split.
  PolicyImage ste_only = testing::compiled_image(testing::example_test_model());
  ste_only.secondary = PolicyCode::null;
  ste_only.primary = PolicyCode::simple_type_enforcement;
  ste_only.chwall_type_count = 0;
  ste_only.chwall_labels = TypeSets{};
  ste_only.conflict_sets = TypeSets{};
  ste_only.names->chwall_types.clear();
  ste_only.names->conflict_sets.clear();
  const Bytes b = write_compact_policy(ste_only);
  EXPECT_EQ(get32(b, 24), 3u);  // META, STE, NAMES
  back = read_compact_policy(b);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, ste_only);
}

TEST(CompactFormat, LargePolicyIsSmallAndRoundTrips) {
  const PolicyImage img = generated_image(10000, 10000, 3);
  const auto t0 = std::chrono::steady_clock::now();
  const Bytes b = write_compact_policy(img);
  const auto t1 = std::chrono::steady_clock::now();
  auto back = read_compact_policy(b);
  const auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, img);
  back = PolicyImage{};
  // Again, with the allocator warm (the first read pays for fresh pages).
  const auto t2a = std::chrono::steady_clock::now();
  back = read_compact_policy(b);
  const auto t2b = std::chrono::steady_clock::now();
  ASSERT_TRUE(back);
  PolicyImage nameless = img;
  nameless.names.reset();
  const Bytes nb = write_compact_policy(nameless);
  const auto t3 = std::chrono::steady_clock::now();
  ASSERT_TRUE(read_compact_policy(nb));
  const auto t4 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const auto xen = xen_policy_size(img);
  std::printf(
      "10000 types x 10000 labels: compact %zu bytes (%zu without names), "
      "Xen v4 %s bytes; write %.1f ms, read+validate %.1f ms cold, %.1f ms warm "
      "(%.1f ms without names)\n",
      b.size(), nb.size(), xen ? std::to_string(*xen).c_str() : "> 4 GiB", ms(t1 - t0), ms(t2 - t1),
      ms(t2b - t2a), ms(t4 - t3));
  EXPECT_LT(b.size(), 1u << 20);

  const PolicyImage mid = generated_image(1000, 1000, 3);
  const Bytes mb = write_compact_policy(mid);
  std::printf("1000 types x 1000 labels: compact %zu bytes, Xen v4 %llu bytes\n", mb.size(),
              static_cast<unsigned long long>(*xen_policy_size(mid)));
  const Bytes mytest_compact = write_compact_policy(testing::compiled_image(testing::mytest_model()));
  const Bytes mytest_xen = write_xen_policy(testing::compiled_image(testing::mytest_model()));
  std::printf("mytest: compact %zu bytes (with names), Xen v4 %zu bytes\n", mytest_compact.size(),
              mytest_xen.size());
}

// ---- header ----------------------------------------------------------------

class CompactRejects : public ::testing::Test {
 protected:
  void SetUp() override {
    img = testing::compiled_image(testing::mytest_model());
    good = write_compact_policy(img);
    secs = sections_of(good);
  }
  std::size_t at(compact::SectionId id) const { return section(secs, id).offset; }

  PolicyImage img;
  Bytes good;
  std::vector<Section> secs;
};

TEST_F(CompactRejects, MagicAndHeader) {
  Bytes b = good;
  b[0] = 'X';
  EXPECT_EQ(error_of(b), "malformed compact policy: magic (offset 0x0) is not \"SHYPEPOL\"");
  EXPECT_EQ(
      error_of(Bytes(good.begin(), good.begin() + 63)),
      "malformed compact policy: header (offset 0x0, 64 bytes) is truncated: the buffer has 63 bytes");
  b = good;
  le16(b, 8, 2);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: format version (offset 0x8) is 2.0; this build reads 1.x");
  EXPECT_EQ(code_of(sealed(b)), Errc::unsupported);
  b = good;
  le32(b, 12, 72);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: header size (offset 0xc) is 72, expected 64");
  b = good;
  le64(b, 16, good.size() + 8);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: total length (offset 0x10) is " +
                                     std::to_string(good.size() + 8) + " but the buffer has " +
                                     std::to_string(good.size()) + " bytes");
  b = good;
  le32(b, 28, 2);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: header flags (offset 0x1c) are 0x2; no flags are defined");
}

TEST_F(CompactRejects, Digest) {
  Bytes b = good;
  b[at(compact::SectionId::meta) + 8] ^= 1;  // xml version major, otherwise valid
  const std::string e = error_of(b);
  EXPECT_EQ(
      e.rfind("malformed compact policy: SHA-256 (offset 0x20) is " +
                  to_hex(std::span(good).subspan(32, 32)) + " but the file's contents hash to ",
              0),
      0u)
      << e;
  EXPECT_TRUE(read_compact_policy(sealed(b)));  // resealed: a different, valid policy
  b = good;
  b[40] ^= 0x80;  // the digest itself
  EXPECT_NE(error_of(b).find("SHA-256 (offset 0x20)"), std::string::npos);
}

TEST_F(CompactRejects, SectionCountAndTable) {
  Bytes b = good;
  le32(b, 24, 0);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: section count (offset 0x18) is 0; it must be 1..64");
  le32(b, 24, 65);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: section count (offset 0x18) is 65; it must be 1..64");
  EXPECT_EQ(code_of(sealed(b)), Errc::limit_exceeded);
  le32(b, 24, 64);
  EXPECT_EQ(
      error_of(sealed(b)),
      "malformed compact policy: section table (offset 0x40, 64 entries) extends past the end of the file");

  // Duplicate and out-of-order ids.
  std::vector<Section> v = secs;
  v.insert(v.begin() + 2, v[1]);
  EXPECT_EQ(
      error_of(assemble(v)),
      "malformed compact policy: section table entry 2 (offset 0x70): duplicate section id 2 (STE)");
  v = secs;
  std::swap(v[1], v[2]);
  EXPECT_EQ(
      error_of(assemble(v)),
      "malformed compact policy: section table entry 2 (offset 0x70) has id 2 after id 3; ids must be ascending");

  b = good;
  le32(b, 64 + 4, 6);
  EXPECT_EQ(
      error_of(sealed(b)),
      "malformed compact policy: section table entry 0 (offset 0x40) has flags 0x6; only bit 0 (optional) is defined");
  le32(b, 64 + 4, 1);
  EXPECT_EQ(
      error_of(sealed(b)),
      "malformed compact policy: section table entry 0 (offset 0x40) (META) has flags 0x1, expected 0x0");
  b = good;
  le32(b, 64 + 3 * 24 + 4, 0);
  EXPECT_EQ(
      error_of(sealed(b)),
      "malformed compact policy: section table entry 3 (offset 0x88) (NAMES) has flags 0x0, expected 0x1");

  b = good;
  le64(b, 64 + 24 + 8, at(compact::SectionId::ste) + 8);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: section table entry 1 (offset 0x58) has offset " +
                hx(at(compact::SectionId::ste) + 8) + ", expected " +
                hx(at(compact::SectionId::ste)) +
                " (sections follow each other, each aligned to 8 bytes)");
  b = good;
  le64(b, 64 + 3 * 24 + 16, good.size());
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: section table entry 3 (offset 0x88) (offset " +
                hx(at(compact::SectionId::names)) + ", " + std::to_string(good.size()) +
                " bytes) extends past the end of the file");
}

TEST_F(CompactRejects, PaddingAndTrailingBytes) {
  // META is 54 bytes: two padding bytes follow it.
  const std::size_t meta_end = at(compact::SectionId::meta) + 54;
  Bytes b = good;
  b[meta_end + 1] = 1;
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: padding after section 0 (offset " +
                                     hx(meta_end) + ") is not zero");
  b = good;
  b.insert(b.end(), 8, 0);
  le64(b, 16, b.size());
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: file length " +
                                     std::to_string(b.size()) +
                                     " is not the end of the last section padded to 8 bytes (" +
                                     std::to_string(good.size()) + ")");
}

TEST_F(CompactRejects, UnknownAndMissingSections) {
  std::vector<Section> v = secs;
  v.push_back({9, 1, {1, 2, 3}});
  CompactPolicyInfo info;
  auto r = read_compact_policy(assemble(v, 1), &info);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, img);
  EXPECT_EQ(info.skipped_sections, 1u);
  EXPECT_EQ(info.format_minor, 1u);

  v.back().flags = 0;
  EXPECT_EQ(
      error_of(assemble(v)),
      "malformed compact policy: section table entry 4 (offset 0xa0) has unknown id 9 and is not flagged optional");
  EXPECT_EQ(code_of(assemble(v)), Errc::unsupported);

  v = secs;
  v.erase(v.begin());
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: the required META section is missing");
  v = secs;
  v.erase(v.begin() + 1);
  EXPECT_EQ(error_of(assemble(v)), "malformed compact policy: the required STE section is missing");
  v = secs;
  v.erase(v.begin() + 2);
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: the required CHWALL section is missing");

  // A CHWALL section in a policy whose codes say STE only.
  v = secs;
  le32(v[0].payload, 0, 2);
  le32(v[0].payload, 4, 0);
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: section 2 is CHWALL but the policy has no CHWALL component");
}

TEST_F(CompactRejects, Meta) {
  const std::size_t m = at(compact::SectionId::meta);
  Bytes b = good;
  le32(b, m, 7);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: META primary policy code (offset " + hx(m) +
                ") is 7, not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  b = good;
  le32(b, m + 4, 15);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: META secondary policy code (offset " + hx(m + 4) +
                ") is 15, not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  b = good;
  le32(b, m + 4, 1);
  EXPECT_EQ(
      error_of(sealed(b)),
      "malformed compact policy: META policy combination (offset " + hx(m) +
          ") CHINESE WALL + CHINESE WALL is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  b = good;
  le32(b, m + 16, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: META VM label count (offset " +
                                     hx(m + 16) + ") is 65537, above the limit of 65536");
  b = good;
  le32(b, m + 16, 8);  // one VM label too many for the 7 CHWALL rows
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: CHWALL has 7 label rows but the policy has 8 VM labels");
  b = good;
  le32(b, m + 20, 0);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: META policy name length (offset " + hx(m + 20) + ") is 0");
  le32(b, m + 20, 4097);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: META policy name length (offset " +
                                     hx(m + 20) + ") is 4097, above the limit of 4096");
  EXPECT_EQ(code_of(sealed(b)), Errc::limit_exceeded);
  le32(b, m + 20, 5);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: META section (offset " + hx(m) +
                ", 54 bytes) does not have the length its counts give (53 bytes)");
  b = good;
  le32(b, m + 44, 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: META reserved field (offset " +
                                     hx(m + 44) + ") is 0x1, expected 0");
  b = good;
  b[m + 50] = ' ';
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: META policy name (offset " + hx(m + 48) +
                ") has byte 32; only printable ASCII without spaces is allowed");
  std::vector<Section> v = secs;
  v[0].payload.resize(40);
  EXPECT_EQ(
      error_of(assemble(v)),
      "malformed compact policy: META section (offset 0xa0, 40 bytes) is shorter than its 48-byte fixed part");
}

TEST_F(CompactRejects, SteSection) {
  const std::size_t s = at(compact::SectionId::ste);
  const std::uint32_t entries = get32(good, s + 8);
  const std::size_t offsets = s + 16;
  const std::size_t types = offsets + 4 * 14;
  Bytes b = good;
  le32(b, s, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE type count (offset " + hx(s) +
                                     ") is 65537, above the limit of 65536");
  b = good;
  le32(b, s + 4, 70000);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE label count (offset " + hx(s + 4) +
                                     ") is 70000, above the limit of 65536");
  b = good;
  le32(b, s + 12, 3);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE reserved field (offset " +
                                     hx(s + 12) + ") is 0x3, expected 0");
  b = good;
  le32(b, s + 8, entries + 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE section (offset " + hx(s) + ", " +
                                     std::to_string(16 + 56 + 2 * entries) +
                                     " bytes) does not have the length its counts give (" +
                                     std::to_string(16 + 56 + 2 * (entries + 1)) + " bytes)");
  // A huge entry count is refused by the length check, before any reserve().
  le32(b, s + 8, 0xffffffff);
  EXPECT_NE(error_of(sealed(b)).find("does not have the length its counts give"),
            std::string::npos);
  b = good;
  le32(b, offsets, 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE label offsets[0] (offset " +
                                     hx(offsets) + ") is 1, expected 0");
  b = good;
  le32(b, offsets + 4 * 3, get32(good, offsets + 4 * 2) - 1);  // row 2 ends before it starts
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: STE label offsets[3] (offset " + hx(offsets + 12) + ") is " +
                std::to_string(get32(good, offsets + 8) - 1) + "; offsets must be ascending from " +
                std::to_string(get32(good, offsets + 8)) + " and at most the entry count " +
                std::to_string(entries));
  b = good;
  le32(b, offsets + 4 * 13, entries - 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE label offsets[13] (offset " +
                                     hx(offsets + 52) + ") is " + std::to_string(entries - 1) +
                                     ", expected the entry count " + std::to_string(entries));
  b = good;
  le16(b, types, 7);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE label row 0 type (offset " +
                                     hx(types) + ") is 7, not below the type count 7");
  // Row 1 (SystemManagement) has all 7 types: make its second entry equal
  // to its first.
  b = good;
  const std::size_t row1 = types + 2 * get32(good, offsets + 4);
  le16(b, row1 + 2, 0);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: STE label row 1 type (offset " +
                                     hx(row1 + 2) +
                                     ") is 0 after 0; types must be strictly ascending");
  std::vector<Section> v = secs;
  v[1].payload.resize(12);
  EXPECT_NE(error_of(assemble(v))
                .find("STE section (offset 0xd8, 12 bytes) is shorter than its 16-byte fixed part"),
            std::string::npos);
}

TEST_F(CompactRejects, ChwallSection) {
  const std::size_t c = at(compact::SectionId::chwall);
  const std::uint32_t label_entries = get32(good, c + 8);
  const std::size_t set_offsets = c + 24 + 4 * 8;
  const std::size_t set_types = set_offsets + 4 * 3 + 2 * label_entries;
  Bytes b = good;
  le32(b, c, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: CHWALL type count (offset " + hx(c) +
                                     ") is 65537, above the limit of 65536");
  b = good;
  le32(b, c + 4, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: CHWALL label count (offset " +
                                     hx(c + 4) + ") is 65537, above the limit of 65536");
  b = good;
  le32(b, c + 12, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: CHWALL conflict set count (offset " +
                                     hx(c + 12) + ") is 65537, above the limit of 65536");
  b = good;
  le32(b, c + 20, 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: CHWALL reserved field (offset " +
                                     hx(c + 20) + ") is 0x1, expected 0");
  b = good;
  le32(b, c + 16, get32(good, c + 16) + 1);
  EXPECT_NE(error_of(sealed(b)).find("CHWALL section (offset " + hx(c)), std::string::npos);
  b = good;
  le32(b, set_offsets + 4, 0);  // set 0 empty, set 1 = all six entries {0, 4, 6, 1, ...}
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: CHWALL conflict set row 1 type (offset " +
                hx(set_types + 6) + ") is 1 after 6; types must be strictly ascending");
  b = good;
  le16(b, set_types, 9);
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: CHWALL conflict set row 0 type (offset " + hx(set_types) +
                ") is 9, not below the type count 7");
  std::vector<Section> v = secs;
  v[2].payload.resize(20);
  EXPECT_EQ(error_of(assemble(v)), "malformed compact policy: CHWALL section (offset " + hx(c) +
                                       ", 20 bytes) is shorter than its 24-byte fixed part");
  b = good;
  le32(b, set_offsets + 8, 5);  // the last offset must equal the entry count (6)
  EXPECT_EQ(error_of(sealed(b)),
            "malformed compact policy: CHWALL conflict set offsets[2] (offset " +
                hx(set_offsets + 8) + ") is 5, expected the entry count 6");
}

// Relative offsets of every NAMES entry, in list order.
std::vector<std::size_t> name_entries(const Bytes& payload) {
  std::vector<std::size_t> out;
  std::size_t total = 0;
  for (std::size_t i = 0; i < 5; ++i)
    total += get32(payload, 4 * i);
  std::size_t at = 24;
  for (std::size_t i = 0; i < total; ++i) {
    out.push_back(at);
    at += 4 + static_cast<std::size_t>(payload[at + 2] | payload[at + 3] << 8);
  }
  return out;
}

TEST_F(CompactRejects, NamesSection) {
  const std::size_t n = at(compact::SectionId::names);
  const Bytes& payload = section(secs, compact::SectionId::names).payload;
  const std::vector<std::size_t> entries = name_entries(payload);
  ASSERT_EQ(entries.size(), 7u + 7u + 7u + 6u + 2u);
  Bytes b = good;
  le32(b, n, 65537);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: NAMES STE type count (offset " + hx(n) +
                                     ") is 65537, above the limit of 65536");
  b = good;
  le32(b, n + 20, 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: NAMES reserved field (offset " +
                                     hx(n + 20) + ") is 0x1, expected 0");
  b = good;
  le32(b, n + 12, 60000);  // resource labels: the section cannot hold them
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: NAMES section (offset " + hx(n) + ", " +
                                     std::to_string(payload.size()) +
                                     " bytes) is too short for its 60023 names");
  std::vector<Section> short_names = secs;
  short_names[3].payload.resize(16);
  EXPECT_EQ(error_of(assemble(short_names)),
            "malformed compact policy: NAMES section (offset " + hx(n) +
                ", 16 bytes) is shorter than its 24-byte fixed part");
  // First STE type "A-Bank": shared 0, suffix 6.
  const std::size_t first = n + entries[0];
  b = good;
  le16(b, first, 1);
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: NAMES STE type 0 (offset " + hx(first) +
                                     ") shares 1 bytes with a previous name of 0 bytes");
  b = good;
  b[first + 4 + 1] = ' ';
  EXPECT_EQ(error_of(sealed(b)), "malformed compact policy: NAMES STE type 0 (offset " +
                                     hx(first + 4) +
                                     ") is not UTF-8 without control characters and whitespace");
  b = good;
  b[first + 4 + 1] = 0xc3;  // a lone UTF-8 lead byte
  EXPECT_NE(error_of(sealed(b)).find("is not UTF-8"), std::string::npos);

  // Second STE type "A-Bank.MarketAnalysis" shares 6 bytes with "A-Bank";
  // coding it as 5 shared + "k.MarketAnalysis" is valid but not canonical.
  std::vector<Section> v = secs;
  Bytes& p = v[3].payload;
  le16(p, entries[1], 5);
  le16(p, entries[1] + 2, 16);
  p.insert(p.begin() + static_cast<std::ptrdiff_t>(entries[1] + 4), 'k');
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: NAMES STE type 1 (offset " + hx(n + entries[1]) +
                ") shares 5 bytes with the previous name but could share more");
  // The last entry (conflict set 1: "RER" after "RER", 4 bytes) cut short.
  v = secs;
  le16(v[3].payload, entries.back() + 2, 5);
  EXPECT_EQ(error_of(assemble(v)), "malformed compact policy: NAMES conflict set 1 (offset " +
                                       hx(n + entries.back()) +
                                       ") (5 bytes) extends past the end of the section");
  v = secs;
  v[3].payload.resize(v[3].payload.size() - 2);
  EXPECT_EQ(error_of(assemble(v)), "malformed compact policy: NAMES conflict set 1 (offset " +
                                       hx(n + entries.back()) + ") is truncated");
  v = secs;
  v[3].payload.push_back(0);
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: NAMES section has 1 bytes after its last name (offset " +
                hx(n + payload.size()) + ")");
  // One conflict set name fewer than conflict sets.
  v = secs;
  le32(v[3].payload, 16, 1);
  v[3].payload.resize(v[3].payload.size() - 4);
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: names: 1 conflict set names for 2 conflict sets");
  // VM label 3 "A-Bank.MarketAnalysis" recoded as "A-Bank" (shared 6, no
  // suffix): canonical, but a duplicate of VM label 2.
  v = secs;
  Bytes& q = v[3].payload;
  const std::size_t vm3 = entries[7 + 7 + 3];
  ASSERT_EQ(q[vm3], 6);
  const std::size_t vm4 = entries[7 + 7 + 4];  // "A-Bank.SecurityUnderwriting": shares "A-Bank."
  ASSERT_EQ(q[vm4], 7);
  q[vm4] = 6;  // now it follows "A-Bank": share 6, suffix gains the '.'
  q[vm4 + 2] = static_cast<std::uint8_t>(q[vm4 + 2] + 1);
  q.insert(q.begin() + static_cast<std::ptrdiff_t>(vm4 + 4), '.');
  const std::size_t suffix = q[vm3 + 2];
  le16(q, vm3 + 2, 0);
  q.erase(q.begin() + static_cast<std::ptrdiff_t>(vm3 + 4),
          q.begin() + static_cast<std::ptrdiff_t>(vm3 + 4 + suffix));
  EXPECT_EQ(error_of(assemble(v)),
            "malformed compact policy: names: VM label name 'A-Bank' appears twice");
}

// ---- robustness ------------------------------------------------------------

TEST(CompactRobustness, EveryTruncationIsRejected) {
  const Bytes full = write_compact_policy(testing::compiled_image(testing::mytest_model()));
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(read_compact_policy(cut)) << n;
    if (n >= 64) {  // claim the truncated length and reseal: the table checks see it
      le64(cut, 16, n);
      EXPECT_FALSE(read_compact_policy(sealed(cut))) << n;
    }
  }
}

TEST(CompactRobustness, EveryByteFlipIsRejectedOrCanonical) {
  const Bytes full = write_compact_policy(testing::compiled_image(testing::example_test_model()));
  for (std::size_t i = 0; i < full.size(); ++i) {
    if (i >= 32 && i < 64) continue;  // the digest
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
      Bytes b = full;
      b[i] ^= mask;
      EXPECT_FALSE(read_compact_policy(b)) << i;  // digest mismatch
      b = sealed(b);
      CompactPolicyInfo info;
      auto img = read_compact_policy(b, &info);
      if (img) {
        EXPECT_TRUE(validate_image(*img)) << i;
        if (info.format_minor == 0 && info.skipped_sections == 0) {
          EXPECT_EQ(write_compact_policy(*img), b) << i;
        }
      }
    }
  }
}

TEST(CompactWriter, RefusesInvalidImages) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.names->vm_labels.push_back("extra");
  EXPECT_THROW((void)write_compact_policy(img), std::invalid_argument);
  img = testing::compiled_image(testing::default_model());
  img.names->vm_labels[1] = img.names->vm_labels[0];
  EXPECT_THROW((void)write_compact_policy(img), std::invalid_argument);
}

}  // namespace
}  // namespace shype::acm
