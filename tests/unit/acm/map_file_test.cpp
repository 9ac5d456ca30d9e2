#include "acm/map_file.hpp"

#include <gtest/gtest.h>

#include "acm/binary_policy.hpp"
#include "acm/compiler.hpp"
#include "acm/xen_format.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

// What a Xen-format reader gives: the image without names.
PolicyImage from_xen(const PolicyImage& img) {
  auto r = read_xen_policy(write_xen_policy(img));
  if (!r) throw std::runtime_error(r.error().message);
  return *r;
}

constexpr const char* kXml = "/etc/xen/acm-security/policies/mytest-security_policy.xml";
constexpr const char* kBin = "/etc/xen/acm-security/policies/mytest.bin";

// Xen 3.3's .map for the manual's mytest policy (tools 2.5, numbering 5.2).
const char* const kMytestMap =
    "POLICYREFERENCENAME    mytest\n"
    "MAGIC                  0001debc\n"
    "POLICFILE              /etc/xen/acm-security/policies/mytest-security_policy.xml\n"
    "BINARYFILE             /etc/xen/acm-security/policies/mytest.bin\n"
    "MAX-CHWALL-TYPES       00000007\n"
    "MAX-CHWALL-SSIDS       00000007\n"
    "MAX-CHWALL-LABELS      00000007\n"
    "MAX-STE-TYPES          00000007\n"
    "MAX-STE-SSIDS          0000000d\n"
    "MAX-STE-LABELS         0000000d\n"
    "\n"
    "PRIMARY                CHWALL\n"
    "SECONDARY              STE\n"
    "\n"
    "LABEL->SSID ANY CHWALL __UNLABELED__        0\n"
    "LABEL->SSID VM  CHWALL SystemManagement     1\n"
    "LABEL->SSID VM  CHWALL A-Bank               2\n"
    "LABEL->SSID VM  CHWALL A-Bank.MarketAnalysis 3\n"
    "LABEL->SSID VM  CHWALL A-Bank.SecurityUnderwriting 4\n"
    "LABEL->SSID VM  CHWALL AutoCorp             5\n"
    "LABEL->SSID VM  CHWALL B-Bank               6\n"
    "\n"
    "LABEL->SSID ANY STE    __UNLABELED__        00000000\n"
    "LABEL->SSID VM  STE    SystemManagement     1\n"
    "LABEL->SSID VM  STE    A-Bank               2\n"
    "LABEL->SSID VM  STE    A-Bank.MarketAnalysis 3\n"
    "LABEL->SSID VM  STE    A-Bank.SecurityUnderwriting 4\n"
    "LABEL->SSID VM  STE    AutoCorp             5\n"
    "LABEL->SSID VM  STE    B-Bank               6\n"
    "LABEL->SSID RES STE    A-Bank               7\n"
    "LABEL->SSID RES STE    A-Bank.MarketAnalysis 8\n"
    "LABEL->SSID RES STE    A-Bank.SecurityUnderwriting 9\n"
    "LABEL->SSID RES STE    AutoCorp             a\n"
    "LABEL->SSID RES STE    B-Bank               b\n"
    "LABEL->SSID RES STE    SystemManagement     c\n"
    "\n"
    "SSID->TYPE CHWALL      00000000\n"
    "SSID->TYPE CHWALL      00000001 SystemManagement\n"
    "SSID->TYPE CHWALL      00000002 A-Bank\n"
    "SSID->TYPE CHWALL      00000003 A-Bank A-Bank.MarketAnalysis\n"
    "SSID->TYPE CHWALL      00000004 A-Bank A-Bank.SecurityUnderwriting\n"
    "SSID->TYPE CHWALL      00000005 AutoCorp\n"
    "SSID->TYPE CHWALL      00000006 B-Bank\n"
    "\n"
    "SSID->TYPE STE         00000000\n"
    "SSID->TYPE STE         00000001 A-Bank A-Bank.MarketAnalysis A-Bank.SecurityUnderwriting AutoCorp B-Bank SystemManagement __UNLABELED__\n"
    "SSID->TYPE STE         00000002 A-Bank\n"
    "SSID->TYPE STE         00000003 A-Bank.MarketAnalysis\n"
    "SSID->TYPE STE         00000004 A-Bank.SecurityUnderwriting\n"
    "SSID->TYPE STE         00000005 AutoCorp\n"
    "SSID->TYPE STE         00000006 B-Bank\n"
    "SSID->TYPE STE         00000007 A-Bank\n"
    "SSID->TYPE STE         00000008 A-Bank.MarketAnalysis\n"
    "SSID->TYPE STE         00000009 A-Bank.SecurityUnderwriting\n"
    "SSID->TYPE STE         0000000a AutoCorp\n"
    "SSID->TYPE STE         0000000b B-Bank\n"
    "SSID->TYPE STE         0000000c SystemManagement\n"
    "\n"
    "TYPE CHWALL            A-Bank               0\n"
    "TYPE CHWALL            A-Bank.MarketAnalysis 1\n"
    "TYPE CHWALL            A-Bank.SecurityUnderwriting 2\n"
    "TYPE CHWALL            AutoCorp             3\n"
    "TYPE CHWALL            B-Bank               4\n"
    "TYPE CHWALL            SystemManagement     5\n"
    "TYPE CHWALL            __UNLABELED__        6\n"
    "\n"
    "TYPE STE               A-Bank               0\n"
    "TYPE STE               A-Bank.MarketAnalysis 1\n"
    "TYPE STE               A-Bank.SecurityUnderwriting 2\n"
    "TYPE STE               AutoCorp             3\n"
    "TYPE STE               B-Bank               4\n"
    "TYPE STE               SystemManagement     5\n"
    "TYPE STE               __UNLABELED__        6\n"
    "\n"
    "\n";

