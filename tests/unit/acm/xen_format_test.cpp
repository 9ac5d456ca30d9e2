#include "acm/xen_format.hpp"

#include <gtest/gtest.h>

#include "acm/binary_policy.hpp"
#include "acm/compiler.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using Bytes = std::vector<std::uint8_t>;

void add_row_to(TypeSets& sets, std::vector<std::uint32_t> row) {
  sets.add_row(row);
}

// 2 STE types, 1 CHWALL type, 2 VM labels, 1 resource label, 1 conflict set.
PolicyImage tiny_image() {
  PolicyImage img;
  img.name = "tiny";
  img.xml_version = {1, 2};
  for (std::uint8_t i = 0; i < 20; ++i)
    img.xml_sha1[i] = i;
  img.primary = PolicyCode::chinese_wall;
  img.secondary = PolicyCode::simple_type_enforcement;
  img.chwall_type_count = 1;
  add_row_to(img.chwall_labels, {});   // 0: unlabeled
  add_row_to(img.chwall_labels, {0});  // 1: bootstrap
  add_row_to(img.conflict_sets, {0});
  img.ste_type_count = 2;
  add_row_to(img.ste_labels, {1});     // VM 0
  add_row_to(img.ste_labels, {0, 1});  // VM 1
  add_row_to(img.ste_labels, {0});     // resource
  img.vm_label_count = 2;
  return img;
}

void be32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    b.push_back(static_cast<std::uint8_t>(v >> shift));
}
void be16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

// The expected bytes of tiny_image(), field by field from reference
// xen-acm-hypervisor.md 2.2-2.5 and xen-acm-tools.md 2.6.
Bytes tiny_golden() {
  Bytes b;
  // Header (60 bytes).
  be32(b, 0x0001debc);  // magic
  be32(b, 4);           // policy format version
  be32(b, 156);         // len = 60 + 16 + 48 + 32
  be32(b, 60);          // policy reference offset
  be32(b, 1);           // primary: CHINESE WALL
  be32(b, 76);          // primary offset = 60 + 16
  be32(b, 2);           // secondary: SIMPLE TYPE ENFORCEMENT
  be32(b, 124);         // secondary offset = 76 + 48
  be32(b, 1);           // xml version major
  be32(b, 2);           // xml version minor
  for (std::uint8_t i = 0; i < 20; ++i)
    b.push_back(i);  // SHA-1
  // Policy reference: strlen + 1, "tiny", NUL, pad 4 + 5 -> 16.
  be32(b, 5);
  for (char c : std::string("tiny"))
    b.push_back(static_cast<std::uint8_t>(c));
  b.push_back(0);
  b.insert(b.end(), 7, 0);
  // CHWALL: 9 u32, label matrix 2 x 1, conflict matrix 1 x 1, pad 42 -> 48.
  be32(b, 1);   // version
  be32(b, 1);   // code
  be32(b, 1);   // types
  be32(b, 2);   // ssidrefs
  be32(b, 1);   // conflict sets
  be32(b, 36);  // ssid offset
  be32(b, 40);  // conflict sets offset = 36 + 2*2*1
  be32(b, 0);   // running types offset
  be32(b, 0);   // conflict aggregate offset
  be16(b, 0);   // label 0
  be16(b, 1);   // label 1 has type 0
  be16(b, 1);   // conflict set 0 = {0}
  b.insert(b.end(), 6, 0);
  // STE: 5 u32, matrix 3 x 2, 32 bytes (no padding needed).
  be32(b, 1);              // version
  be32(b, 2);              // code
  be32(b, 2);              // types
  be32(b, 3);              // ssidrefs
  be32(b, 20);             // ssid offset
  be16(b, 0), be16(b, 1);  // VM 0: {1}
  be16(b, 1), be16(b, 1);  // VM 1: {0, 1}
  be16(b, 1), be16(b, 0);  // resource: {0}
  return b;
}

constexpr std::size_t kTinyChwall = 76;
constexpr std::size_t kTinySte = 124;

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_be16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
std::uint32_t get_be32(const Bytes& b, std::size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 |
         std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}

