#include <filesystem>

#include <gtest/gtest.h>

// The shipped policies are where the manual says they are (10.3.1 naming).
TEST(ShippedPolicies, FilesFollowManualNaming) {
  const std::filesystem::path root = std::filesystem::path(SHYPE_SOURCE_DIR) / "policies";
  for (const char* f : {"DEFAULT-security_policy.xml", "mytest-security_policy.xml",
                        "mytest_update-security_policy.xml", "example/test-security_policy.xml"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(root / f)) << f;
  }
}
