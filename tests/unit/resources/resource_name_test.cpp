#include "resources/resource_name.hpp"

#include <string>

#include <gtest/gtest.h>

#include "temp_root.hpp"

namespace shype::resources {
namespace {

using testing::TempRoot;

class CanonicalizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.write("/home/xen/dom_fc5/fedora.fc5.img", "image");
    root_.write("/home/xen/dom_fc5/fedora.fc5.swap", "swap");
    root_.symlink("dom_fc5/fedora.fc5.img", "/home/xen/current.img");
    root_.symlink("/etc", "/home/xen/etc-link");
    root_.mkdirs("/dev/mapper");
    have_devices_ =
        root_.block_device("/dev/sda1", 8, 1) && root_.block_device("/dev/dm-3", 253, 3);
    root_.symlink("../dm-3", "/dev/mapper/vg-lv");
    root_.write("/dev/not-a-block-device", "");
  }

  // The canonical name, or the error message.
  std::string canon(std::string_view spec, bool must_exist, std::string_view cwd = "/") {
    auto name = canonicalize(fs_, spec, cwd, must_exist);
    return name ? name->to_string() : "error: " + name.error().message;
  }

  TempRoot root_;
  RootFs fs_{root_.dir()};
  bool have_devices_ = false;
};

TEST_F(CanonicalizeTest, XensMessages) {
  EXPECT_EQ(canon("/home/xen/x.img", false),
            "error: Resource spec '/home/xen/x.img' contains no ':' delimiter");
  EXPECT_EQ(canon("", false), "error: Resource spec '' contains no ':' delimiter");
  EXPECT_EQ(canon("tap:/home/xen/x.img", false),
            "error: Resource spec 'tap:/home/xen/x.img' contains no tap subtype");
  EXPECT_EQ(canon("tap:aio:/x:y", false),
            "error: Resource spec 'tap:aio:/x:y' contains no tap subtype");
  EXPECT_EQ(canon("tap::/x", false), "error: Resource spec 'tap::/x' contains no tap subtype");
  EXPECT_EQ(canon("vlan:0", false), "error: VLAN ID 0 out of range.");
  EXPECT_EQ(canon("vlan:4096", false), "error: VLAN ID 4096 out of range.");
  EXPECT_EQ(canon("vlan:-3", false), "error: VLAN ID -3 out of range.");
  EXPECT_EQ(canon("vlan:99999999999999999999", false),
            "error: VLAN ID 99999999999999999999 out of range.");
  EXPECT_EQ(canon("vlan:abc", false), "error: Invalid VLAN : abc");
  EXPECT_EQ(canon("vlan:", false), "error: Invalid VLAN : ");
  EXPECT_EQ(canon("vlan:0x10", false), "error: Invalid VLAN : 0x10");
  EXPECT_EQ(canon("iscsi:target0", false), "error: Invalid resource.");
  EXPECT_EQ(canon(":/x", false), "error: Invalid resource.");
  EXPECT_EQ(canon("iscsi:/dev/iscsi0", true), "error: Invalid resource.");
  EXPECT_EQ(canon("file:/home/xen/missing.img", true), "error: Invalid resource");
  EXPECT_EQ(canon("file:/home/xen/dom_fc5", true), "error: Invalid resource");  // a directory
  EXPECT_EQ(canon("phy:nosuchdisk", true), "error: Invalid resource");
  EXPECT_EQ(canon("phy:/dev/not-a-block-device", true), "error: Invalid resource");
}

TEST_F(CanonicalizeTest, VlanIdsAreDecimal) {
  EXPECT_EQ(canon("vlan:12", true), "vlan:12");
  EXPECT_EQ(canon("vlan:012", false), "vlan:12");
  EXPECT_EQ(canon("vlan: 7 ", false), "vlan:7");
  EXPECT_EQ(canon("vlan:+4095", false), "vlan:4095");
  EXPECT_EQ(canon("vlan:1", false), "vlan:1");
  auto name = canonicalize(fs_, "vlan:12", "/", true);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->type, "vlan");
  EXPECT_EQ(name->path, "12");
  EXPECT_FALSE(name->is_file_backed());
}