// Inserts n zero bytes at `at` and moves len and the section offsets behind it.
Bytes insert_zeros(Bytes b, std::size_t at, std::size_t n) {
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), n, 0);
  put_be32(b, 8, static_cast<std::uint32_t>(b.size()));
  for (std::size_t field : {std::size_t{20}, std::size_t{28}}) {
    if (get_be32(b, field) >= at) put_be32(b, field, get_be32(b, field) + static_cast<std::uint32_t>(n));
  }
  return b;
}

std::string xen_error_of(const Bytes& b) {
  auto r = read_xen_policy(b);
  if (r) return "<accepted>";
  return r.error().message;
}

Errc xen_code_of(const Bytes& b) {
  auto r = read_xen_policy(b);
  return r ? Errc::invalid_argument : r.error().code;
}

PolicyImage without_names(PolicyImage img) {
  img.names.reset();
  return img;
}

TEST(XenFormat, GoldenBytesOfATinyPolicy) {
  EXPECT_EQ(write_xen_policy(tiny_image()), tiny_golden());
  EXPECT_EQ(xen_policy_size(tiny_image()), 156u);
}

TEST(XenFormat, GoldenBytesReadBack) {
  XenPolicyInfo info;
  auto img = read_xen_policy(tiny_golden(), &info);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(*img, tiny_image());
  EXPECT_EQ(info.format_version, 4u);
  EXPECT_FALSE(info.has_counter_arrays);
}

TEST(XenFormat, MytestHeaderAndMatrices) {
  const CompiledPolicy c = testing::compiled_policy(testing::mytest_model());
  const Bytes b = write_xen_policy(c.image);
  ASSERT_EQ(b.size(), 452u);  // 60 + 16 + 168 + 208
  EXPECT_EQ(get_be32(b, 0), 0x0001debcu);
  EXPECT_EQ(get_be32(b, 4), 4u);
  EXPECT_EQ(get_be32(b, 8), 452u);
  EXPECT_EQ(get_be32(b, 12), 60u);
  EXPECT_EQ(get_be32(b, 16), 1u);    // CHWALL primary
  EXPECT_EQ(get_be32(b, 20), 76u);   // 60 + roundup8(4 + 7)
  EXPECT_EQ(get_be32(b, 24), 2u);    // STE secondary
  EXPECT_EQ(get_be32(b, 28), 244u);  // 76 + roundup8(36 + 2*7*7 + 2*2*7) = 76 + 168
  EXPECT_EQ(get_be32(b, 32), 1u);    // version 1.0
  EXPECT_EQ(get_be32(b, 36), 0u);
  EXPECT_EQ(get_be32(b, 60), 7u);  // "mytest" + NUL
  EXPECT_EQ(std::string(b.begin() + 64, b.begin() + 70), "mytest");

  const std::size_t cw = 76;
  EXPECT_EQ(get_be32(b, cw + 8), 7u);   // CHWALL types
  EXPECT_EQ(get_be32(b, cw + 12), 7u);  // ssidrefs: __UNLABELED__ + 6 VM labels
  EXPECT_EQ(get_be32(b, cw + 16), 2u);  // conflict sets
  EXPECT_EQ(get_be32(b, cw + 20), 36u);
  EXPECT_EQ(get_be32(b, cw + 24), 134u);  // 36 + 2*7*7
  EXPECT_EQ(get_be32(b, cw + 28), 0u);
  EXPECT_EQ(get_be32(b, cw + 32), 0u);
  // The A-Bank VM label is index 2 (tools 5.2); its only CHWALL type is A-Bank
  // (type 0 in sorted order).
  const std::size_t a_bank_row = cw + 36 + 2 * 7 * 2;
  for (std::size_t t = 0; t < 7; ++t) {
    EXPECT_EQ(b[a_bank_row + 2 * t], 0) << t;
    EXPECT_EQ(b[a_bank_row + 2 * t + 1], t == 0 ? 1 : 0) << t;
  }
  // Padding of the CHWALL block: 36 + 98 + 28 = 162 bytes, 6 zero bytes.
  for (std::size_t i = cw + 162; i < cw + 168; ++i)
    EXPECT_EQ(b[i], 0) << i;

  const std::size_t ste = 244;
  EXPECT_EQ(get_be32(b, ste + 8), 7u);    // STE types
  EXPECT_EQ(get_be32(b, ste + 12), 13u);  // 7 VM rows + 6 resource rows
  EXPECT_EQ(get_be32(b, ste + 16), 20u);
  // Resource label A-Bank is STE row 7 (ssidref 0x00070000): STE type A-Bank.
  const std::size_t res_a_bank = ste + 20 + 2 * 7 * 7;
  EXPECT_EQ(b[res_a_bank + 1], 1);
  for (std::size_t t = 1; t < 7; ++t)
    EXPECT_EQ(b[res_a_bank + 2 * t + 1], 0);
  // 20 + 2*13*7 = 202 bytes of STE block, padded with 6 zeros to 208.
  for (std::size_t i = ste + 202; i < ste + 208; ++i)
    EXPECT_EQ(b[i], 0) << i;
}

