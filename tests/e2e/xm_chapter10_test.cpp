// The manual's chapter 10 (sections 10.2.1 to 10.3.5) replayed through the
// real xm, xend and shype-hv: every transcript, in the manual's order, with
// the manual's own text as the expected output (times, ids and column
// spacing ignored; see xm_fixture.hpp).
//
// The transcripts are copied from /work/shared/seeds/xen-3.3-users-manual.txt
// with its OCR damage repaired: `UNLABELED` and `___UNLABELED___` are
// `__UNLABELED__`, `A-Bank MA` is `A-Bank.MA`, five-flag states such as
// `r----` are `r-----`, and tables whose columns were run together are
// written out again. Other departures are explained where they occur.
#include "xm_fixture.hpp"

namespace shype::testing {
namespace {

constexpr std::string_view kDefaultPolicy = R"(
Supported security subsystems : ACM
Policy name : DEFAULT
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded
)";

constexpr std::string_view kSetMytest = R"(
Successfully set the new policy.
Supported security subsystems : ACM
Policy name : mytest
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded, activated for boot
)";

constexpr std::string_view kMytestLabels = R"(
A-Bank
A-Bank.MarketAnalysis
A-Bank.SecurityUnderwriting
AutoCorp
B-Bank
SystemManagement
__UNLABELED__
)";

constexpr std::string_view kOnlyDom0Mytest = R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 875 1 r----- 86.4 ACM:mytest:SystemManagement
)";

constexpr std::string_view kDomain1ABank = R"(
Name ID Mem VCPUs State Time(s) Label
domain1 3 128 1 -b---- 0.8 ACM:mytest:A-Bank
Domain-0 0 875 1 r----- 90.9 ACM:mytest:SystemManagement
)";

std::string started(int n) {
  const std::string name = "domain" + std::to_string(n);
  return "Using config file \"./" + name + ".xm\".\nStarted domain " + name + "\n";
}

std::string refused(int n, const std::string& error) {
  return "Using config file \"./domain" + std::to_string(n) + ".xm\".\nError: " + error + "\n";
}

std::string resource(const std::string& name, const std::string& type, const std::string& policy,
                     const std::string& label) {
  return name + "\n      type: " + type + "\n    policy: " + policy + "\n    label:  " + label +
         "\n";
}

class XmChapter10 : public XmTest {
 protected:
  // 10.2.3 (5) and the list that follows it.
  void deploy_mytest() {
    expect_transcript({"setpolicy", "ACM", "mytest"}, kSetMytest);
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 941 1 r----- 81.5 ACM:mytest:SystemManagement
)");
  }
};

