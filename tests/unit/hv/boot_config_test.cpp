#include "hv/boot_config.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/file_io.hpp"
#include "acm/map_file.hpp"
#include "acm/xen_format.hpp"
#include "hv/boot.hpp"
#include "policy_fixtures.hpp"

namespace shype::hv {
namespace {

namespace fs = std::filesystem;

acm::Result<BootConfig> parse(const std::string& text) {
  return parse_boot_config(text, "boot.conf");
}

std::string error_of(const std::string& text) {
  auto config = parse(text);
  EXPECT_FALSE(config) << text;
  return config ? "" : config.error().to_string();
}

TEST(BootConfig, EmptyIsTheDefault) {
  auto config = parse("");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->xsm_module, "acm");
  EXPECT_FALSE(config->policy);
  EXPECT_FALSE(config->dom0_label);
  EXPECT_FALSE(config->dom0_ssidref);
}

TEST(BootConfig, KeysCommentsAndBlanks) {
  auto config = parse(
      "# the boot line\n"
      "\n"
      "xsm = dummy   # baseline\n"
      "  policy=etc/shype/boot.bin\n"
      "dom0_ssidref = 0x00020002\r\n"
      "cgroup = shype\n");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->xsm_module, "dummy");
  EXPECT_EQ(config->policy, fs::path("etc/shype/boot.bin"));
  EXPECT_EQ(config->dom0_ssidref, 0x00020002u);
  EXPECT_EQ(config->cgroup_parent, "shype");
}

TEST(BootConfig, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(error_of("xsm = acm\nbogus\n"), "boot.conf:2: expected 'key = value'");
  EXPECT_EQ(error_of("\n\nxsm = flask\n"),
            "boot.conf:3: xsm must be 'acm' or 'dummy', not 'flask'");
  EXPECT_EQ(error_of("colour = blue\n"),
            "boot.conf:1: unknown key 'colour' (known: xsm, policy, dom0_label, dom0_ssidref, "
            "cgroup, dom0_cpus)");
  EXPECT_EQ(error_of("xsm = acm\nxsm = acm\n"), "boot.conf:2: 'xsm' given twice");
  EXPECT_EQ(error_of("policy =\n"), "boot.conf:1: missing value for 'policy'");
  EXPECT_EQ(error_of(" = x\n"), "boot.conf:1: missing key before '='");
  EXPECT_EQ(error_of("dom0_label = A\ndom0_ssidref = 0x1\n"),
            "boot.conf:2: dom0_label and dom0_ssidref are exclusive");
  EXPECT_EQ(error_of("dom0_ssidref = 12\n"),
            "boot.conf:1: dom0_ssidref must be a 32-bit hexadecimal number like 0x00010001, not "
            "'12'");
  EXPECT_EQ(error_of("dom0_ssidref = 0x100000000\n"),
            "boot.conf:1: dom0_ssidref must be a 32-bit hexadecimal number like 0x00010001, not "
            "'0x100000000'");
  EXPECT_EQ(error_of("cgroup = ../up\n"),
            "boot.conf:1: cgroup must be a relative cgroup name without '..'");
  EXPECT_EQ(error_of("dom0_cpus = 0-\n"),
            "boot.conf:1: dom0_cpus: '0-' is not a CPU or a range of CPUs");
  EXPECT_EQ(error_of("dom0_cpus = 1024\n").rfind("boot.conf:1: dom0_cpus: CPU 1024 in '1024' does not exist", 0), 0u);
}

TEST(BootConfig, Dom0CpusIsACpuList) {
  auto config = parse("dom0_cpus = 0\n");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->dom0_cpus, (std::vector<std::uint32_t>{0}));
  EXPECT_FALSE(parse("xsm = acm\n")->dom0_cpus) << "unset: the host places everything";
}

class BootPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("shype-boot-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "etc/shype");
    auto compiled = acm::compile_policy(acm::testing::mytest_model(), {});
    ASSERT_TRUE(compiled) << compiled.error().to_string();
    image_ = compiled->image;
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const fs::path& relative, const std::vector<std::uint8_t>& bytes) {
    ASSERT_TRUE(acm::write_file_atomic(root_ / relative, bytes));
  }

  fs::path root_;
  acm::PolicyImage image_;
};

TEST_F(BootPlanTest, BuiltInDefaultAndLabelName) {
  BootConfig config;
  config.dom0_label = "SystemManagement";
  auto plan = plan_boot(config, root_);
  ASSERT_TRUE(plan) << plan.error().to_string();
  EXPECT_TRUE(plan->xsm.boot_policy.empty());
  EXPECT_EQ(plan->xsm.domain0_ssidref, 0x00010001u);
  EXPECT_EQ(plan->policy_source, "built-in DEFAULT");
}

TEST_F(BootPlanTest, CompactPolicyCarriesNames) {
  write("etc/shype/mytest.bin", acm::write_compact_policy(image_));
  BootConfig config;
  config.policy = "etc/shype/mytest.bin";  // relative to the root
  config.dom0_label = "A-Bank";
  auto plan = plan_boot(config, root_);
  ASSERT_TRUE(plan) << plan.error().to_string();
  EXPECT_FALSE(plan->xsm.boot_policy.empty());
  const auto labels = acm::map_labels(image_);
  EXPECT_EQ(plan->xsm.domain0_ssidref, *acm::find_label_ssidref(labels, "A-Bank", 'V'));
}

TEST_F(BootPlanTest, XenPolicyNeedsItsMapFile) {
  acm::PolicyImage unnamed = image_;
  write("etc/shype/mytest.bin", acm::write_xen_policy(unnamed));
  BootConfig config;
  config.policy = root_ / "etc/shype/mytest.bin";  // absolute
  config.dom0_label = "B-Bank";
  auto missing = plan_boot(config, root_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("mytest.map"), std::string::npos)
      << missing.error().message;

  const std::string map = acm::write_map_file(image_, "mytest.xml", "mytest.bin");
  ASSERT_TRUE(acm::write_file_atomic(root_ / "etc/shype/mytest.map", map));
  auto plan = plan_boot(config, root_);
  ASSERT_TRUE(plan) << plan.error().to_string();
  const auto labels = acm::map_labels(image_);
  EXPECT_EQ(plan->xsm.domain0_ssidref, *acm::find_label_ssidref(labels, "B-Bank", 'V'));
}

TEST_F(BootPlanTest, UnknownLabelAndMissingPolicyFail) {
  BootConfig config;
  config.dom0_label = "NoSuchLabel";
  auto plan = plan_boot(config, root_);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("NoSuchLabel"), std::string::npos);
  config = BootConfig{};
  config.policy = "etc/shype/missing.bin";
  EXPECT_FALSE(plan_boot(config, root_));
}

TEST_F(BootPlanTest, MissingFileIsTheDefaultConfiguration) {
  auto config = read_boot_config(root_ / "etc/shype/boot.conf");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->xsm_module, "acm");
  std::ofstream(root_ / "etc/shype/boot.conf") << "xsm = dummy\nwhat\n";
  auto bad = read_boot_config(root_ / "etc/shype/boot.conf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().to_string(), (root_ / "etc/shype/boot.conf").string() +
                                         ":2: expected 'key = value'");
}

}  // namespace
}  // namespace shype::hv
