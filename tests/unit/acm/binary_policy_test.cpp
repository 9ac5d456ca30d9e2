#include "acm/binary_policy.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/xen_format.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using Bytes = std::vector<std::uint8_t>;

void add(TypeSets& sets, std::vector<std::uint32_t> row) {
  sets.add_row(row);
}

std::string invalid_because(const PolicyImage& img) {
  auto s = validate_image(img);
  return s ? std::string("<valid>") : s.error().message;
}

TEST(BinaryPolicy, DetectsFormatsByMagic) {
  const PolicyImage img = testing::compiled_image(testing::mytest_model());
  EXPECT_EQ(detect_binary_format(write_xen_policy(img)), BinaryFormat::xen);
  EXPECT_EQ(detect_binary_format(write_compact_policy(img)), BinaryFormat::compact);
  EXPECT_EQ(detect_binary_format(Bytes{0x00, 0x01, 0xde, 0xbc}), BinaryFormat::xen);
  EXPECT_EQ(detect_binary_format(Bytes{0x00, 0x01, 0xde}), std::nullopt);
  EXPECT_EQ(detect_binary_format(Bytes{'S', 'H', 'Y', 'P', 'E', 'P', 'O'}), std::nullopt);
  EXPECT_EQ(detect_binary_format(Bytes{0xbc, 0xde, 0x01, 0x00}),
            std::nullopt);  // little-endian Xen
  EXPECT_EQ(detect_binary_format(Bytes{}), std::nullopt);
  EXPECT_STREQ(binary_format_name(BinaryFormat::xen), "xen");
  EXPECT_STREQ(binary_format_name(BinaryFormat::compact), "compact");
}

TEST(BinaryPolicy, ReadsAndWritesEitherFormat) {
  for (const auto& model :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    const PolicyImage img = testing::compiled_image(model);
    for (BinaryFormat format : {BinaryFormat::xen, BinaryFormat::compact}) {
      const Bytes b = write_binary_policy(img, format);
      EXPECT_EQ(b, format == BinaryFormat::xen ? write_xen_policy(img) : write_compact_policy(img));
      BinaryFormat detected =
          format == BinaryFormat::xen ? BinaryFormat::compact : BinaryFormat::xen;
      auto back = read_binary_policy(b, &detected);
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_EQ(detected, format);
      PolicyImage expected = img;
      if (format == BinaryFormat::xen) expected.names.reset();
      EXPECT_EQ(*back, expected);
    }
  }
}

TEST(BinaryPolicy, RejectsUnknownBytes) {
  BinaryFormat detected = BinaryFormat::compact;
  auto r = read_binary_policy(Bytes{'<', '?', 'x', 'm', 'l'}, &detected);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::malformed_binary);
  EXPECT_EQ(
      r.error().message,
      "malformed binary policy: neither Xen's magic 00 01 de bc nor \"SHYPEPOL\" at offset 0x0");
  EXPECT_EQ(detected, BinaryFormat::compact);  // untouched on failure
}

// ---- validate_image: every rule ---------------------------------------------

TEST(ValidateImage, FixturesAreValid) {
  for (const auto& model :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    EXPECT_TRUE(validate_image(testing::compiled_image(model))) << model.header.name;
  }
}

TEST(ValidateImage, PolicyName) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.name = "";
  EXPECT_EQ(invalid_because(img), "policy name is empty");
  img.name = "my policy";
  EXPECT_EQ(invalid_because(img),
            "policy name has byte 32; only printable ASCII without spaces is allowed");
  img.name = std::string(4097, 'a');
  EXPECT_EQ(invalid_because(img), "policy name is 4097 bytes, above the limit of 4096");
  EXPECT_EQ(validate_image(img).error().code, Errc::limit_exceeded);
  img.name = std::string(4096, 'a');
  EXPECT_EQ(invalid_because(img), "<valid>");
}

