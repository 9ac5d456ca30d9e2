// ezPolicy's Deploy against a real xend and shype-hv: a policy translated
// from the manual's Figure 10.2 workload goes to xend exactly as `xm
// setpolicy` sends it, becomes the hypervisor's policy, and enforces its
// run-time exclusion rule; xend's refusal of a broken policy comes back to
// the window with its reasons, and the active policy stays.
#include <gtest/gtest.h>

#include <string>

#include "ezpolicy/gui/deploy.hpp"
#include "ezpolicy/translator.hpp"
#include "ezpolicy/wld_file.hpp"
#include "xm_fixture.hpp"

namespace shype::testing {
namespace {

using namespace shype::ezpolicy;

constexpr const char* kFigure10_2Wld =
    "ezpolicy = {'orgs': [['__UNLABELED__', []], ['A-Bank', ['SecurityUnderwriting', "
    "'MarketAnalysis']], ['B-Bank', []], ['AutoCorp', []]], 'cons': [['', ['A-Bank', 'B-Bank', "
    "'__UNLABELED__']], ['', ['A-Bank.MarketAnalysis', 'A-Bank.SecurityUnderwriting', "
    "'__UNLABELED__']]]}";

class EzPolicyDeploy : public XmTest {};

TEST_F(EzPolicyDeploy, TheTranslatedWorkloadBecomesTheActivePolicy) {
  auto definition = parse_wld(kFigure10_2Wld, "figure10_2.wld");
  ASSERT_TRUE(definition) << definition.error().to_string();
  auto translation = translate(*definition, "ezbank");
  ASSERT_TRUE(translation) << translation.error().to_string();

  gui::DeployRequest request;
  request.root = root_;
  request.xml = translation->xml;
  request.file = "/etc/xen/acm-security/policies/ezbank-security_policy.xml";
  const gui::DeployOutcome outcome = gui::deploy_policy(request);
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_NE(outcome.message.find("ezbank"), std::string::npos) << outcome.message;

  const XmResult policy = xm({"getpolicy"});
  ASSERT_EQ(policy.exit_code, 0) << policy.text();
  EXPECT_NE(policy.out.find("Policy name           : ezbank"), std::string::npos) << policy.out;
  // Its labels are the workload's types, as xm sees them.
  const XmResult labels = xm({"labels", "type=dom"});
  ASSERT_EQ(labels.exit_code, 0) << labels.text();
  for (const char* label : {"A-Bank", "A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting",
                            "B-Bank", "AutoCorp", "SystemManagement", "__UNLABELED__"}) {
    EXPECT_NE(labels.out.find(label), std::string::npos) << label << "\n" << labels.out;
  }
  // The run-time exclusion rule holds: with an A-Bank domain running, a
  // B-Bank one may not start.
  write_file(work_ / "a.xm", std::string("kernel = \"") + kKernel +
                                 "\"\nname = \"bank_a\"\nmemory = 16\n"
                                 "access_control = ['policy=ezbank,label=A-Bank']\n");
  write_file(work_ / "b.xm", std::string("kernel = \"") + kKernel +
                                 "\"\nname = \"bank_b\"\nmemory = 16\n"
                                 "access_control = ['policy=ezbank,label=B-Bank']\n");
  const XmResult a = xm({"create", "a.xm"});
  ASSERT_EQ(a.exit_code, 0) << a.text();
  const XmResult b = xm({"create", "b.xm"});
  EXPECT_NE(b.exit_code, 0) << b.text();
  EXPECT_NE(b.text().find("Domain in conflict set with running domains"), std::string::npos)
      << b.text();
}

TEST_F(EzPolicyDeploy, ARefusalComesBackAndTheActivePolicyStays) {
  const XmResult before = xm({"getpolicy"});
  ASSERT_EQ(before.exit_code, 0) << before.text();

  gui::DeployRequest request;
  request.root = root_;
  request.xml = "<?xml version=\"1.0\"?><SecurityPolicyDefinition/>";
  request.file = "/etc/xen/acm-security/policies/broken-security_policy.xml";
  const gui::DeployOutcome outcome = gui::deploy_policy(request);
  EXPECT_FALSE(outcome.ok);
  EXPECT_FALSE(outcome.message.empty());

  const XmResult after = xm({"getpolicy"});
  ASSERT_EQ(after.exit_code, 0) << after.text();
  EXPECT_EQ(after.out, before.out);
}

TEST_F(EzPolicyDeploy, NoXendIsSaidPlainly) {
  ASSERT_EQ(xend_.stop(), 0);
  gui::DeployRequest request;
  request.root = root_;
  request.xml = "<x/>";
  request.file = "/etc/xen/acm-security/policies/x-security_policy.xml";
  request.timeout = std::chrono::seconds(5);
  const gui::DeployOutcome outcome = gui::deploy_policy(request);
  EXPECT_FALSE(outcome.ok);
  EXPECT_FALSE(outcome.message.empty());
}

}  // namespace
}  // namespace shype::testing