// Replaces line `n` (1-based) of the map.
std::string with_line(std::string text, std::size_t n, const std::string& replacement) {
  std::size_t begin = 0;
  for (std::size_t i = 1; i < n; ++i)
    begin = text.find('\n', begin) + 1;
  const std::size_t end = text.find('\n', begin);
  return text.replace(begin, end - begin, replacement);
}

std::string map_error(const std::string& text, const PolicyImage& image) {
  auto r = read_map_file(text, image);
  return r ? std::string("<accepted>") : r.error().message;
}

TEST(MapFile, MytestMatchesXenLineByLine) {
  EXPECT_EQ(write_map_file(testing::compiled_image(testing::mytest_model()), kXml, kBin), kMytestMap);
}

TEST(MapFile, NullLabelAndNullSecondary) {
  // example.test has no __UNLABELED__ VM label: ssid 0 is __NULL_LABEL__.
  const std::string map = write_map_file(testing::compiled_image(testing::example_test_model()), "x.xml", "x.bin");
  EXPECT_NE(map.find("LABEL->SSID ANY CHWALL __NULL_LABEL__       0\n"), std::string::npos);
  EXPECT_NE(map.find("LABEL->SSID ANY STE    __NULL_LABEL__       00000000\n"), std::string::npos);
  // STE only: PRIMARY STE, SECONDARY NULL (one space less), no CHWALL blocks.
  PolicyImage img = testing::compiled_image(testing::example_test_model());
  img.primary = PolicyCode::simple_type_enforcement;
  img.secondary = PolicyCode::null;
  img.chwall_type_count = 0;
  img.chwall_labels = TypeSets{};
  img.conflict_sets = TypeSets{};
  img.names->chwall_types.clear();
  img.names->conflict_sets.clear();
  const std::string ste = write_map_file(img, "x.xml", "x.bin");
  EXPECT_NE(ste.find("MAX-CHWALL-TYPES       00000000\nMAX-CHWALL-SSIDS       00000001\n"),
            std::string::npos);
  EXPECT_NE(ste.find("\nPRIMARY                STE\nSECONDARY             NULL\n\n"),
            std::string::npos);
  EXPECT_EQ(ste.find("CHWALL "), std::string::npos);
  // The map restores the VM/resource split the Xen format loses.
  const PolicyImage xen = from_xen(img);
  EXPECT_EQ(xen.vm_label_count, img.ste_labels.rows());
  auto back = attach_map_names(xen, ste);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, img);
}

TEST(MapFile, ReadRecoversNamesOfEveryFixture) {
  for (const auto& model :
       {testing::mytest_model(), testing::default_model(), testing::example_test_model()}) {
    const PolicyImage img = testing::compiled_image(model);
    const std::string map = write_map_file(img, "p.xml", "p.bin");
    const PolicyImage xen = from_xen(img);
    auto names = read_map_file(map, xen);
    ASSERT_TRUE(names) << model.header.name << ": " << names.error().message;
    PolicyNames expected = *img.names;
    for (std::size_t c = 0; c < expected.conflict_sets.size(); ++c) {
      expected.conflict_sets[c] = "set" + std::to_string(c);
    }
    EXPECT_EQ(*names, expected) << model.header.name;
    auto attached = attach_map_names(xen, map);
    ASSERT_TRUE(attached) << attached.error().message;
    PolicyImage expected_image = img;
    expected_image.names = expected;
    EXPECT_EQ(*attached, expected_image);
  }
}