TEST(XenFormat, RoundTripsEveryFixture) {
  for (const auto& model :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    const CompiledPolicy c = testing::compiled_policy(model);
    const Bytes b = write_xen_policy(c.image);
    auto back = read_xen_policy(b);
    ASSERT_TRUE(back) << model.header.name << ": " << back.error().message;
    EXPECT_EQ(*back, without_names(c.image)) << model.header.name;
    EXPECT_EQ(write_xen_policy(*back), b) << model.header.name;
  }
}

TEST(XenFormat, OtherCombinationsRoundTrip) {
  // STE primary, CHWALL secondary (0x12).
  PolicyImage swapped = tiny_image();
  swapped.primary = PolicyCode::simple_type_enforcement;
  swapped.secondary = PolicyCode::chinese_wall;
  Bytes b = write_xen_policy(swapped);
  EXPECT_EQ(get_be32(b, 16), 2u);
  EXPECT_EQ(get_be32(b, 20), 76u);
  EXPECT_EQ(get_be32(b, 28), 76u + 32u);  // STE block first
  auto back = read_xen_policy(b);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, swapped);

  // CHWALL + NULL.
  PolicyImage chwall_only = tiny_image();
  chwall_only.secondary = PolicyCode::null;
  chwall_only.ste_type_count = 0;
  chwall_only.ste_labels = TypeSets{};
  b = write_xen_policy(chwall_only);
  EXPECT_EQ(get_be32(b, 28), get_be32(b, 8));
  back = read_xen_policy(b);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, chwall_only);
}

TEST(XenFormat, SteOnlyPolicyHasOnlyTheSteBlock) {
  PolicyImage img = tiny_image();
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::null;
  img.chwall_type_count = 0;
  img.chwall_labels = TypeSets{};
  img.conflict_sets = TypeSets{};
  const Bytes b = write_xen_policy(img);
  ASSERT_EQ(b.size(), 60u + 16u + 32u);
  EXPECT_EQ(get_be32(b, 16), 2u);
  EXPECT_EQ(get_be32(b, 20), 76u);
  EXPECT_EQ(get_be32(b, 24), 0u);
  EXPECT_EQ(get_be32(b, 28), 108u);    // secondary offset == len
  EXPECT_EQ(get_be32(b, 76 + 4), 2u);  // the STE block
  auto back = read_xen_policy(b);
  ASSERT_TRUE(back) << back.error().message;
  // The format cannot say where VM rows end: every STE row reads as a VM row.
  EXPECT_EQ(back->vm_label_count, 3u);
  img.vm_label_count = 3;
  EXPECT_EQ(*back, img);
}