// 10.2.1: "Xen will boot into the default security policy."
TEST_F(XmChapter10, BootsIntoTheDefaultPolicy) {
  expect_transcript({"getpolicy"}, kDefaultPolicy);
  expect_transcript({"labels"}, "SystemManagement\n");
  expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 941 1 r----- 38.1 ACM:DEFAULT:SystemManagement
)");
  // "In this state, no domains can be started."
  const XmResult r = xm({"create", "domain4.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(domain_listed("domain4"));
}

// The whole walk-through, in order: 10.2.1 to 10.2.8, then 10.3.5.
TEST_F(XmChapter10, Walkthrough) {
  {
    SCOPED_TRACE("10.2.1 the DEFAULT policy");
    expect_transcript({"getpolicy"}, kDefaultPolicy);
    expect_transcript({"labels"}, "SystemManagement\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 941 1 r----- 38.1 ACM:DEFAULT:SystemManagement
)");
  }
  {
    SCOPED_TRACE("10.2.3 (5) xm setpolicy ACM mytest");
    deploy_mytest();
  }
  {
    SCOPED_TRACE("10.2.4 an unlabeled domain1 runs under mytest");
    expect_transcript({"create", "domain1.xm"}, started(1));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 1 128 1 -b---- 0.7 ACM:mytest:__UNLABELED__
Domain-0 0 875 1 r----- 84.6 ACM:mytest:SystemManagement
)");
    shutdown_and_wait("domain1");
    expect_list_label(kOnlyDom0Mytest);
    expect_transcript({"labels"}, kMytestLabels);
  }
  {
    SCOPED_TRACE("10.2.4 (6) labeling domain1 and domain2");
    quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
    quietly({"addlabel", "B-Bank", "dom", "domain2.xm"});
    EXPECT_EQ(slurp(work_ / "domain1.xm"),
              domain_config(1) + "access_control = ['policy=mytest,label=A-Bank']\n");
    EXPECT_EQ(slurp(work_ / "domain2.xm"),
              domain_config(2) + "access_control = ['policy=mytest,label=B-Bank']\n");
    expect_transcript({"getlabel", "dom", "domain1.xm"},
                      "policytype=ACM,policy=mytest,label=A-Bank\n");
    expect_transcript(
        {"create", "domain1.xm"},
        refused(1, "VM's access to block device 'file:/home/xen/dom_fc5/fedora.fc5.img' denied"),
        1);
    expect_list_label(kOnlyDom0Mytest);
  }
  {
    SCOPED_TRACE("10.2.5 (7) labeling resources");
    quietly({"addlabel", "A-Bank", "res", kFc5Image});
    quietly({"addlabel", "A-Bank", "res", kFc5Swap});
    expect_resources(R"(
file:/home/xen/dom_fc5/fedora.fc5.swap
    type: ACM
    policy: mytest
    label: A-Bank
file:/home/xen/dom_fc5/fedora.fc5.img
    type: ACM
    policy: mytest
    label: A-Bank
)");
    expect_transcript({"create", "domain1.xm"}, started(1));
    expect_list_label(kDomain1ABank);
    // (8) "Label the resources of domain2 as B-Bank but please do not start
    // this domain yet."
    quietly({"addlabel", "B-Bank", "res", domain_disk(2)});
  }
  {
    SCOPED_TRACE("10.2.6 Test 1: run-time exclusion rules");
    expect_list_label(kDomain1ABank);
    expect_transcript({"create", "domain2.xm"},
                      refused(2, "'Domain in conflict set with running domains'"), 1);
    shutdown_and_wait("domain1");
    expect_list_label(kOnlyDom0Mytest);
    expect_transcript({"create", "domain2.xm"}, started(2));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain2 5 164 1 -b---- 0.3 ACM:mytest:B-Bank
Domain-0 0 839 1 r----- 96.4 ACM:mytest:SystemManagement
)");
    // The manual prints this refusal as `Using config file "domain1.xm".` and
    // `Error: 'Domain in conflict with running domains'`, unlike the same
    // refusal above; one refusal has one text (reference 6.2 step 5).
    expect_transcript({"create", "domain1.xm"},
                      refused(1, "'Domain in conflict set with running domains'"), 1);
    shutdown_and_wait("domain2");
    expect_list_label(kOnlyDom0Mytest);
  }
  {
    SCOPED_TRACE("10.2.6 Test 2: resource access");
    quietly({"rmlabel", "res", kFc5Swap});
    quietly({"addlabel", "B-Bank", "res", kFc5Swap});
    // The manual's listing leaves out domain2's disk labeled in step (8).
    expect_resources(R"(
file:/home/xen/dom_fc5/fedora.fc5.swap
    type: ACM
    policy: mytest
    label: B-Bank
file:/home/xen/dom_fc5/fedora.fc5.img
    type: ACM
    policy: mytest
    label: A-Bank
)" + resource(domain_disk(2), "ACM", "mytest", "B-Bank"));
    expect_transcript(
        {"create", "domain1.xm"},
        refused(1, "VM's access to block device 'file:/home/xen/dom_fc5/fedora.fc5.swap' denied"),
        1);
    expect_list_label(kOnlyDom0Mytest);
  }
  {
    SCOPED_TRACE("10.2.7 labeling Domain-0");
    quietly({"rmlabel", "res", kFc5Swap});
    quietly({"addlabel", "A-Bank", "res", kFc5Swap});
    expect_transcript({"create", "domain1.xm"}, started(1));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 7 128 1 -b---- 0.7 ACM:mytest:A-Bank
Domain-0 0 839 1 r----- 103.1 ACM:mytest:SystemManagement
)");
    // "This command fails if any running domain has an STE type in its label
    // that is not included in the A-Bank label": B-Bank lacks domain1's A-Bank.
    const XmResult refused_relabel = xm({"addlabel", "B-Bank", "mgt", "Domain-0"});
    EXPECT_EQ(refused_relabel.exit_code, 1) << refused_relabel;
    EXPECT_EQ(refused_relabel.out, "") << refused_relabel;
    EXPECT_EQ(refused_relabel.err.rfind("Error: An error occurred relabeling the domain: ", 0), 0u)
        << refused_relabel;
    expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:SystemManagement\n");

    expect_transcript({"addlabel", "A-Bank", "mgt", "Domain-0"},
                      "Successfully set the label of domain 'Domain-0' to 'A-Bank'.\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 839 1 r----- 103.7 ACM:mytest:A-Bank
domain1 7 128 1 -b---- 0.7 ACM:mytest:A-Bank
)");
    quietly({"addlabel", "AutoCorp", "dom", "domain3.xm"});
    // "(remember to label its resources, too)"
    quietly({"addlabel", "AutoCorp", "res", domain_disk(3)});
    expect_transcript({"create", "domain3.xm"}, refused(3, "VM is not authorized to run."), 1);
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 839 1 r----- 104.7 ACM:mytest:A-Bank
domain1 7 128 1 -b---- 0.7 ACM:mytest:A-Bank
)");
    expect_transcript({"getlabel", "dom", "domain4.xm"}, "Error: 'Domain not labeled'\n", 1);
    expect_transcript({"create", "domain4.xm"}, refused(4, "VM is not authorized to run."), 1);

    expect_transcript({"addlabel", "SystemManagement", "mgt", "Domain-0"},
                      "Successfully set the label of domain 'Domain-0' to 'SystemManagement'.\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 7 128 1 -b---- 0.8 ACM:mytest:A-Bank
Domain-0 0 839 1 r----- 106.6 ACM:mytest:SystemManagement
)");
    expect_transcript({"create", "domain3.xm"}, started(3));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 7 128 1 -b---- 0.8 ACM:mytest:A-Bank
