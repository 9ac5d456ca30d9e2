// xm addlabel/rmlabel/getlabel dom on configuration text
// (toolstack/config/src/label_editing.cpp; reference 1.3-1.5).
#include "xmconfig/label_editing.hpp"

#include <string>

#include <gtest/gtest.h>

#include "xmconfig/domain_config.hpp"

namespace shype::xmconfig {
namespace {

const std::string kDomain1 =
    "kernel= \"/boot/vmlinuz-2.6.18.8-xen\"\n"
    "memory = 128\n"
    "name = \"domain1\"\n";

TEST(LabelEditing, SanityCheck) {
  EXPECT_TRUE(check_config_sanity(kDomain1, "domain1.xm"));
  EXPECT_TRUE(
      check_config_sanity("bootloader = '/usr/bin/pygrub'\nmemory = 1\nname = 'n'\n", "d.xm"));
  auto too_few = check_config_sanity("kernel = 'k'\nname = 'n'\n", "domain1.xm");
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, acm::Errc::invalid_argument);
  EXPECT_EQ(too_few.error().message, "Invalid config file");
  EXPECT_EQ(too_few.error().to_string(), "domain1.xm: Invalid config file");
  // A disk image is not a configuration file.
  auto binary = check_config_sanity(std::string("\x7f"
                                                "ELF\x02\x01\x01\0\0",
                                                9),
                                    "vmlinuz");
  ASSERT_FALSE(binary);
  EXPECT_EQ(binary.error().where.file, "vmlinuz");
  // Evaluation errors are passed on with their line.
  auto python = check_config_sanity(kDomain1 + "import os\n", "domain1.xm");
  ASSERT_FALSE(python);
  EXPECT_EQ(
      python.error().to_string(),
      "domain1.xm:4: 'import' is not supported in configuration files (only assignments of strings, numbers and lists)");
}

TEST(LabelEditing, IsLabeled) {
  EXPECT_FALSE(is_labeled(kDomain1));
  EXPECT_TRUE(is_labeled(kDomain1 + "access_control = ['policy=mytest,label=A-Bank']\n"));
  EXPECT_TRUE(is_labeled("  ACCESS_CONTROL\t= []"));  // leading whitespace, any case
  EXPECT_TRUE(is_labeled("access_control=1"));
  EXPECT_FALSE(is_labeled("#access_control = ['policy=a,label=b']\n"));
  EXPECT_FALSE(is_labeled("access_control_x = 1\n"));
  EXPECT_FALSE(is_labeled("access_control\n= 1\n"));
  EXPECT_FALSE(is_labeled("x = 1; access_control = ['policy=a,label=b']\n"));
}

TEST(LabelEditing, AddLabelLine) {
  auto labeled = add_label_line(kDomain1, "mytest", "A-Bank");
  ASSERT_TRUE(labeled);
  EXPECT_EQ(*labeled, kDomain1 + "access_control = ['policy=mytest,label=A-Bank']\n");
  // Without a trailing newline a line break is added first (Xen appended to the last line).
  auto joined = add_label_line("name = 'n'", "mytest", "A-Bank");
  ASSERT_TRUE(joined);
  EXPECT_EQ(*joined, "name = 'n'\naccess_control = ['policy=mytest,label=A-Bank']\n");
  EXPECT_EQ(*add_label_line("", "p", "l"), "access_control = ['policy=p,label=l']\n");
  // The result parses to the label.
  auto config = parse_domain_config(*labeled, "domain1.xm");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->access_control, (AccessControl{"mytest", "A-Bank"}));
}