TEST(XenFormat, AcceptsVersion3) {
  Bytes b = tiny_golden();
  b.erase(b.begin() + 40, b.begin() + 60);  // no SHA-1
  put_be32(b, 4, 3);
  put_be32(b, 8, 136);
  put_be32(b, 12, 40);
  put_be32(b, 20, 56);
  put_be32(b, 28, 104);
  XenPolicyInfo info;
  auto img = read_xen_policy(b, &info);
  ASSERT_TRUE(img) << img.error().message;
  PolicyImage expected = tiny_image();
  expected.xml_sha1 = {};
  EXPECT_EQ(*img, expected);
  EXPECT_EQ(info.format_version, 3u);
}

TEST(XenFormat, AcceptsHypervisorDumpCounters) {
  Bytes b = tiny_golden();
  put_be32(b, kTinyChwall + 28, 42);  // running types: 36 + 4 + 2
  put_be32(b, kTinyChwall + 32, 44);  // aggregate: 42 + 2
  put_be16(b, kTinyChwall + 42, 3);   // counter values are ignored
  put_be16(b, kTinyChwall + 44, 1);
  XenPolicyInfo info;
  auto img = read_xen_policy(b, &info);
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(*img, tiny_image());
  EXPECT_TRUE(info.has_counter_arrays);
}

// ---- every reader check, one corrupted field each --------------------------

TEST(XenFormatRejects, ShortOrForeignHeaders) {
  EXPECT_EQ(xen_error_of({}), "malformed binary policy: magic (offset 0x0) is truncated");
  EXPECT_EQ(xen_error_of({0x00, 0x01, 0xde}),
            "malformed binary policy: magic (offset 0x0) is truncated");
  Bytes b = tiny_golden();
  b[3] = 0xbd;
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: magic (offset 0x0) is 0x1debd, expected 0x1debc");
  const Bytes golden = tiny_golden();
  EXPECT_EQ(xen_error_of(Bytes(golden.begin(), golden.begin() + 6)),
            "malformed binary policy: policy format version (offset 0x4) is truncated");
  b = tiny_golden();
  put_be32(b, 4, 5);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy format version (offset 0x4) is 5; only versions 3 and 4 are supported");
  EXPECT_EQ(xen_code_of(b), Errc::unsupported);
  EXPECT_EQ(
      xen_error_of(Bytes(golden.begin(), golden.begin() + 59)),
      "malformed binary policy: header (offset 0x0, 60 bytes) is truncated: the buffer has 59 bytes");
}

TEST(XenFormatRejects, LengthAndReferenceOffset) {
  Bytes b = tiny_golden();
  put_be32(b, 8, 160);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: total length (offset 0x8) is 160 but the buffer has 156 bytes");
  b = tiny_golden();
  b.push_back(0);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: total length (offset 0x8) is 156 but the buffer has 157 bytes");
  b = tiny_golden();
  put_be32(b, 12, 64);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy reference offset (offset 0xc) is 64, expected 60 (right after the header)");
}

TEST(XenFormatRejects, PolicyCodes) {
  Bytes b = tiny_golden();
  put_be32(b, 16, 15);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: primary policy code (offset 0x10) is 15, not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  b = tiny_golden();
  put_be32(b, 24, 3);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: secondary policy code (offset 0x18) is 3, not one of 0 (NULL), 1 (CHINESE WALL), 2 (SIMPLE TYPE ENFORCEMENT)");
  b = tiny_golden();
  put_be32(b, 24, 1);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy combination (primary 1 (CHINESE WALL) (offset 0x10), secondary 1 (CHINESE WALL) (offset 0x18)) is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  b = tiny_golden();
  put_be32(b, 16, 0);
  EXPECT_NE(xen_error_of(b).find("policy combination (primary 0 (NULL)"), std::string::npos);
}