domain3 8 164 1 -b---- 0.3 ACM:mytest:AutoCorp
Domain-0 0 711 1 r----- 107.6 ACM:mytest:SystemManagement
)");
  }
  {
    SCOPED_TRACE("10.2.8 labeling managed domains");
    shutdown_and_wait("domain1");
    shutdown_and_wait("domain3");
    quietly({"rmlabel", "dom", "domain1.xm"});
    quietly({"new", "domain1.xm"});
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 -1 128 1 ------ 0.0 ACM:mytest:__UNLABELED__
Domain-0 0 711 1 r----- 128.4 ACM:mytest:SystemManagement
)");
    expect_transcript({"addlabel", "A-Bank", "mgt", "domain1"},
                      "Successfully set the label of the dormant domain 'domain1' to 'A-Bank'.\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 -1 128 1 ------ 0.0 ACM:mytest:A-Bank
Domain-0 0 711 1 r----- 129.7 ACM:mytest:SystemManagement
)");
    quietly({"start", "domain1"});
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 9 128 1 -b---- 0.1 ACM:mytest:A-Bank
Domain-0 0 711 1 r----- 130.0 ACM:mytest:SystemManagement
)");
    shutdown_and_wait("domain1");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 -1 128 1 ------ 0.0 ACM:mytest:A-Bank
