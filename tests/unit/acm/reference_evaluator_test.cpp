#include "acm/reference_evaluator.hpp"

#include <gtest/gtest.h>

#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

using Running = std::vector<std::string>;

TEST(ReferenceEvaluator, MytestSharingAndResources) {
  const PolicyModel m = testing::mytest_model();
  const ReferenceEvaluator ref(m);
  EXPECT_TRUE(ref.share("A-Bank", "SystemManagement"));
  EXPECT_FALSE(ref.share("A-Bank", "B-Bank"));
  EXPECT_FALSE(ref.share("A-Bank", "A-Bank.SecurityUnderwriting"));
  EXPECT_TRUE(ref.resource_access("A-Bank", "A-Bank"));
  EXPECT_FALSE(ref.resource_access("A-Bank", "B-Bank"));
  EXPECT_FALSE(ref.resource_access("A-Bank", "NoSuchResource"));
}

TEST(ReferenceEvaluator, MytestAuthorization) {
  const PolicyModel m = testing::mytest_model();
  const ReferenceEvaluator ref(m);
  EXPECT_TRUE(ref.authorize("SystemManagement", "AutoCorp"));
  EXPECT_TRUE(ref.authorize("SystemManagement", ""));  // unlabeled
  EXPECT_TRUE(ref.authorize("A-Bank", "A-Bank"));
  EXPECT_FALSE(ref.authorize("A-Bank", "AutoCorp"));
  EXPECT_FALSE(ref.authorize("A-Bank", "__UNLABELED__"));
  EXPECT_FALSE(ref.authorize("SystemManagement", "NoSuchLabel"));  // no types: never authorized
}

TEST(ReferenceEvaluator, MytestRunTimeExclusion) {
  const PolicyModel m = testing::mytest_model();
  const ReferenceEvaluator ref(m);
  EXPECT_TRUE(ref.admissible("B-Bank", Running{}));
  EXPECT_FALSE(ref.admissible("B-Bank", Running{"SystemManagement", "A-Bank"}));
  EXPECT_TRUE(ref.admissible("AutoCorp", Running{"A-Bank"}));
  EXPECT_TRUE(ref.admissible("A-Bank", Running{"A-Bank", "A-Bank"}));
  EXPECT_FALSE(ref.admissible("", Running{"A-Bank"}));  // unlabeled is in the rule
  EXPECT_FALSE(ref.admissible("A-Bank.MarketAnalysis", Running{"A-Bank.SecurityUnderwriting"}));
  EXPECT_TRUE(ref.admissible("A-Bank", Running{"A-Bank.SecurityUnderwriting"}));
}

// An unlabeled resource is the unlabeled workload: Xen's tools give it
// ssidref 0, the VM label __UNLABELED__, whatever types a resource label
// named __UNLABELED__ declares.
TEST(ReferenceEvaluator, UnlabeledResourcesUseTheUnlabeledVmLabel) {
  PolicyModel m = testing::mytest_model();
  for (auto& l : m.resource_labels) {
    if (l.name == kUnlabeled) l.ste_types = testing::items({"AutoCorp"});
  }
  const ReferenceEvaluator ref(m);
  EXPECT_TRUE(ref.resource_access("__UNLABELED__", ""));
  EXPECT_TRUE(ref.resource_access("SystemManagement", "__UNLABELED__"));
  EXPECT_FALSE(ref.resource_access("AutoCorp", "__UNLABELED__"));

  std::erase_if(m.vm_labels, [](const Label& l) { return l.name == kUnlabeled; });
  const ReferenceEvaluator without(m);
  EXPECT_FALSE(without.resource_access("SystemManagement", ""));
  EXPECT_FALSE(without.share("", "SystemManagement"));
  EXPECT_TRUE(without.admissible("", Running{"A-Bank"}));  // no CHWALL types, no conflict
}

TEST(ReferenceEvaluator, DefaultPolicy) {
  const PolicyModel m = testing::default_model();
  const ReferenceEvaluator ref(m);
  EXPECT_TRUE(ref.share("", "SystemManagement"));
  EXPECT_TRUE(ref.authorize("SystemManagement", ""));
  EXPECT_TRUE(ref.admissible("", Running{"", "SystemManagement"}));
}

}  // namespace
}  // namespace shype::acm