TEST(LabelEditing, AddLabelLineErrors) {
  EXPECT_EQ(add_label_line(*add_label_line(kDomain1, "a", "b"), "a", "b").error().message,
            "Config file is already labeled.");
  const std::string bad =
      " cannot be written into a configuration file (it contains a quote, backslash, ',', '=' or a control character)";
  EXPECT_EQ(add_label_line(kDomain1, "my'test", "A").error().message,
            "policy name 'my'test'" + bad);
  EXPECT_EQ(add_label_line(kDomain1, "p", "A,B").error().message, "label name 'A,B'" + bad);
  EXPECT_EQ(add_label_line(kDomain1, "p", "A=B").error().message, "label name 'A=B'" + bad);
  EXPECT_EQ(add_label_line(kDomain1, "p", "A\nB").error().message, "label name 'A\nB'" + bad);
  EXPECT_EQ(add_label_line(kDomain1, "p\\", "A").error().message, "policy name 'p\\'" + bad);
  EXPECT_EQ(add_label_line(kDomain1, "", "A").error().message, "policy name is empty");
  EXPECT_EQ(add_label_line(kDomain1, "p", " A").error().message,
            "label name ' A' has surrounding whitespace");
  EXPECT_EQ(add_label_line(kDomain1, "p", "\xff").error().message, "label name is not UTF-8 text");
  EXPECT_TRUE(add_label_line(kDomain1, "example.test", "A-Bank.SecurityUnderwriting"));
  EXPECT_TRUE(add_label_line(kDomain1, "p", "__UNLABELED__"));
}

TEST(LabelEditing, GetLabel) {
  EXPECT_EQ(*get_label(kDomain1 + "access_control = ['policy=mytest,label=A-Bank']\n"),
            "policytype=ACM,policy=mytest,label=A-Bank");
  EXPECT_EQ(*get_label("Access_Control=  [ 'policy=p,label=l' ]  \n"),
            "policytype=ACM, 'policy=p,label=l' ");
  // An entry spanning lines is collected up to the first line with "']".
  EXPECT_EQ(*get_label("access_control = [\n'policy=p,label=l']\nname = 'x'\n"),
            "policytype=ACM,\n'policy=p,label=l");
  auto none = get_label(kDomain1);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, acm::Errc::not_found);
  EXPECT_EQ(none.error().to_string(), "Domain not labeled");
  // Commented-out and indented entries do not count.
  EXPECT_FALSE(get_label("#access_control = ['policy=p,label=l']\n"));
  EXPECT_FALSE(get_label(" access_control = ['policy=p,label=l']\n"));
}

TEST(LabelEditing, CommentOutLabel) {
  const std::string labeled = kDomain1 + "access_control = ['policy=mytest,label=A-Bank']\n";
  auto removed = comment_out_label(labeled);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, kDomain1 + "#access_control = ['policy=mytest,label=A-Bank']\n");
  EXPECT_FALSE(is_labeled(*removed));
  EXPECT_EQ(get_label(*removed).error().message, "Domain not labeled");
  auto config = parse_domain_config(*removed, "domain1.xm");
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->access_control);

  // Multi-line entries: every line up to the first one with "']".
  EXPECT_EQ(*comment_out_label("access_control = [\n  'policy=p,label=l'\n  ]\nx = ['a']\ny = 1"),
            "#access_control = [\n#  'policy=p,label=l'\n#  ]\n#x = ['a']\ny = 1");
  // No trailing newline, CRLF lines.
  EXPECT_EQ(*comment_out_label("a = 1\r\naccess_control = ['policy=p,label=l']"),
            "a = 1\r\n#access_control = ['policy=p,label=l']");

  auto none = comment_out_label(*removed);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, acm::Errc::not_found);
  EXPECT_EQ(none.error().message, "Domain not labeled");
}

TEST(LabelEditing, RelabelAfterRemoveKeepsTheOldLabelAsAComment) {
  // Reference 10, quirk 9, kept on purpose: rmlabel then addlabel relabels.
  const std::string first = *add_label_line(kDomain1, "mytest", "A-Bank");
  const std::string removed = *comment_out_label(first);
  auto relabeled = add_label_line(removed, "mytest", "B-Bank");
  ASSERT_TRUE(relabeled);
  EXPECT_EQ(*relabeled, kDomain1 +
                            "#access_control = ['policy=mytest,label=A-Bank']\n"
                            "access_control = ['policy=mytest,label=B-Bank']\n");
  EXPECT_EQ(*get_label(*relabeled), "policytype=ACM,policy=mytest,label=B-Bank");
  EXPECT_EQ(parse_domain_config(*relabeled, "d.xm")->access_control,
            (AccessControl{"mytest", "B-Bank"}));
}

}  // namespace
}  // namespace shype::xmconfig