TEST(MapFile, MismatchesNameTheLine) {
  const PolicyImage xen = from_xen(testing::compiled_image(testing::mytest_model()));
  const std::string map = kMytestMap;
  ASSERT_TRUE(read_map_file(map, xen));
  EXPECT_EQ(map_error(with_line(map, 1, "POLICYREFERENCENAME    other"), xen),
            "map file line 1: POLICYREFERENCENAME is 'other' but the policy is named 'mytest'");
  EXPECT_EQ(map_error(with_line(map, 1, ""), xen), "map file: no POLICYREFERENCENAME line");
  EXPECT_EQ(map_error(with_line(map, 2, "MAGIC                  0001debd"), xen),
            "map file line 2: MAGIC is '0001debd', expected 0001debc");
  EXPECT_EQ(map_error(with_line(map, 8, "MAX-STE-TYPES          00000008"), xen),
            "map file line 8: MAX-STE-TYPES is 00000008 but the policy has 7 STE types");
  EXPECT_EQ(map_error(with_line(map, 6, "MAX-CHWALL-SSIDS       0000000g"), xen),
            "map file line 6: MAX-CHWALL-SSIDS value '0000000g' is not hexadecimal");
  EXPECT_EQ(map_error(with_line(map, 10, "MAX-STE-LABELS         0000000c"), xen),
            "map file line 10: MAX-STE-LABELS is 0000000c but the policy has 13 STE ssids");
  EXPECT_EQ(map_error(with_line(map, 12, "PRIMARY                STE"), xen),
            "map file line 12: PRIMARY is STE but the policy's primary is CHWALL");
  EXPECT_EQ(map_error(with_line(map, 13, "SECONDARY             NULL"), xen),
            "map file line 13: SECONDARY is NULL but the policy's secondary is STE");
  EXPECT_EQ(map_error(with_line(map, 13, "SECONDARY"), xen),
            "map file line 13: SECONDARY line has 1 fields, expected 2");
  EXPECT_EQ(map_error(with_line(map, 11, "BOGUS 1"), xen),
            "map file line 11: unknown keyword 'BOGUS'");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID VM  CHWALL A-Bank               7"), xen),
            "map file line 17: CHWALL ssid 7 is not below the 7 rows of the policy");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID VM  CHWALL A-Bank               1"), xen),
            "map file line 17: CHWALL ssid 1 is already named on line 16");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID ANY CHWALL A-Bank               2"), xen),
            "map file line 17: ssid 0 and only ssid 0 is listed as ANY");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID RES CHWALL A-Bank               2"), xen),
            "map file line 17: resource labels have only STE ssids");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID VM  XSM    A-Bank               2"), xen),
            "map file line 17: unknown component 'XSM'");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID OBJ CHWALL A-Bank               2"), xen),
            "map file line 17: label kind 'OBJ' is not ANY, VM or RES");
  EXPECT_EQ(map_error(with_line(map, 17, "LABEL->SSID VM  CHWALL A-Bank               2x"), xen),
            "map file line 17: ssid '2x' is not hexadecimal");
  EXPECT_EQ(map_error(with_line(map, 17, ""), xen),
            "map file: CHWALL ssid 2 is not named by any line");
  EXPECT_EQ(map_error(with_line(map, 25, "LABEL->SSID VM  STE    C-Bank               2"), xen),
            "map file line 25: STE ssid 2 is 'C-Bank' but CHWALL ssid 2 on line 17 is 'A-Bank'");
  EXPECT_EQ(map_error(with_line(map, 31, "LABEL->SSID RES STE    A-Bank               6"), xen),
            "map file line 31: STE ssid 6 is already named on line 29");
  EXPECT_EQ(
      map_error(with_line(map, 29, "LABEL->SSID RES STE    B-Bank               6"), xen),
      "map file line 29: STE ssid 6 is a resource label but ssid 6 is a VM row (the policy has 7 VM labels)");
  EXPECT_EQ(
      map_error(with_line(map, 30, "LABEL->SSID VM  STE    A-Bank               7"), xen),
      "map file line 30: STE ssid 7 is a VM label but ssid 7 is a resource row (the policy has 7 VM labels)");
  EXPECT_EQ(
      map_error(with_line(map, 40, "SSID->TYPE CHWALL      00000003 A-Bank"), xen),
      "map file line 40: CHWALL ssid 3 lists 1 types that differ from the policy's row (2 types)");
  EXPECT_EQ(map_error(with_line(map, 40, "SSID->TYPE CHWALL      00000003 A-Bank C-Bank"), xen),
            "map file line 40: unknown CHWALL type 'C-Bank'");
  EXPECT_EQ(map_error(with_line(map, 40, "SSID->TYPE CHWALL      00000009 A-Bank"), xen),
            "map file line 40: CHWALL ssid 9 is not below the 7 rows of the policy");
  EXPECT_EQ(map_error(with_line(map, 40, "SSID->TYPE CHWALL"), xen),
            "map file line 40: SSID->TYPE line has fewer than 3 fields");
  EXPECT_EQ(map_error(with_line(map, 59, "TYPE CHWALL            A-Bank               9"), xen),
            "map file line 59: CHWALL type index 9 is not below the policy's 7 CHWALL types");
  EXPECT_EQ(map_error(with_line(map, 60, "TYPE CHWALL            A-Bank               0"), xen),
            "map file line 60: CHWALL type 0 is already named on line 59");
  EXPECT_EQ(map_error(with_line(map, 60, "TYPE CHWALL            A-Bank               x1"), xen),
            "map file line 60: type index 'x1' is not decimal");
  EXPECT_EQ(map_error(with_line(map, 67, ""), xen),
            "map file: STE type 0 is not named by any line");
  EXPECT_EQ(
      map_error(with_line(map, 67, std::string("TYPE STE               A\x01-Bank 0")), xen),
      "map file line 67: type name 'A\x01-Bank' is not UTF-8 without control characters and whitespace");
  // A map of another shape: STE types the binary does not have.
  const PolicyImage other = from_xen(testing::compiled_image(testing::default_model()));
  EXPECT_EQ(map_error(map, other),
            "map file line 1: POLICYREFERENCENAME is 'mytest' but the policy is named 'DEFAULT'");
}