TEST(XenFormatRejects, SectionOffsets) {
  Bytes b = tiny_golden();
  put_be32(b, 20, 60);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: primary buffer offset (offset 0x14) is 0x3c; it must lie after the policy reference (0x3c) and before the end of the policy (0x9c)");
  put_be32(b, 20, 156);
  EXPECT_NE(xen_error_of(b).find("primary buffer offset (offset 0x14) is 0x9c"), std::string::npos);
  b = tiny_golden();
  put_be32(b, 28, 76);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: secondary buffer offset (offset 0x1c) is 0x4c; it must lie after the primary buffer (0x4c) and before the end of the policy (0x9c)");
  put_be32(b, 28, 156);
  EXPECT_NE(xen_error_of(b).find("secondary buffer offset (offset 0x1c) is 0x9c"), std::string::npos);
  b = tiny_golden();
  put_be32(b, 24, 0);  // NULL secondary must end the policy
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: secondary buffer offset (offset 0x1c) is 0x7c; a NULL secondary must have offset == policy length (0x9c)");
  b = tiny_golden();
  put_be32(b, 28, 120);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: primary buffer (offset 0x4c, 44 bytes) is not a multiple of 8 bytes long");
  b = tiny_golden();
  put_be32(b, 20, 72);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy reference section (offset 0x3c, 12 bytes) is not a multiple of 8 bytes long");
}

TEST(XenFormatRejects, PolicyReference) {
  Bytes b = tiny_golden();
  put_be32(b, 60, 1);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy reference length (offset 0x3c) is 1: the policy name is empty");
  put_be32(b, 60, 4098);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy reference length (offset 0x3c) is 4098, above the limit of 4096 + 1");
  EXPECT_EQ(xen_code_of(b), Errc::limit_exceeded);
  put_be32(b, 60, 13);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy name (offset 0x40, 13 bytes) extends past the policy reference section (16 bytes)");
  b = tiny_golden();
  b[65] = 0;
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy name (offset 0x40) has a NUL byte at offset 0x41 before its terminator");
  b = tiny_golden();
  b[65] = 0x07;
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy name (offset 0x40) has byte 0x7 at offset 0x41; only printable ASCII without spaces is allowed");
  b = tiny_golden();
  b[65] = ' ';
  EXPECT_NE(xen_error_of(b).find("has byte 0x20 at offset 0x41"), std::string::npos);
  b = tiny_golden();
  put_be32(b, 60, 4);  // "tin" + 'y' where the NUL should be
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy name (offset 0x40) is not NUL-terminated (byte 0x79 at offset 0x43)");
  b = tiny_golden();
  put_be32(b, 60, 3);  // "ti" + 'n': also not terminated
  EXPECT_NE(xen_error_of(b).find("is not NUL-terminated (byte 0x6e at offset 0x42)"),
            std::string::npos);
  b = tiny_golden();
  b[70] = 1;
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: policy reference padding (offset 0x45) is not zero");
  b = insert_zeros(tiny_golden(), 76, 8);  // reference section 24 bytes
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: policy reference section (offset 0x3c, 24 bytes) is not the name padded to a multiple of 8 bytes (16 bytes)");
}

TEST(XenFormatRejects, ChwallHeader) {
  const std::size_t c = kTinyChwall;
  Bytes b = tiny_golden();
  put_be32(b, c, 2);
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: CHWALL policy version (offset 0x4c) is 2, expected 1");
  b = tiny_golden();
  put_be32(b, c + 4, 2);
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: CHWALL policy code (offset 0x50) is 2, expected 1");
  b = tiny_golden();
  put_be32(b, c + 8, 65537);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL type count (offset 0x54) is 65537, above the limit of 65536");
  EXPECT_EQ(xen_code_of(b), Errc::limit_exceeded);
  b = tiny_golden();
  put_be32(b, c + 12, 0xffffffff);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL label count (offset 0x58) is 4294967295, above the limit of 65536");
  b = tiny_golden();
  put_be32(b, c + 16, 70000);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict set count (offset 0x5c) is 70000, above the limit of 65536");
  // A component too short for its header: move the secondary offset so the
  // CHWALL component is 32 bytes.
  b = tiny_golden();
  put_be32(b, 28, static_cast<std::uint32_t>(c + 32));
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL header (offset 0x4c, 36 bytes) extends past the end of the component (32 bytes)");
}