TEST(ValidateImage, Combinations) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.secondary = PolicyCode::chinese_wall;
  EXPECT_EQ(
      invalid_because(img),
      "policy combination CHINESE WALL + CHINESE WALL is not supported; allowed are CHWALL+STE, STE+CHWALL, STE+NULL, CHWALL+NULL");
  img.primary = PolicyCode::null;
  img.secondary = PolicyCode::null;
  EXPECT_NE(invalid_because(img).find("NULL + NULL is not supported"), std::string::npos);
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::undefined;
  EXPECT_NE(invalid_because(img).find("SIMPLE TYPE ENFORCEMENT + UNDEFINED"), std::string::npos);
  EXPECT_TRUE(supported_combination(PolicyCode::chinese_wall, PolicyCode::simple_type_enforcement));
  EXPECT_TRUE(supported_combination(PolicyCode::simple_type_enforcement, PolicyCode::chinese_wall));
  EXPECT_TRUE(supported_combination(PolicyCode::simple_type_enforcement, PolicyCode::null));
  EXPECT_TRUE(supported_combination(PolicyCode::chinese_wall, PolicyCode::null));
  EXPECT_FALSE(supported_combination(PolicyCode::null, PolicyCode::chinese_wall));
}

TEST(ValidateImage, Limits) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.ste_type_count = kMaxTypes + 1;
  EXPECT_EQ(invalid_because(img), "STE type count is 65537, above the limit of 65536");
  EXPECT_EQ(validate_image(img).error().code, Errc::limit_exceeded);
  img = testing::compiled_image(testing::default_model());
  img.chwall_type_count = kMaxTypes + 1;
  EXPECT_EQ(invalid_because(img), "CHWALL type count is 65537, above the limit of 65536");
  img = testing::compiled_image(testing::default_model());
  img.vm_label_count = kMaxRows + 1;
  EXPECT_EQ(invalid_because(img), "VM label count is 65537, above the limit of 65536");
  img = testing::compiled_image(testing::default_model());
  for (std::uint32_t i = 0; i <= kMaxConflictSets; ++i)
    add(img.conflict_sets, {0});
  EXPECT_EQ(invalid_because(img), "conflict set count is 65537, above the limit of 65536");
  img = testing::compiled_image(testing::default_model());
  for (std::uint32_t i = 0; i <= kMaxRows; ++i)
    add(img.ste_labels, {});
  EXPECT_EQ(invalid_because(img), "STE label count is 65539, above the limit of 65536");
}

TEST(ValidateImage, AbsentComponentsAreEmpty) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.secondary = PolicyCode::null;  // STE data left behind
  EXPECT_EQ(invalid_because(img), "the policy has no STE component but STE types or rows");
  img = testing::compiled_image(testing::default_model());
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::null;
  EXPECT_EQ(invalid_because(img),
            "the policy has no CHWALL component but CHWALL types, rows or conflict sets");
}

TEST(ValidateImage, RowCounts) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.vm_label_count = 1;
  img.chwall_labels = TypeSets{};
  add(img.chwall_labels, {});
  img.names.reset();
  EXPECT_EQ(invalid_because(img),
            "VM label count is 1; row 0 (unlabeled) and row 1 (bootstrap) must exist");
  img = testing::compiled_image(testing::default_model());
  add(img.chwall_labels, {});
  EXPECT_EQ(invalid_because(img), "CHWALL has 3 label rows but the policy has 2 VM labels");
  img = testing::compiled_image(testing::mytest_model());
  img.names.reset();
  TypeSets ste;
  for (std::uint32_t r = 0; r < 6; ++r)
    ste.add_row(img.ste_labels.row(r));
  img.ste_labels = ste;
  EXPECT_EQ(invalid_because(img), "STE has 6 label rows, fewer than the 7 VM labels");
}

