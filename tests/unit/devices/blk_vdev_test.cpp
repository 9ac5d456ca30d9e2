// vdev_to_devid (toolstack/devices/blk/vdev.cpp): Xen's device numbers.
#include <gtest/gtest.h>

#include "devices/device_host.hpp"

namespace shype::devices {
namespace {

TEST(BlkVdev, XenVirtualDisks) {
  EXPECT_EQ(vdev_to_devid("xvda"), 51712u);  // 202 << 8
  EXPECT_EQ(vdev_to_devid("xvdb"), 51728u);
  EXPECT_EQ(vdev_to_devid("xvda1"), 51713u);
  EXPECT_EQ(vdev_to_devid("xvdp15"), (202u << 8) | (15u << 4) | 15u);
  EXPECT_EQ(vdev_to_devid("/dev/xvdc"), 51744u);
}

TEST(BlkVdev, ExtendedXenNumbers) {
  EXPECT_EQ(vdev_to_devid("xvdq"), (1u << 28) | (16u << 8));
  EXPECT_EQ(vdev_to_devid("xvdz3"), (1u << 28) | (25u << 8) | 3u);
  EXPECT_EQ(vdev_to_devid("xvdaa"), (1u << 28) | (26u << 8));
  EXPECT_EQ(vdev_to_devid("xvda16"), (1u << 28) | 16u);
}

TEST(BlkVdev, IdeAndScsi) {
  EXPECT_EQ(vdev_to_devid("hda"), 768u);
  EXPECT_EQ(vdev_to_devid("hda1"), 769u);
  EXPECT_EQ(vdev_to_devid("hdb"), (3u << 8) | 64u);
  EXPECT_EQ(vdev_to_devid("hdc"), 22u << 8);
  EXPECT_EQ(vdev_to_devid("hdt63"), (91u << 8) | 64u | 63u);
  EXPECT_EQ(vdev_to_devid("sda"), 2048u);
  EXPECT_EQ(vdev_to_devid("sda1"), 2049u);
  EXPECT_EQ(vdev_to_devid("sdb2"), 2048u + 16u + 2u);
}

TEST(BlkVdev, RefusesWhatIsNotAVdev) {
  for (const char* bad : {"", "xvd", "xvda0", "xvda01", "xvdA", "xvda-1", "xvdaaa", "hdu", "hda64",
                          "sdq", "sda16", "vda", "51712", "xvda1x", "xvda256"}) {
    EXPECT_FALSE(vdev_to_devid(bad)) << bad;
  }
}

}  // namespace
}  // namespace shype::devices
