// xm's layouts against the manual's transcripts (chapter 10).
#include <gtest/gtest.h>

#include "xm/format.hpp"

namespace shype::xm {
namespace {

TEST(XmFormat, GetpolicyMatchesTheManual) {
  const Json policy = {{"subsystems", {"ACM"}}, {"name", "mytest"}, {"type", "ACM"},
                       {"version", "1.0"},      {"loaded", true},     {"boot", true}};
  EXPECT_EQ(format_policy(policy),
            "Supported security subsystems   : ACM \n\n"
            "Policy name           : mytest\n"
            "Policy type           : ACM\n"
            "Version of XML policy : 1.0\n"
            "Policy configuration  : loaded, activated for boot\n");
  Json default_policy = policy;
  default_policy["name"] = "DEFAULT";
  default_policy["boot"] = false;
  EXPECT_NE(format_policy(default_policy).find("Policy configuration  : loaded\n"),
            std::string::npos);
}

TEST(XmFormat, ListWithLabelsIsSortedByLabel) {
  const Json list = {{"domains",
                      {{{"name", "Domain-0"}, {"domid", 0}, {"memory", 875}, {"vcpus", 1},
                        {"state", "r-----"}, {"cpu_time", 84.6},
                        {"label", "ACM:mytest:SystemManagement"}},
                       {{"name", "domain1"}, {"domid", 3}, {"memory", 128}, {"vcpus", 1},
                        {"state", "-b----"}, {"cpu_time", 0.8}, {"label", "ACM:mytest:A-Bank"}}}}};
  const std::string text = format_list(list, true);
  EXPECT_EQ(text,
            "Name                                        ID   Mem VCPUs      State   Time(s) Label     \n"
            "domain1                                      3   128     1     -b----      0.8 ACM:mytest:A-Bank\n"
            "Domain-0                                     0   875     1     r-----     84.6 ACM:mytest:SystemManagement\n");
  EXPECT_EQ(format_list(list, false).find("Label"), std::string::npos);
}

TEST(XmFormat, ResourcesUseXensLayout) {
  const Json resources = {{"resources",
                           {{{"resource", "file:/home/xen/dom_fc5/fedora.fc5.img"},
                             {"type", "INV_ACM"},
                             {"policy", "mytest"},
                             {"label", "A-Bank"}}}}};
  EXPECT_EQ(format_resources(resources),
            "file:/home/xen/dom_fc5/fedora.fc5.img\n"
            "      type: INV_ACM\n"
            "    policy: mytest\n"
            "    label:  A-Bank\n");
}

TEST(XmFormat, DryRunReportsEveryDenial) {
  const Json report = {
      {"name", "domain1"},
      {"domain", {{"permitted", true}, {"label", "A-Bank"}, {"policy", "mytest"}}},
      {"disks",
       {{{"resource", "file:/a.img"}, {"permitted", true}},
        {{"resource", "file:/b.swap"}, {"permitted", false}, {"label", "B-Bank"},
         {"label_policy", "ACM:mytest"}}}},
      {"passed", false}};
  EXPECT_EQ(format_dry_run(report),
            "Checking domain:\n   domain1: PERMITTED\nChecking resources:\n"
            "   file:/a.img: PERMITTED\n   file:/b.swap: DENIED\n"
            "   --> res: B-Bank (ACM:mytest)\n   --> dom: A-Bank (ACM:mytest)\n"
            "Dry Run: FAILED\n");
}

TEST(XmFormat, UptimeCountsFromTheStartTime) {
  const Json list = {{"domains", {{{"name", "domain1"}, {"domid", 3}, {"start_time", 1000}}}}};
  EXPECT_EQ(format_uptime(list, 1000 + 3725),
            "Name                                ID Uptime\n"
            "domain1                              3 1:02:05\n");
}

}  // namespace
}  // namespace shype::xm