TEST(ValidateImage, Rows) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.names.reset();
  add(img.ste_labels, {2});
  EXPECT_EQ(invalid_because(img), "STE label row 2 has type 2, not below the type count 2");
  img = testing::compiled_image(testing::default_model());
  img.names.reset();
  add(img.ste_labels, {1, 0});
  EXPECT_EQ(invalid_because(img), "STE label row 2 is not strictly ascending (type 0 after 1)");
  img = testing::compiled_image(testing::default_model());
  img.names.reset();
  add(img.ste_labels, {1, 1});
  EXPECT_EQ(invalid_because(img), "STE label row 2 is not strictly ascending (type 1 after 1)");
  img = testing::compiled_image(testing::mytest_model());
  img.chwall_labels = TypeSets{};
  for (std::uint32_t r = 0; r < 7; ++r)
    add(img.chwall_labels, {r == 4 ? 7u : 0u});
  EXPECT_EQ(invalid_because(img), "CHWALL label row 4 has type 7, not below the type count 7");
  img = testing::compiled_image(testing::mytest_model());
  add(img.conflict_sets, {3, 9});
  img.names->conflict_sets.push_back("X");
  EXPECT_EQ(invalid_because(img), "conflict set 2 has type 9, not below the type count 7");
  img = testing::compiled_image(testing::mytest_model());
  add(img.conflict_sets, {});
  img.names->conflict_sets.push_back("X");
  EXPECT_EQ(invalid_because(img), "conflict set 2 is empty");
}

TEST(ValidateImage, Names) {
  const PolicyImage good = testing::compiled_image(testing::mytest_model());
  PolicyImage img = good;
  img.names->ste_types.pop_back();
  EXPECT_EQ(invalid_because(img), "names: 6 STE type names for 7 STE types");
  img = good;
  img.names->chwall_types.emplace_back("X");
  EXPECT_EQ(invalid_because(img), "names: 8 CHWALL type names for 7 CHWALL types");
  img = good;
  img.names->vm_labels.pop_back();
  EXPECT_EQ(invalid_because(img), "names: 6 VM label names for 7 VM labels");
  img = good;
  img.names->resource_labels.pop_back();
  EXPECT_EQ(invalid_because(img), "names: 5 resource label names for 6 resource label rows");
  img = good;
  img.names->conflict_sets.pop_back();
  EXPECT_EQ(invalid_because(img), "names: 1 conflict set names for 2 conflict sets");
  img = good;
  img.names->vm_labels[3] = "";
  EXPECT_EQ(invalid_because(img), "names: VM label name 3 is empty");
  img = good;
  img.names->ste_types[2] = "A Bank";
  EXPECT_EQ(invalid_because(img),
            "names: STE type name 2 is not UTF-8 without control characters and whitespace");
  img = good;
  img.names->resource_labels[0] = std::string("bad\x01", 4);
  EXPECT_NE(invalid_because(img).find("resource label name 0 is not UTF-8"), std::string::npos);
  img = good;
  img.names->resource_labels[0] = "\xc0\xaf";  // overlong '/'
  EXPECT_NE(invalid_because(img).find("is not UTF-8"), std::string::npos);
  img = good;
  img.names->resource_labels[0] = "\xed\xa0\x80";  // a surrogate
  EXPECT_NE(invalid_because(img).find("is not UTF-8"), std::string::npos);
  img = good;
  img.names->resource_labels[0] = "Bank\xc3\xa9";  // "Banké": fine
  EXPECT_EQ(invalid_because(img), "<valid>");
  img = good;
  img.names->chwall_types[0] = std::string(4097, 'x');
  EXPECT_EQ(invalid_because(img),
            "names: CHWALL type name 0 is 4097 bytes, above the limit of 4096");
  img = good;
  img.names->vm_labels[1] = "B-Bank";  // bootstrap renamed to another label's name
  EXPECT_EQ(invalid_because(img), "names: VM label name 'B-Bank' appears twice");
  img = good;
  std::swap(img.names->ste_types[3], img.names->ste_types[5]);
  img.names->ste_types[4] = img.names->ste_types[3];  // unsorted list with a duplicate
  EXPECT_NE(invalid_because(img).find("STE type name '"), std::string::npos);
  // Conflict sets may share a name (mytest has two called RER).
  EXPECT_EQ(good.names->conflict_sets[0], good.names->conflict_sets[1]);
  EXPECT_EQ(invalid_because(good), "<valid>");
}