TEST(XenFormatRejects, ChwallMatrices) {
  const std::size_t c = kTinyChwall;
  Bytes b = tiny_golden();
  put_be32(b, c + 20, 40);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL label matrix offset (offset 0x60) is 40, expected 36 (right after the header)");
  b = tiny_golden();
  put_be32(b, c + 12, 7);  // 7 x 1 label cells do not fit in 48 - 36 bytes
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL label matrix (offset 0x70, 7 x 1 cells) extends past the end of the component");
  b = tiny_golden();
  put_be32(b, c + 24, 44);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict matrix offset (offset 0x64) is 44, expected 40 (36 + 2 x labels x types)");
  b = tiny_golden();
  put_be32(b, c + 16, 5);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict matrix (offset 0x74, 5 x 1 cells) extends past the end of the component");
  b = tiny_golden();
  put_be16(b, c + 38, 2);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL label matrix cell [1][0] (offset 0x72) is 2; only 0 and 1 are allowed");
  b = tiny_golden();
  put_be16(b, c + 40, 0x100);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict matrix cell [0][0] (offset 0x74) is 256; only 0 and 1 are allowed");
  b = tiny_golden();
  b[c + 47] = 1;
  EXPECT_EQ(xen_error_of(b), "malformed binary policy: CHWALL padding (offset 0x76) is not zero");
  b = insert_zeros(tiny_golden(), kTinySte, 8);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL component (offset 0x4c, 56 bytes) is not its contents padded to a multiple of 8 bytes (48 bytes)");
}

TEST(XenFormatRejects, ChwallCounterOffsets) {
  const std::size_t c = kTinyChwall;
  Bytes b = tiny_golden();
  put_be32(b, c + 28, 40);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL running types offset (offset 0x68) is 40, expected 0 or 42");
  b = tiny_golden();
  put_be32(b, c + 32, 42);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict aggregate offset (offset 0x6c) is 42, expected 0 or 44");
  // mytest's CHWALL block has 6 padding bytes, too few for 7 counters.
  const Bytes mytest = write_xen_policy(testing::compiled_policy(testing::mytest_model()).image);
  b = mytest;
  put_be32(b, 76 + 28, 162);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL running types array (offset 0xee, 1 x 7 cells) extends past the end of the component");
  b = mytest;
  put_be32(b, 76 + 32, 176);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: CHWALL conflict aggregate array (offset 0xfc, 1 x 7 cells) extends past the end of the component");
}

TEST(XenFormatRejects, SteComponent) {
  const std::size_t s = kTinySte;
  Bytes b = tiny_golden();
  put_be32(b, s, 0);
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: STE policy version (offset 0x7c) is 0, expected 1");
  b = tiny_golden();
  put_be32(b, s + 4, 1);
  EXPECT_EQ(xen_error_of(b), "malformed binary policy: STE policy code (offset 0x80) is 1, expected 2");
  b = tiny_golden();
  put_be32(b, s + 8, 65537);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE type count (offset 0x84) is 65537, above the limit of 65536");
  b = tiny_golden();
  put_be32(b, s + 12, 65537);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE label count (offset 0x88) is 65537, above the limit of 65536");
  b = tiny_golden();
  put_be32(b, s + 16, 24);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE label matrix offset (offset 0x8c) is 24, expected 20 (right after the header)");
  b = tiny_golden();
  put_be32(b, s + 12, 4);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE label matrix (offset 0x90, 4 x 2 cells) extends past the end of the component");
  // 65536 x 65536 cells: the product is computed without overflow and refused
  // before anything is allocated.
  b = tiny_golden();
  put_be32(b, s + 8, 65536);
  put_be32(b, s + 12, 65536);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE label matrix (offset 0x90, 65536 x 65536 cells) extends past the end of the component");
  b = tiny_golden();
  put_be16(b, s + 20, 0xffff);
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE label matrix cell [0][0] (offset 0x90) is 65535; only 0 and 1 are allowed");
  b = tiny_golden();
  put_be32(b, s + 12, 1);  // 1 x 2 cells: 24 bytes of contents in a 32-byte component
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE component (offset 0x7c, 32 bytes) is not its contents padded to a multiple of 8 bytes (24 bytes)");
  b = tiny_golden();
  put_be32(b, s + 12, 2);  // 2 x 2 cells end at 28: the last row becomes padding
  EXPECT_EQ(xen_error_of(b), "malformed binary policy: STE padding (offset 0x98) is not zero");
  b = tiny_golden();
  b.resize(s + 16);
  put_be32(b, 8, static_cast<std::uint32_t>(b.size()));
  EXPECT_EQ(
      xen_error_of(b),
      "malformed binary policy: STE header (offset 0x7c, 20 bytes) extends past the end of the component (16 bytes)");
}

