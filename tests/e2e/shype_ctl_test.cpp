// shype-ctl, the small Domain-0 command line, against a real shype-hv: what
// each command prints and its exit status (0 ok, 1 error, 2 usage, 3
// refused or timed out).
#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/file_io.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"
#include "process.hpp"

namespace shype::testing {
namespace {

const fs::path kShypeCtl = SHYPE_CTL_PATH;

class ShypeCtlTest : public HypervisorTest {
 protected:
  ProcessResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {kShypeCtl.string(), "--root", root_.string()});
    return run_process(args, 30s);
  }

  // policies/mytest-security_policy.xml compiled to the compact format.
  fs::path mytest_binary() {
    auto loaded = acm::xml::load_policy_file(kSourceDir / "policies/mytest-security_policy.xml");
    EXPECT_TRUE(loaded) << loaded.error().to_string();
    const std::vector<std::uint8_t> xml(loaded->xml_text.begin(), loaded->xml_text.end());
    auto policy = acm::compile_policy(loaded->model, xml);
    EXPECT_TRUE(policy) << policy.error().to_string();
    fs::path file = root_ / "mytest.bin";
    EXPECT_TRUE(acm::write_file_atomic(file, acm::write_compact_policy(policy->image)));
    return file;
  }
};

TEST(ShypeCtlUsage, HelpAndUsageErrors) {
  auto help = run_process({kShypeCtl.string(), "--help"}, 10s);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: shype-ctl"), std::string::npos);
  auto unknown = run_process({kShypeCtl.string(), "frobnicate"}, 10s);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  auto none = run_process({kShypeCtl.string()}, 10s);
  EXPECT_EQ(none.exit_code, 2);
}

TEST(ShypeCtlUsage, NoHypervisorIsAnError) {
  auto listed = run_process({kShypeCtl.string(), "--root", "/nonexistent/shype", "list"}, 10s);
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.err.find("connect"), std::string::npos) << listed.err;
}

TEST_F(ShypeCtlTest, CreateListConsoleDestroy) {
  auto created = ctl({"create", kGuestHello.string(), "name=web", "memory=8", "cmdline=hi"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string domid = created.out.substr(0, created.out.find('\n'));
  EXPECT_EQ(domid, "1");

  auto console = ctl({"console", "web", "--wait", "cmdline: hi", "--timeout", "10"});
  EXPECT_EQ(console.exit_code, 0) << console.err;
  EXPECT_NE(console.out.find("Hello from shype domain 1 (web)"), std::string::npos) << console.out;

  auto listed = ctl({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("Domain-0"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("web"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("     8 "), std::string::npos) << "memory column: " << listed.out;

  EXPECT_EQ(ctl({"input", "web", "echo this"}).exit_code, 0);
  EXPECT_EQ(ctl({"console", "1", "--wait", "echo this", "--timeout", "10"}).exit_code, 0);
  EXPECT_EQ(ctl({"wait", "web", "running"}).exit_code, 0);
  EXPECT_EQ(ctl({"destroy", "web"}).exit_code, 0);
  EXPECT_EQ(ctl({"wait", domid, "gone", "--timeout", "5"}).exit_code, 0);
  auto again = ctl({"destroy", "web"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("no domain named 'web'"), std::string::npos) << again.err;
}

TEST_F(ShypeCtlTest, UsageErrorsOfCommands) {
  EXPECT_EQ(ctl({"create"}).exit_code, 2);
  EXPECT_EQ(ctl({"create", kGuestHello.string(), "memory=lots"}).exit_code, 2);
  EXPECT_EQ(ctl({"create", kGuestHello.string(), "ssidref=12"}).exit_code, 2);
  EXPECT_EQ(ctl({"create", kGuestHello.string(), "colour=blue"}).exit_code, 2);
  EXPECT_EQ(ctl({"wait", "0", "sleeping"}).exit_code, 2);
  EXPECT_EQ(ctl({"list", "extra"}).exit_code, 2);
  EXPECT_EQ(ctl({"input", "0"}).exit_code, 2);
}

TEST_F(ShypeCtlTest, PolicyLabelsChineseWallAndAudit) {
  auto loaded = ctl({"setpolicy", mytest_binary().string()});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_NE(loaded.out.find("policy 'mytest'"), std::string::npos) << loaded.out;

  auto bank_a = ctl({"create", kGuestHello.string(), "name=bank-a", "label=A-Bank"});
  ASSERT_EQ(bank_a.exit_code, 0) << bank_a.err;
  auto bank_b = ctl({"create", kGuestHello.string(), "name=bank-b", "label=B-Bank"});
  EXPECT_EQ(bank_b.exit_code, 3) << "refused by the Chinese Wall: " << bank_b.err;
  EXPECT_NE(bank_b.err.find("EACCES"), std::string::npos) << bank_b.err;
  auto unknown = ctl({"create", kGuestHello.string(), "label=NoSuchLabel"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("NoSuchLabel"), std::string::npos) << unknown.err;

  auto listed = ctl({"list"});
  EXPECT_NE(listed.out.find("A-Bank"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("bank-b"), std::string::npos) << listed.out;

  auto audit = ctl({"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"domain_create\""), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("\"deny\""), std::string::npos) << audit.out;
}

TEST_F(ShypeCtlTest, RogueCrashesAloneAndShowsInTheList) {
  ASSERT_EQ(ctl({"create", kGuestCounter.string(), "name=counter", "cmdline=50"}).exit_code, 0);
  ASSERT_EQ(ctl({"create", kGuestRogue.string(), "name=rogue", "cmdline=open"}).exit_code, 0);
  EXPECT_EQ(ctl({"wait", "rogue", "crashed", "--timeout", "10"}).exit_code, 0);
  EXPECT_EQ(ctl({"wait", "counter", "running", "--timeout", "1"}).exit_code, 0);
  auto listed = ctl({"list"});
  const auto rogue_line = listed.out.find("rogue");
  ASSERT_NE(rogue_line, std::string::npos) << listed.out;
  const std::string line =
      listed.out.substr(rogue_line, listed.out.find('\n', rogue_line) - rogue_line);
  EXPECT_NE(line.find(" ----c- "), std::string::npos) << "the crashed flag: " << line;
  // A bounded wait that runs out is status 3.
  EXPECT_EQ(ctl({"wait", "counter", "paused", "--timeout", "0"}).exit_code, 3);
}

}  // namespace
}  // namespace shype::testing