// Writes the seed corpus of tests/fuzz/fuzz_binary_policy from the fixture
// policies. Run by hand when the formats change:
//   acm_unit_tests --gtest_also_run_disabled_tests
//     --gtest_filter=BinaryPolicyCorpus.DISABLED_WriteSeedCorpus
TEST(BinaryPolicyCorpus, DISABLED_WriteSeedCorpus) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SHYPE_SOURCE_DIR) / "tests/fuzz/corpus/fuzz_binary_policy";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const Bytes& bytes) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),  // SAFETY: byte buffer written as chars
              static_cast<std::streamsize>(bytes.size()));
  };
  const std::pair<const char*, PolicyModel> models[] = {
      {"mytest", testing::mytest_model()},
      {"default", testing::default_model()},
      {"example_test", testing::example_test_model()}};
  for (const auto& [name, model] : models) {
    PolicyImage img = testing::compiled_image(model);
    write(std::string("xen_") + name + ".bin", write_xen_policy(img));
    write(std::string("compact_") + name + ".bin", write_compact_policy(img));
    img.names.reset();
    write(std::string("compact_") + name + "_nonames.bin", write_compact_policy(img));
  }
  const PolicyImage mytest = testing::compiled_image(testing::mytest_model());
  const Bytes xen = write_xen_policy(mytest);
  const Bytes compact = write_compact_policy(mytest);
  write("xen_truncated.bin", Bytes(xen.begin(), xen.begin() + 100));
  write("compact_truncated.bin", Bytes(compact.begin(), compact.begin() + 200));
  write("compact_bad_digest.bin", [&] {
    Bytes b = compact;
    b[40] ^= 1;
    return b;
  }());

  PolicyImage ste_only = testing::compiled_image(testing::example_test_model());
  ste_only.primary = PolicyCode::simple_type_enforcement;
  ste_only.secondary = PolicyCode::null;
  ste_only.chwall_type_count = 0;
  ste_only.chwall_labels = TypeSets{};
  ste_only.conflict_sets = TypeSets{};
  ste_only.names->chwall_types.clear();
  ste_only.names->conflict_sets.clear();
  write("xen_ste_only.bin", write_xen_policy(ste_only));
  write("compact_ste_only.bin", write_compact_policy(ste_only));
  PolicyImage swapped = testing::compiled_image(testing::example_test_model());
  swapped.primary = PolicyCode::simple_type_enforcement;
  swapped.secondary = PolicyCode::chinese_wall;
  write("xen_ste_chwall.bin", write_xen_policy(swapped));

  // Xen 3.2's version 3 (no SHA-1) and a hypervisor dump with counters.
  Bytes v3 = write_xen_policy(testing::compiled_image(testing::default_model()));
  auto put32 = [](Bytes& b, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i)
      b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  };
  auto get32 = [](const Bytes& b, std::size_t at) {
    return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 |
           std::uint32_t{b[at + 2]} << 8 | b[at + 3];
  };
  v3.erase(v3.begin() + 40, v3.begin() + 60);
  put32(v3, 4, 3);
  put32(v3, 8, static_cast<std::uint32_t>(v3.size()));
  put32(v3, 12, 40);
  put32(v3, 20, get32(v3, 20) - 20);
  put32(v3, 28, get32(v3, 28) - 20);
  write("xen_v3_default.bin", v3);
  // DEFAULT's CHWALL block (offset 76, 40 bytes) grown by the two counter
  // arrays of a hypervisor dump: running types at 40, aggregate at 42.
  Bytes dump = write_xen_policy(testing::compiled_image(testing::default_model()));
  dump.insert(dump.begin() + 116, 8, 0);
  put32(dump, 8, static_cast<std::uint32_t>(dump.size()));
  put32(dump, 28, get32(dump, 28) + 8);
  put32(dump, 76 + 28, 40);
  put32(dump, 76 + 32, 42);
  dump[76 + 41] = 1;
  write("xen_dump_counters.bin", dump);
  // A newer minor version (read, but not re-written byte for byte).
  Bytes minor = compact;
  minor[10] = 1;
  reseal_compact_policy(minor);
  write("compact_minor1.bin", minor);
  write("empty.bin", Bytes{});
  write("xen_magic_only.bin", Bytes{0x00, 0x01, 0xde, 0xbc});
  write("compact_magic_only.bin", Bytes{'S', 'H', 'Y', 'P', 'E', 'P', 'O', 'L'});
}

}  // namespace
}  // namespace shype::acm