Domain-0 0 711 1 r----- 130.0 ACM:mytest:SystemManagement
)");
    quietly({"delete", "domain1"});
    expect_list_label(kOnlyDom0Mytest);
  }
  {
    SCOPED_TRACE("10.3.5 updating the policy at run time");
    // domain1 labeled again (rmlabel only commented its label out) and
    // domain4 as the manual's A-Bank.SecurityUnderwriting domain.
    quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
    quietly({"addlabel", "A-Bank.SecurityUnderwriting", "dom", "domain4.xm"});
    quietly({"addlabel", "A-Bank.SecurityUnderwriting", "res", domain_disk(4)});
    expect_transcript({"create", "domain1.xm"}, started(1));
    expect_transcript({"create", "domain4.xm"}, started(4));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.6 ACM:mytest:A-Bank
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SecurityUnderwriting
Domain-0 0 711 1 r----- 71.8 ACM:mytest:SystemManagement
)");
    // The manual's listings show only domain1's two files; domain2..4's
    // disks were labeled on the way here.
    const std::string others = resource(domain_disk(2), "ACM", "mytest", "B-Bank") +
                               resource(domain_disk(3), "ACM", "mytest", "AutoCorp");
    const std::string fc5 = R"(
file:/home/xen/dom_fc5/fedora.fc5.swap
    type: ACM
    policy: mytest
    label: A-Bank
