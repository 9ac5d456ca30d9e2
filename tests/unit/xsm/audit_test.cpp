#include "xsm/audit.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace shype::xsm {
namespace {

AuditRecord denial(std::string reason) {
  AuditRecord r;
  r.hook = Hook::evtchn_interdomain;
  r.subject = {1, 0x00020002, "domain1", "A-Bank"};
  r.object = {2, 0x00060006, "domain2", "B-Bank"};
  r.permitted = false;
  r.status = -13;
  r.reason = std::move(reason);
  r.policy_name = "mytest";
  r.policy_version = "1.0";
  r.policy_fingerprint = std::string(64, 'a');
  return r;
}

std::filesystem::path temp_path(const char* name) {
  return std::filesystem::temp_directory_path() /
         ("xsm_audit_" + std::to_string(::getpid()) + "_" + name);
}

TEST(HookName, NamesEveryHookOfTheList) {
  EXPECT_STREQ(hook_name(Hook::domain_create), "domain_create");
  EXPECT_STREQ(hook_name(Hook::grant_map), "grant_map");
  EXPECT_STREQ(hook_name(Hook::getdecision), "getdecision");
  for (std::size_t i = 0; i < kHookCount; ++i) {
    EXPECT_STRNE(hook_name(static_cast<Hook>(i)), "unknown") << i;
  }
  EXPECT_STREQ(hook_name(static_cast<Hook>(kHookCount)), "unknown");
}

TEST(AuditRecordJson, IsOneObjectOnOneLine) {
  AuditRecord r = denial("'A-Bank' and 'B-Bank' have no common STE type");
  r.seq = 7;
  r.time_ns = 1234;
  const std::string line = to_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["time_ns"], 1234);
  EXPECT_EQ(j["hook"], "evtchn_interdomain");
  EXPECT_EQ(j["decision"], "deny");
  EXPECT_EQ(j["status"], -13);
  EXPECT_EQ(j["subject"]["domid"], 1);
  EXPECT_EQ(j["subject"]["ssidref"], "0x00020002");
  EXPECT_EQ(j["subject"]["name"], "domain1");
  EXPECT_EQ(j["subject"]["label"], "A-Bank");
  EXPECT_EQ(j["object"]["label"], "B-Bank");
  EXPECT_EQ(j["reason"], "'A-Bank' and 'B-Bank' have no common STE type");
  EXPECT_EQ(j["policy"]["name"], "mytest");
  EXPECT_EQ(j["policy"]["version"], "1.0");
  EXPECT_EQ(j["policy"]["fingerprint"], std::string(64, 'a'));
}

TEST(AuditRecordJson, NamesThatAreNotUtf8DoNotCostTheRecord) {
  AuditRecord r = denial("reason\nwith a newline");
  r.subject.name = std::string("bad\xff\xfe name");
  const std::string line = to_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["reason"], "reason\nwith a newline");
  EXPECT_NE(j["subject"]["name"].get<std::string>().find("name"), std::string::npos);
}

TEST(AuditLog, AssignsSequenceNumbersAndTime) {
  AuditLog log;
  EXPECT_EQ(log.record(denial("one")), 1u);
  EXPECT_EQ(log.record(denial("two")), 2u);
  EXPECT_EQ(log.records_written(), 2u);
  std::uint64_t next = 0;
  const auto lines = log.read_since(1, 10, next);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(next, 3u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["reason"], "one");
  EXPECT_GT(first["time_ns"].get<std::int64_t>(), 1'600'000'000'000'000'000);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["seq"], 2);
}

TEST(AuditLog, ReadSincePagesThroughTheRing) {
  AuditLog log({}, 4);
  for (int i = 1; i <= 6; ++i)
    (void)log.record(denial(std::to_string(i)));
  EXPECT_EQ(log.ring_size(), 4u);
  std::uint64_t next = 0;
  // Records 1 and 2 fell out of the ring: reading from 1 starts at 3.
  auto lines = log.read_since(1, 2, next);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["seq"], 3);
  EXPECT_EQ(next, 5u);
  lines = log.read_since(next, 10, next);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["seq"], 6);
  EXPECT_EQ(next, 7u);
  // Nothing new; and a number from the future waits for the next record.
  EXPECT_TRUE(log.read_since(next, 10, next).empty());
  EXPECT_EQ(next, 7u);
  EXPECT_TRUE(log.read_since(100, 10, next).empty());
  EXPECT_EQ(next, 7u);
  EXPECT_TRUE(log.read_since(5, 0, next).empty());
  EXPECT_EQ(next, 5u);
}

TEST(AuditLog, AppendsJsonLinesToItsFile) {
  const auto path = temp_path("append.log");
  std::filesystem::remove(path);
  {
    AuditLog log(path);
    (void)log.record(denial("first"));
    (void)log.record(denial("second"));
    EXPECT_EQ(log.write_errors(), 0u);
  }
  {
    // A restarted hypervisor appends; it does not truncate.
    AuditLog log(path);
    (void)log.record(denial("third"));
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read);
  std::ifstream in(path);
  std::vector<std::string> reasons;
  for (std::string line; std::getline(in, line);)
    reasons.push_back(nlohmann::json::parse(line)["reason"].get<std::string>());
  EXPECT_EQ(reasons, (std::vector<std::string>{"first", "second", "third"}));
  std::filesystem::remove(path);
}

TEST(AuditLog, AFileThatCannotBeWrittenIsCountedNotFatal) {
  AuditLog log("/nonexistent-directory/audit.log");
  EXPECT_EQ(log.record(denial("kept in the ring")), 1u);
  EXPECT_EQ(log.write_errors(), 1u);
  std::uint64_t next = 0;
  EXPECT_EQ(log.read_since(1, 10, next).size(), 1u);

  AuditLog full("/dev/full");
  (void)full.record(denial("no space"));
  EXPECT_EQ(full.write_errors(), 1u);
  EXPECT_EQ(full.records_written(), 1u);
}

TEST(AuditLog, ARingOfZeroKeepsOnlyTheFile) {
  AuditLog log({}, 0);
  EXPECT_EQ(log.record(denial("x")), 1u);
  std::uint64_t next = 0;
  EXPECT_TRUE(log.read_since(1, 10, next).empty());
  EXPECT_EQ(next, 2u);
}

}  // namespace
}  // namespace shype::xsm