TEST(XenFormatRejects, InconsistentImages) {
  // Both matrices are well-formed, but the image is not usable.
  Bytes b = tiny_golden();
  put_be16(b, kTinyChwall + 40, 0);  // empty conflict set
  EXPECT_EQ(xen_error_of(b), "malformed binary policy: conflict set 0 is empty");
  b = tiny_golden();
  put_be32(b, kTinySte + 12, 1);  // STE rows < CHWALL rows (component: 20 + 4 -> 24)
  b.erase(b.begin() + static_cast<std::ptrdiff_t>(kTinySte + 24), b.end());
  put_be32(b, 8, static_cast<std::uint32_t>(b.size()));
  EXPECT_EQ(xen_error_of(b),
            "malformed binary policy: STE has 1 label rows, fewer than the 2 VM labels");
}

// ---- robustness ------------------------------------------------------------

TEST(XenFormatRobustness, EveryTruncationIsRejected) {
  for (const Bytes& full :
       {tiny_golden(), write_xen_policy(testing::compiled_policy(testing::mytest_model()).image)}) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(read_xen_policy(cut)) << n;
      // Also with the length field claiming the truncated size, so the
      // section checks see the truncation.
      if (n >= 12) {
        put_be32(cut, 8, static_cast<std::uint32_t>(n));
        EXPECT_FALSE(read_xen_policy(cut)) << n;
      }
    }
  }
}

TEST(XenFormatRobustness, EveryByteFlipIsRejectedOrValid) {
  const Bytes full = write_xen_policy(testing::compiled_policy(testing::example_test_model()).image);
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
      Bytes b = full;
      b[i] ^= mask;
      auto img = read_xen_policy(b);
      if (img) {
        EXPECT_TRUE(validate_image(*img)) << i;
        EXPECT_EQ(write_xen_policy(*img), b) << i;  // the accepted encoding is canonical
      }
    }
  }
}

TEST(XenFormatWriter, RefusesInvalidImages) {
  PolicyImage img = tiny_image();
  add_row_to(img.ste_labels, {5});  // type 5 >= 2 types
  EXPECT_THROW((void)write_xen_policy(img), std::invalid_argument);
  img = tiny_image();
  img.secondary = PolicyCode::undefined;
  EXPECT_THROW((void)write_xen_policy(img), std::invalid_argument);
}

TEST(XenFormatWriter, SizeOfHugePoliciesIsReportedNotWritten) {
  // 65536 x 65536 STE cells would be 8 GiB: beyond the 32-bit length.
  PolicyImage img;
  img.name = "huge";
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::null;
  img.ste_type_count = 65536;
  img.ste_labels.reserve(65536, 0);
  for (std::uint32_t r = 0; r < 65536; ++r)
    add_row_to(img.ste_labels, {});
  img.vm_label_count = 65536;
  EXPECT_EQ(xen_policy_size(img), std::nullopt);
  EXPECT_THROW((void)write_xen_policy(img), std::invalid_argument);
  img.ste_type_count = 10000;
  EXPECT_EQ(xen_policy_size(img), 60u + 16u + 20u + 2u * 65536u * 10000u + 4u);
}

}  // namespace
}  // namespace shype::acm