file:/home/xen/dom_fc5/fedora.fc5.img
    type: ACM
    policy: mytest
    label: A-Bank
)";
    expect_resources(fc5 + others +
                     resource(domain_disk(4), "ACM", "mytest", "A-Bank.SecurityUnderwriting"));
    expect_transcript({"setpolicy", "ACM", "mytest_update"}, R"(
Successfully set the new policy.
Supported security subsystems : ACM
Policy name : mytest
Policy type : ACM
Version of XML policy : 1.1
Policy configuration : loaded, activated for boot
)");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.7 ACM:mytest:A-Bank
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SU
Domain-0 0 711 1 r----- 72.8 ACM:mytest:SystemManagement
)");
    // The manual's listing stops before SystemManagement, which the update
    // policy (policies/mytest_update-security_policy.xml, figure 10.7) keeps
    // as a VM label; xm labels lists every VM label.
    expect_transcript({"labels"}, R"(
A-Bank
A-Bank-WL
A-Bank.MA
A-Bank.SU
AutoCorp
B-Bank
SystemManagement
)");
    expect_resources(fc5 + others + resource(domain_disk(4), "ACM", "mytest", "A-Bank.SU"));

    expect_transcript({"addlabel", "A-Bank-WL", "mgt", "Domain-0"},
                      "Successfully set the label of domain 'Domain-0' to 'A-Bank-WL'.\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.8 ACM:mytest:A-Bank
Domain-0 0 711 1 r----- 74.5 ACM:mytest:A-Bank-WL
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SU
)");
    expect_transcript({"getlabel", "dom", "domain3.xm"},
                      "policytype=ACM,policy=mytest,label=AutoCorp\n");
    expect_transcript({"create", "domain3.xm"}, refused(3, "VM is not authorized to run."), 1);
    expect_transcript({"addlabel", "SystemManagement", "mgt", "Domain-0"},
                      "Successfully set the label of domain 'Domain-0' to 'SystemManagement'.\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.8 ACM:mytest:A-Bank
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SU
Domain-0 0 709 1 r----- 76.4 ACM:mytest:SystemManagement
)");
    expect_transcript({"create", "domain3.xm"}, started(3));
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.8 ACM:mytest:A-Bank
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SU
domain3 4 164 1 -b---- 0.3 ACM:mytest:AutoCorp
Domain-0 0 547 1 r----- 77.5 ACM:mytest:SystemManagement
)");
  }
  {
    SCOPED_TRACE("10.3.5 removing the policy");
    // "When resetting the policy, no labeled domains can be running."
    const XmResult refused_reset = xm({"resetpolicy"});
    EXPECT_EQ(refused_reset.exit_code, 1) << refused_reset;
    EXPECT_EQ(refused_reset.out, "") << refused_reset;
    EXPECT_EQ(normalized_lines(refused_reset.err).at(0),
              "Error: Could not reset the system's policy. Try to halt all guests.")
        << refused_reset;
    // The manual shows 1.0 here; this replay updated mytest to 1.1 first.
    const std::string_view mytest_1_1 = R"(
Supported security subsystems : ACM
Policy name : mytest
Policy type : ACM
Version of XML policy : 1.1
Policy configuration : loaded, activated for boot
)";
    expect_transcript({"getpolicy"}, mytest_1_1);
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain1 2 128 1 -b---- 0.8 ACM:mytest:A-Bank
domain4 3 164 1 -b---- 0.3 ACM:mytest:A-Bank.SU
domain3 4 164 1 -b---- 0.3 ACM:mytest:AutoCorp
Domain-0 0 547 1 r----- 77.5 ACM:mytest:SystemManagement
)");
    shutdown_and_wait("domain1");
    shutdown_and_wait("domain3");
    shutdown_and_wait("domain4");
    expect_transcript({"resetpolicy"}, "Successfully reset the system's policy.\n");
    expect_transcript({"getpolicy"}, kDefaultPolicy);
    expect_resources(R"(
file:/home/xen/dom_fc5/fedora.fc5.swap
    type: INV_ACM
    policy: mytest
    label: A-Bank
file:/home/xen/dom_fc5/fedora.fc5.img
    type: INV_ACM
    policy: mytest
    label: A-Bank
)" + resource(domain_disk(2), "INV_ACM", "mytest", "B-Bank") +
                     resource(domain_disk(3), "INV_ACM", "mytest", "AutoCorp") +
                     resource(domain_disk(4), "INV_ACM", "mytest", "A-Bank.SU"));
  }
  {
    SCOPED_TRACE("10.3.5 changing to a different policy");
    expect_transcript({"resetpolicy"}, "Successfully reset the system's policy.\n");
    expect_transcript({"setpolicy", "ACM", "example.test"}, R"(
Successfully set the new policy.
Supported security subsystems : ACM
Policy name : example.test
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded, activated for boot
)");
    expect_transcript({"labels"}, "CocaCola\nPepsiCo\nSystemManagement\nVIO\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 873 1 r----- 56.3 ACM:example.test:SystemManagement
)");
    expect_transcript({"resetpolicy"}, "Successfully reset the system's policy.\n");
    expect_transcript({"getpolicy"}, kDefaultPolicy);
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 873 1 r----- 57.2 ACM:DEFAULT:SystemManagement
)");
    expect_transcript({"setpolicy", "ACM", "mytest"}, kSetMytest);
    expect_transcript({"labels"}, kMytestLabels);
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 873 1 r----- 58.0 ACM:mytest:SystemManagement
)");
  }
}

