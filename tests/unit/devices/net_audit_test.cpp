// The net audit log: its JSON lines and the per-pair rate limit that keeps
// a flood of refusals from filling the disk without losing count.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <unistd.h>

#include "net_audit.hpp"

namespace shype::devices::net {
namespace {

using namespace std::chrono_literals;

TEST(AuditRateLimiterTest, BurstThenOneASecondWithSuppressedCounts) {
  AuditRateLimiter limiter;
  const auto t0 = AuditRateLimiter::Clock::time_point{} + 100s;
  for (std::uint32_t i = 0; i < AuditRateLimiter::kBurst; ++i) {
    EXPECT_EQ(limiter.admit(1, t0), std::optional<std::uint64_t>{0});
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit(1, t0 + 100ms).has_value());
  EXPECT_TRUE(limiter.has_pending());
  // Another pair has its own budget.
  EXPECT_EQ(limiter.admit(2, t0), std::optional<std::uint64_t>{0});
  // A second later pair 1 logs again and reports what it kept back.
  EXPECT_EQ(limiter.admit(1, t0 + 1100ms), std::optional<std::uint64_t>{1000});
  EXPECT_FALSE(limiter.has_pending());
}

TEST(AuditRateLimiterTest, SuppressedCountsComeDueWithoutNewRefusals) {
  AuditRateLimiter limiter;
  const auto t0 = AuditRateLimiter::Clock::time_point{} + 100s;
  for (int i = 0; i < 10; ++i) (void)limiter.admit(7, t0);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> due;
  limiter.take_due(t0 + 500ms, [&](std::uint32_t p, std::uint64_t n) { due.emplace_back(p, n); });
  EXPECT_TRUE(due.empty());
  limiter.take_due(t0 + 1s, [&](std::uint32_t p, std::uint64_t n) { due.emplace_back(p, n); });
  EXPECT_EQ(due, (std::vector<std::pair<std::uint32_t, std::uint64_t>>{{7, 5}}));
  EXPECT_FALSE(limiter.has_pending());
}

TEST(NetAuditLogTest, WritesJsonLinesAndBoundsAFlood) {
  char dir_template[] = "/tmp/net_audit_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  const auto path = dir / "var/log/xen/net-audit.log";
  NetAuditLog log(path);
  DenialRecord record{"xenbr0", 1, *MacAddress::parse("00:16:3e:00:00:01"), 2,
                      *MacAddress::parse("ff:ff:ff:ff:ff:ff")};
  for (int i = 0; i < 10000; ++i) log.denied(record);
  EXPECT_LE(log.lines(), AuditRateLimiter::kBurst + 1);
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find("\"bridge\":\"xenbr0\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"from_domid\":1,\"from_mac\":\"00:16:3e:00:00:01\""), std::string::npos);
  EXPECT_NE(line.find("\"to_domid\":2,\"to_mac\":\"ff:ff:ff:ff:ff:ff\""), std::string::npos);
  EXPECT_NE(line.find("\"decision\":\"denied\""), std::string::npos);
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  std::filesystem::remove_all(dir);
}

TEST(NetAuditLogTest, RotatesPastItsSizeBound) {
  char dir_template[] = "/tmp/net_audit_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  const auto path = dir / "net-audit.log";
  NetAuditLog log(path, 1000);
  for (abi::domid_t from = 1; from < 60; ++from) {
    log.denied(DenialRecord{"xenbr0", from, MacAddress{}, 200, MacAddress{}});
  }
  EXPECT_LE(std::filesystem::file_size(path), 1000u);
  EXPECT_TRUE(std::filesystem::exists(dir / "net-audit.log.1"));
  EXPECT_EQ(log.write_errors(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(NetAuditLogTest, UnwritableLogCountsErrorsAndDoesNotThrow) {
  NetAuditLog log("/proc/no-such-dir/net-audit.log");
  log.denied(DenialRecord{"xenbr0", 1, MacAddress{}, 2, MacAddress{}});
  EXPECT_EQ(log.write_errors(), 1u);
}

}  // namespace
}  // namespace shype::devices::net