TEST_F(CanonicalizeTest, FilesResolveInsideTheRoot) {
  EXPECT_EQ(canon("file:/home/xen/dom_fc5/fedora.fc5.img", true),
            "file:/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(canon("file:/home/xen/current.img", true), "file:/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(canon("file:dom_fc5/fedora.fc5.swap", true, "/home/xen"),
            "file:/home/xen/dom_fc5/fedora.fc5.swap");
  EXPECT_EQ(canon("file:../current.img", true, "/home/xen/dom_fc5"),
            "file:/home/xen/dom_fc5/fedora.fc5.img");
  // Labeling does not require existence (Xen's mustexist=False).
  EXPECT_EQ(canon("file:/home/xen/later.img", false), "file:/home/xen/later.img");
  // A symlink to /etc is the root's /etc, never the host's.
  EXPECT_EQ(canon("file:/home/xen/etc-link/shadow", false), "file:/etc/shadow");
  EXPECT_EQ(canon("file:/home/xen/etc-link/passwd", true), "error: Invalid resource");
  EXPECT_EQ(canon("file:x.img", false, "relative"),
            "error: working directory 'relative' is not an absolute path");
}

TEST_F(CanonicalizeTest, TapKeepsItsSubtype) {
  auto name = canonicalize(fs_, "tap:aio:/home/xen/current.img", "/", true);
  ASSERT_TRUE(name) << name.error().to_string();
  EXPECT_EQ(name->type, "tap");
  EXPECT_EQ(name->subtype, "aio");
  EXPECT_EQ(name->path, "/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(name->to_string(), "tap:aio:/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_TRUE(name->is_file_backed());
  EXPECT_EQ(canon("tap:qcow:dom_fc5/fedora.fc5.img", false, "/home/xen"),
            "tap:qcow:/home/xen/dom_fc5/fedora.fc5.img");
}

TEST_F(CanonicalizeTest, PhysicalDevices) {
  EXPECT_EQ(canon("phy:hda6", false), "phy:/dev/hda6");
  EXPECT_EQ(canon("phy:/dev/hda6", false), "phy:/dev/hda6");
  // Not required to exist: the name is kept as written (stable across
  // reboots), symlinks and all.
  EXPECT_EQ(canon("phy:mapper/vg-lv", false), "phy:/dev/mapper/vg-lv");
  if (!have_devices_) GTEST_SKIP() << "mknod refused; cannot make block devices";
  EXPECT_EQ(canon("phy:sda1", true), "phy:/dev/sda1");
  EXPECT_EQ(canon("phy:/dev/mapper/vg-lv", true), "phy:/dev/dm-3");
  EXPECT_EQ(canon("phy:mapper/vg-lv", true), "phy:/dev/dm-3");
}

TEST_F(CanonicalizeTest, OtherTypesNeedAbsolutePaths) {
  EXPECT_EQ(canon("iscsi:/dev/iscsi0", false), "iscsi:/dev/iscsi0");
  EXPECT_EQ(canon("drbd:/home/xen/current.img", true),
            "drbd:/home/xen/current.img");  // not resolved
}

TEST(ResourceNameParse, AcceptsCanonicalNamesOnly) {
  for (const char* text : {"file:/home/xen/x.img", "tap:aio:/x.img", "phy:/dev/sda1", "vlan:12",
                           "vlan:4095", "iscsi:/dev/x"}) {
    auto name = ResourceName::parse_canonical(text);
    ASSERT_TRUE(name) << text;
    EXPECT_EQ(name->to_string(), text);
  }
  for (const char* text : {"file:x.img", "vlan:012", "vlan:0", "vlan:4096", "vlan:x", "tap:/x",
                           "tap:aio:x", ":/x", "nocolon", "phy:"}) {
    auto name = ResourceName::parse_canonical(text);
    ASSERT_FALSE(name) << text;
    EXPECT_EQ(name.error().message, "'" + std::string(text) + "' is not a canonical resource name");
  }
}

}  // namespace
}  // namespace shype::resources