// 10.2.7: a Domain-0 label that does not cover a running domain is refused
// and Domain-0 keeps its label; one that covers it is accepted.
TEST_F(XmChapter10, Domain0RelabelMustCoverRunningDomains) {
  deploy_mytest();
  quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
  quietly({"addlabel", "A-Bank", "res", kFc5Image});
  quietly({"addlabel", "A-Bank", "res", kFc5Swap});
  expect_transcript({"create", "domain1.xm"}, started(1));
  for (const char* label : {"B-Bank", "AutoCorp", "A-Bank.SecurityUnderwriting"}) {
    SCOPED_TRACE(label);
    const XmResult r = xm({"addlabel", label, "mgt", "Domain-0"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(r.err.rfind("Error: An error occurred relabeling the domain: ", 0), 0u) << r;
    expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:SystemManagement\n");
  }
  expect_list_label(kDomain1ABank);
  // A running user domain is relabeled only through a policy update (10.2.8).
  const XmResult user = xm({"addlabel", "AutoCorp", "mgt", "domain1"});
  EXPECT_EQ(user.exit_code, 1) << user;
  expect_list_label(kDomain1ABank);
  expect_transcript({"addlabel", "A-Bank", "mgt", "Domain-0"},
                    "Successfully set the label of domain 'Domain-0' to 'A-Bank'.\n");
  expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:A-Bank\n");
  // xm shutdown -w returns once the domain is gone.
  const XmResult waited = xm({"shutdown", "-w", "domain1"});
  EXPECT_EQ(waited.exit_code, 0) << waited;
  EXPECT_FALSE(domain_listed("domain1"));
}

// 10.2.3 "configures this policy for future boot cycles" and 10.3.4 "the
// label of Domain-0 can be persistently changed at run-time": both survive
// a restart of xend and then of the hypervisor (the hypervisor reads the
// etc/shype/boot.conf xend maintains). Resource labels and running domains
// survive a restart of xend.
TEST_F(XmChapter10, PolicyAndDomain0LabelSurviveRestarts) {
  deploy_mytest();
  quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
  quietly({"addlabel", "A-Bank", "res", kFc5Image});
  quietly({"addlabel", "A-Bank", "res", kFc5Swap});
  expect_transcript({"create", "domain1.xm"}, started(1));
  expect_transcript({"addlabel", "A-Bank", "mgt", "Domain-0"},
                    "Successfully set the label of domain 'Domain-0' to 'A-Bank'.\n");
  const std::string boot_conf = slurp(root_ / "etc/shype/boot.conf");
  EXPECT_NE(boot_conf.find("policy = boot/mytest.bin"), std::string::npos) << boot_conf;
  EXPECT_NE(boot_conf.find("dom0_label = A-Bank"), std::string::npos) << boot_conf;

  const std::string_view mytest_boot = R"(
Supported security subsystems : ACM
Policy name : mytest
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded, activated for boot
)";
  const std::string_view resources = R"(
file:/home/xen/dom_fc5/fedora.fc5.img
    type: ACM
    policy: mytest
    label: A-Bank
file:/home/xen/dom_fc5/fedora.fc5.swap
    type: ACM
    policy: mytest
    label: A-Bank
)";
  {
    SCOPED_TRACE("after restarting xend");
    ASSERT_NO_FATAL_FAILURE(restart_xend());
    expect_transcript({"getpolicy"}, mytest_boot);
    expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:A-Bank\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 839 1 r----- 103.7 ACM:mytest:A-Bank
domain1 1 128 1 -b---- 0.7 ACM:mytest:A-Bank
)");
    expect_resources(resources);
    // xend still knows domain1's disks: relabeling one in use is refused.
    const XmResult in_use = xm({"rmlabel", "res", kFc5Swap});
    EXPECT_EQ(in_use.exit_code, 1) << in_use;
    shutdown_and_wait("domain1");
  }
  {
    SCOPED_TRACE("after restarting the hypervisor");
    ASSERT_NO_FATAL_FAILURE(restart_hypervisor());
    // The hypervisor itself booted mytest with Domain-0 as A-Bank (before
    // xend started): the last boot line of its log says so.
    const std::string log = slurp(root_ / "var/log/xen/shype-hv.log");
    const auto boot = log.rfind("hypervisor started:");
    ASSERT_NE(boot, std::string::npos) << log;
    const std::string boot_line = log.substr(boot, log.find('\n', boot) - boot);
    EXPECT_NE(boot_line.find("policy 'mytest'"), std::string::npos) << boot_line;
    EXPECT_NE(boot_line.find("(A-Bank)"), std::string::npos) << boot_line;
    expect_transcript({"getpolicy"}, mytest_boot);
    expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:A-Bank\n");
    expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 839 1 r----- 103.7 ACM:mytest:A-Bank
)");
    expect_resources(resources);
    expect_transcript({"create", "domain1.xm"}, started(1));
    shutdown_and_wait("domain1");
  }
}

}  // namespace
}  // namespace shype::testing
