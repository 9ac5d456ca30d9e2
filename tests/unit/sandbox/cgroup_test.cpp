// parse_cgroup_layout on the shapes hosts come in, and the names the
// sandbox accepts.
#include "sandbox/cgroup.hpp"

#include <iostream>

#include <gtest/gtest.h>

#include "sandbox/sandbox.hpp"

namespace shype::sandbox {
namespace {

constexpr const char* kV1Mountinfo =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupLayout, V1SeparateHierarchies) {
  const auto layout = parse_cgroup_layout(kV1Mountinfo,
                                          "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n"
                                          "2:cpuacct:/\n1:cpu:/\n0::/\n",
                                          "");
  EXPECT_EQ(layout.version, CgroupVersion::v1);
  EXPECT_EQ(layout.memory_dir, "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(layout.pids_dir, "/sys/fs/cgroup/pids");
  EXPECT_EQ(layout.cpu_dir, "/sys/fs/cgroup/cpu");
}

TEST(CgroupLayout, V1CombinedCpuAndContainerSubtree) {
  const auto layout = parse_cgroup_layout(
      "1 0 0:1 /docker/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "2 0 0:2 /docker/c1 /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n"
      "3 0 0:3 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
      "5:memory:/docker/c1\n4:pids:/docker/c1/inner\n3:cpu,cpuacct:/user.slice\n", "");
  EXPECT_EQ(layout.version, CgroupVersion::v1);
  EXPECT_EQ(layout.memory_dir, "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout.pids_dir, "/sys/fs/cgroup/pids/inner");
  EXPECT_EQ(layout.cpu_dir, "/sys/fs/cgroup/cpu,cpuacct/user.slice");
}

TEST(CgroupLayout, V1EscapedMountPoint) {
  const auto layout = parse_cgroup_layout(
      "1 0 0:1 / /cg\\040roups/memory rw - cgroup cgroup rw,memory\n"
      "2 0 0:2 / /cg\\040roups/pids rw - cgroup cgroup rw,pids\n",
      "2:memory:/a\n1:pids:/b\n", "");
  EXPECT_EQ(layout.memory_dir, "/cg roups/memory/a");
  EXPECT_EQ(layout.cpu_dir, "");
}

TEST(CgroupLayout, V2WithMemoryAndPids) {
  const auto layout = parse_cgroup_layout("", "0::/system.slice/shype.service\n",
                                          "cpuset cpu io memory hugetlb pids rdma misc\n");
  EXPECT_EQ(layout.version, CgroupVersion::v2);
  EXPECT_EQ(layout.v2_dir, "/sys/fs/cgroup/system.slice/shype.service");
}

TEST(CgroupLayout, NoneWhenControllersAreMissing) {
  const auto layout =
      parse_cgroup_layout("1 0 0:1 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
                          "1:memory:/\n0::/\n", "cpu io memory\n");
  EXPECT_EQ(layout.version, CgroupVersion::none);
  EXPECT_NE(layout.detail.find("pids"), std::string::npos) << layout.detail;
}

TEST(CgroupLayout, ParentNames) {
  EXPECT_TRUE(is_valid_cgroup_parent("shype"));
  EXPECT_TRUE(is_valid_cgroup_parent("shype/domains"));
  for (const char* bad : {"", "/shype", "shype/", "a//b", "../x", "a/./b", "a b", "a:b"}) {
    EXPECT_FALSE(is_valid_cgroup_parent(bad)) << bad;
  }
}

TEST(DomainName, WhatTheSandboxAccepts) {
  const std::string longest(63, 'x');
  for (const std::string& good : {std::string("Domain-0"), std::string("dom_HomeBanking"),
                                  std::string("a"), std::string("vm.1"), longest}) {
    EXPECT_TRUE(is_valid_domain_name(good)) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string(64, 'x'), std::string("-x"), std::string(".x"),
        std::string("a/b"), std::string("a b"), std::string("a\nb"), std::string("a:b")}) {
    EXPECT_FALSE(is_valid_domain_name(bad)) << bad;
  }
}

TEST(ProbeHost, ReportsWhatItFound) {
  const HostSupport host = probe_host();
  EXPECT_FALSE(host.detail.empty());
  EXPECT_NE(host.detail.find("user namespaces"), std::string::npos) << host.detail;
  std::cout << "host: " << host.detail << "\n";
}

}  // namespace
}  // namespace shype::sandbox
