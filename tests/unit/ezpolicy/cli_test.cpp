// xensec_ezpolicy run as a process: the headless translation, its errors
// and exit statuses.
#include <gtest/gtest.h>

#include "acm/file_io.hpp"
#include "acm/xml/policy_loader.hpp"
#include "fixtures.hpp"
#include "process.hpp"

namespace shype::ezpolicy {
namespace {

using shype::testing::ProcessResult;
using shype::testing::run_process;
using testing::kFigure10_2Wld;
using testing::ScratchDir;

ProcessResult ezpolicy(std::vector<std::string> args, const std::string& root = {}) {
  std::vector<std::string> argv;
  if (!root.empty()) argv = {"/usr/bin/env", "SHYPE_ROOT=" + root};
  argv.emplace_back(XENSEC_EZPOLICY_PATH);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

std::string write_wld(const ScratchDir& dir, const std::string& text,
                      const char* name = "mytest.wld") {
  const auto path = dir.path() / name;
  EXPECT_TRUE(acm::write_file_atomic(path, text));
  return path.string();
}

TEST(XensecEzpolicyCli, TranslatesFigure10_2) {
  ScratchDir dir;
  const std::string wld = write_wld(dir, kFigure10_2Wld);
  const std::string out = (dir.path() / "out.xml").string();
  const ProcessResult r = ezpolicy(
      {"--translate", wld, "--policy", "mytest", "-o", out, "--date", "Mon Nov 19 22:51:56 2007"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote policy 'mytest' (6 workload types, 2 run-time exclusion rules) to " +
                       out + "\n");
  EXPECT_EQ(r.err, "");
  auto written = acm::xml::load_policy_file(out);
  ASSERT_TRUE(written) << written.error().to_string();
  auto manual = acm::xml::load_policy_file(std::string(SHYPE_SOURCE_DIR) +
                                           "/policies/mytest-security_policy.xml");
  ASSERT_TRUE(manual);
  EXPECT_EQ(written->model, manual->model);
}

TEST(XensecEzpolicyCli, DefaultOutputIsThePolicyDirectoryUnderShypeRoot) {
  ScratchDir dir;
  const std::string wld = write_wld(dir, kFigure10_2Wld);
  const ProcessResult r =
      ezpolicy({"--translate", wld, "--policy", "example.mytest"}, (dir.path() / "root").string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto expected =
      dir.path() / "root/etc/xen/acm-security/policies/example/mytest-security_policy.xml";
  EXPECT_TRUE(std::filesystem::is_regular_file(expected)) << r.out;
  EXPECT_NE(r.out.find(expected.string()), std::string::npos) << r.out;
}

TEST(XensecEzpolicyCli, WarnsAboutShortRules) {
  ScratchDir dir;
  const std::string wld =
      write_wld(dir, "ezpolicy = {'orgs': [['A', []], ['B', []]], 'cons': [['lonely', ['A']]]}");
  const ProcessResult r =
      ezpolicy({"--translate", wld, "--policy", "p", "-o", (dir.path() / "p.xml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err,
            "xensec_ezpolicy: warning: Ignoring Run-time exclusion set 'lonely' (less than 2 "
            "types)\n");
}

TEST(XensecEzpolicyCli, MalformedFileNamesFileAndLine) {
  ScratchDir dir;
  const std::string wld =
      write_wld(dir, "ezpolicy = {'orgs': [\n  ['A', []],\n  ['A', []]]}", "bad.wld");
  const std::string out = (dir.path() / "never.xml").string();
  const ProcessResult r = ezpolicy({"--translate", wld, "--policy", "p", "-o", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "xensec_ezpolicy: " + wld + ":3: organization 'A' is defined twice\n");
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(XensecEzpolicyCli, Errors) {
  ScratchDir dir;
  const std::string wld = write_wld(dir, kFigure10_2Wld);
  const ProcessResult missing =
      ezpolicy({"--translate", (dir.path() / "nope.wld").string(), "--policy", "p", "-o", "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.wld"), std::string::npos) << missing.err;
  const ProcessResult bad_name =
      ezpolicy({"--translate", wld, "--policy", "../evil", "-o", (dir.path() / "x.xml").string()});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_NE(bad_name.err.find("policy name '../evil' is not a dotted name"), std::string::npos)
      << bad_name.err;
  const ProcessResult unwritable = ezpolicy(
      {"--translate", wld, "--policy", "p", "-o", (dir.path() / "mytest.wld" / "x.xml").string()});
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_FALSE(unwritable.err.empty());
}

TEST(XensecEzpolicyCli, UsageHelpVersionAndNoWindow) {
  const ProcessResult help = ezpolicy({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--translate FILE.wld --policy NAME"), std::string::npos);
  const ProcessResult version = ezpolicy({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("xensec_ezpolicy (shype) ", 0), 0u) << version.out;
#ifdef XENSEC_EZPOLICY_HAS_WINDOW
  // The window is built (tests/gui drive it); without a display it says so.
  const ProcessResult window =
      run_process({"/usr/bin/env", "-u", "DISPLAY", "-u", "WAYLAND_DISPLAY", XENSEC_EZPOLICY_PATH});
  EXPECT_EQ(window.exit_code, 2);
  EXPECT_NE(window.err.find("cannot open the window: no display"), std::string::npos) << window.err;
#else
  const ProcessResult window = ezpolicy({});
  EXPECT_EQ(window.exit_code, 2);
  EXPECT_NE(window.err.find("the window is not built yet"), std::string::npos) << window.err;
#endif
  const ProcessResult no_policy = ezpolicy({"--translate", "x.wld"});
  EXPECT_EQ(no_policy.exit_code, 2);
  EXPECT_NE(no_policy.err.find("--translate needs --policy NAME"), std::string::npos);
  const ProcessResult unknown = ezpolicy({"--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown option --frobnicate"), std::string::npos);
  const ProcessResult no_file = ezpolicy({"--translate"});
  EXPECT_EQ(no_file.exit_code, 2);
}

}  // namespace
}  // namespace shype::ezpolicy