TEST(MapFile, DuplicateNamesAreRejectedWhenAttached) {
  const PolicyImage xen = from_xen(testing::compiled_image(testing::mytest_model()));
  // Resource ssid 8 renamed to the name of resource ssid 7.
  const std::string map =
      with_line(kMytestMap, 31, "LABEL->SSID RES STE    A-Bank               8");
  ASSERT_TRUE(read_map_file(map, xen));
  auto r = attach_map_names(xen, map);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "map file: names: resource label name 'A-Bank' appears twice");
}

TEST(MapFile, LabelLookupsAsXmDoes) {
  const std::vector<MapLabel> labels = map_labels(testing::compiled_image(testing::mytest_model()));
  ASSERT_EQ(labels.size(), 13u);
  EXPECT_EQ(labels[0], (MapLabel{"__UNLABELED__", 'A', 0}));
  EXPECT_EQ(labels[1], (MapLabel{"SystemManagement", 'V', 0x00010001}));
  EXPECT_EQ(labels[2], (MapLabel{"A-Bank", 'V', 0x00020002}));
  EXPECT_EQ(labels[7], (MapLabel{"A-Bank", 'R', 0x00070000}));
  EXPECT_EQ(labels[12], (MapLabel{"SystemManagement", 'R', 0x000c0000}));

  EXPECT_EQ(find_label_ssidref(labels, "A-Bank", 'V'), 0x00020002u);
  EXPECT_EQ(find_label_ssidref(labels, "A-Bank", 'R'), 0x00070000u);
  EXPECT_EQ(find_label_ssidref(labels, "B-Bank", 'V'), 0x00060006u);
  EXPECT_EQ(find_label_ssidref(labels, "__UNLABELED__", 'V'), 0u);
  EXPECT_EQ(find_label_ssidref(labels, "__UNLABELED__", 'R'), 0u);
  EXPECT_EQ(find_label_ssidref(labels, "SystemManagement", 'V'), kBootstrapSsidref);
  auto missing = find_label_ssidref(labels, "C-Bank", 'V');
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message, "Label 'C-Bank' not found.");
  std::vector<MapLabel> dup = labels;
  dup.push_back({"A-Bank", 'V', 0x00090009});
  EXPECT_EQ(find_label_ssidref(dup, "A-Bank", 'V').error().message,
            "Label 'A-Bank' not unique in policy (policy error)");
  EXPECT_EQ(find_label_ssidref(labels, "A-Bank", 'A').error().code, Errc::invalid_argument);
}

TEST(MapFile, WriterNeedsNames) {
  PolicyImage img = testing::compiled_image(testing::default_model());
  img.names.reset();
  EXPECT_THROW((void)write_map_file(img, "a", "b"), std::invalid_argument);
  EXPECT_THROW((void)map_labels(img), std::invalid_argument);
}

}  // namespace
}  // namespace shype::acm
