// acmtool end to end: the real binary on the shipped policies and on files a
// test writes, checking exit status and output (text and --json).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using shype::testing::ProcessResult;
using shype::testing::run_process;

const fs::path kPolicies = fs::path(SHYPE_SOURCE_DIR) / "policies";

class Acmtool : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("shype-acmtool-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ProcessResult acmtool(std::vector<std::string> args) {
    args.insert(args.begin(), ACMTOOL_PATH);
    ProcessResult r = run_process(args, std::chrono::seconds(60));
    EXPECT_FALSE(r.timed_out);
    return r;
  }
  static json acmtool_json(std::vector<std::string> args, int expected_exit = 0) {
    args.push_back("--json");
    ProcessResult r = acmtool(std::move(args));
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return json::parse(r.out);
  }
  static std::string policy(const std::string& name) { return (kPolicies / name).string(); }

  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Compiles mytest into the test directory and returns the binary path.
  fs::path compile_mytest(const std::string& format = "xen") const {
    fs::path bin = dir_ / ("mytest-" + format + ".bin");
    ProcessResult r = acmtool(
        {"compile", policy("mytest-security_policy.xml"), "-o", bin.string(), "--format", format});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return bin;
  }

  fs::path dir_;
};

TEST_F(Acmtool, ValidatesEveryShippedPolicy) {
  for (const char* f : {"DEFAULT-security_policy.xml", "mytest-security_policy.xml",
                        "mytest_update-security_policy.xml", "example/test-security_policy.xml"}) {
    ProcessResult r = acmtool({"validate", policy(f)});
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.err;
    EXPECT_NE(r.out.find("valid policy"), std::string::npos) << r.out;
  }
  json j = acmtool_json({"validate", policy("mytest_update-security_policy.xml")});
  EXPECT_EQ(j["policy"], "mytest");
  EXPECT_EQ(j["version"], "1.1");
  EXPECT_EQ(j["from_policy"]["version"], "1.0");
  EXPECT_EQ(j["vm_labels"], 7);
}

TEST_F(Acmtool, BadPolicyNamesFileLineAndEveryReason) {
  std::string text = slurp(kPolicies / "mytest-security_policy.xml");
  // Two independent mistakes: an undeclared type in a label and a duplicate label.
  const auto label = text.find("<Name>AutoCorp</Name>");  // the VM label (SubjectLabels come first)
  ASSERT_NE(label, std::string::npos);
  const std::string type = "<Type>AutoCorp</Type>";
  text.replace(text.find(type, label), type.size(), "<Type>AutoKorp</Type>");
  const std::string bbank = "<Name>B-Bank</Name>";
  text.replace(text.find(bbank), bbank.size(), "<Name>A-Bank</Name>");
  fs::path bad = write("bad-security_policy.xml", text);

  ProcessResult r = acmtool({"validate", bad.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("AutoKorp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("duplicate VM label 'A-Bank'"), std::string::npos) << r.err;

  json j = acmtool_json({"validate", bad.string()}, 1);
  EXPECT_FALSE(j["ok"]);
  EXPECT_GE(j["error"]["lines"].size(), 2u);
}

TEST_F(Acmtool, CompileWritesBinaryAndMapAndReportsFingerprint) {
  json j = acmtool_json(
      {"compile", policy("mytest-security_policy.xml"), "-o", (dir_ / "mytest.bin").string()});
  EXPECT_EQ(j["format"], "xen");
  EXPECT_TRUE(fs::is_regular_file(dir_ / "mytest.bin"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "mytest.map"));
  EXPECT_EQ(j["size"], fs::file_size(dir_ / "mytest.bin"));
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
  EXPECT_NE(slurp(dir_ / "mytest.map").find("POLICYREFERENCENAME    mytest"), std::string::npos);
}

TEST_F(Acmtool, CompileDefaultsToXenNamingBesideTheXml) {
  fs::create_directories(dir_ / "example");
  fs::copy_file(kPolicies / "example" / "test-security_policy.xml",
                dir_ / "example" / "test-security_policy.xml");
  ProcessResult r = acmtool({"compile", (dir_ / "example" / "test-security_policy.xml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "example" / "test.bin"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "example" / "test.map"));
}

TEST_F(Acmtool, DumpShowsLabelsWithXenSsidrefs) {
  for (const std::string& format : {std::string("xen"), std::string("compact")}) {
    json j = acmtool_json({"dump", compile_mytest(format).string()});
    EXPECT_EQ(j["format"], format);
    EXPECT_EQ(j["policy"], "mytest");
    ASSERT_EQ(j["vm_labels"].size(), 7u);
    EXPECT_EQ(j["vm_labels"][1]["name"], "SystemManagement");
    EXPECT_TRUE(j["vm_labels"][1]["bootstrap"]);
    EXPECT_EQ(j["vm_labels"][2]["name"], "A-Bank");
    EXPECT_EQ(j["vm_labels"][2]["ssidref"], "0x00020002");
    EXPECT_EQ(j["resource_labels"][0]["name"], "A-Bank");
    EXPECT_EQ(j["resource_labels"][0]["ssidref"], "0x00070000");
    ASSERT_EQ(j["conflict_sets"].size(), 2u);
    // The compact format keeps conflict-set names; Xen's format has none.
    EXPECT_EQ(j["conflict_sets"][0]["name"], format == "compact" ? "RER" : "set0");
  }
  ProcessResult text = acmtool({"dump", compile_mytest().string()});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("0x00010001  SystemManagement  (bootstrap: Domain-0)"), std::string::npos)
      << text.out;
}

TEST_F(Acmtool, XenBinaryWithoutMapNeedsSsidrefs) {
  fs::path bin = compile_mytest();
  fs::remove(dir_ / "mytest-xen.map");
  ProcessResult dump = acmtool({"dump", bin.string()});
  EXPECT_EQ(dump.exit_code, 0);
  EXPECT_NE(dump.out.find("names      none"), std::string::npos) << dump.out;

  ProcessResult by_name = acmtool({"decide", bin.string(), "share", "A-Bank", "B-Bank"});
  EXPECT_EQ(by_name.exit_code, 1);
  EXPECT_NE(by_name.err.find("carries no label names"), std::string::npos) << by_name.err;

  ProcessResult by_ssidref = acmtool({"decide", bin.string(), "share", "0x00020002", "0x00070000"});
  EXPECT_EQ(by_ssidref.exit_code, 0) << by_ssidref.out << by_ssidref.err;
}

// Manual 10.2.6, Test 1: A-Bank runs, so B-Bank may not start; AutoCorp may.
TEST_F(Acmtool, RunTimeExclusionAsInManual) {
  for (const std::string& file : {compile_mytest().string(), compile_mytest("compact").string(),
                                  policy("mytest-security_policy.xml")}) {
    ProcessResult deny = acmtool({"decide", file, "admit", "B-Bank", "--running", "A-Bank"});
    EXPECT_EQ(deny.exit_code, 3) << file;
    EXPECT_NE(
        deny.out.find("deny: Chinese Wall type 'B-Bank' conflicts with running type 'A-Bank'"),
        std::string::npos)
        << deny.out;
    EXPECT_EQ(acmtool({"decide", file, "admit", "AutoCorp", "--running", "A-Bank"}).exit_code, 0);
    EXPECT_EQ(acmtool({"decide", file, "admit", "B-Bank"}).exit_code, 0);
    // Departments inherit their organisation's conflicts.
    EXPECT_EQ(acmtool({"decide", file, "admit", "A-Bank.MarketAnalysis", "--running", "B-Bank"})
                  .exit_code,
              3);
  }
  ProcessResult clash = acmtool({"decide", compile_mytest().string(), "admit", "AutoCorp",
                                 "--running", "A-Bank", "--running", "B-Bank"});
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_NE(clash.err.find("already conflict"), std::string::npos) << clash.err;
}

// Manual 10.2.6, Test 2: a domain only reaches resources of its own type.
TEST_F(Acmtool, ResourceAccessAsInManual) {
  const std::string bin = compile_mytest().string();
  EXPECT_EQ(acmtool({"decide", bin, "share", "A-Bank", "res:A-Bank"}).exit_code, 0);
  ProcessResult deny = acmtool({"decide", bin, "share", "A-Bank", "res:B-Bank"});
  EXPECT_EQ(deny.exit_code, 3);
  EXPECT_NE(deny.out.find("deny:"), std::string::npos);
  json j = acmtool_json({"decide", bin, "share", "res:B-Bank", "A-Bank"}, 3);
  EXPECT_EQ(j["decision"], "deny");
  EXPECT_EQ(j["labels"][0]["ssidref"], "0x000b0000");
}

// Manual 10.2.7: a Domain-0 labeled A-Bank authorizes A-Bank only.
TEST_F(Acmtool, Domain0AuthorizationAsInManual) {
  const std::string bin = compile_mytest().string();
  EXPECT_EQ(acmtool({"decide", bin, "authorize", "A-Bank", "A-Bank"}).exit_code, 0);
  EXPECT_EQ(acmtool({"decide", bin, "authorize", "A-Bank", "AutoCorp"}).exit_code, 3);
  EXPECT_EQ(acmtool({"decide", bin, "authorize", "A-Bank", "__UNLABELED__"}).exit_code, 3);
  EXPECT_EQ(acmtool({"decide", bin, "authorize", "SystemManagement", "AutoCorp"}).exit_code, 0);
}

TEST_F(Acmtool, UnknownLabelIsAnErrorNotADenial) {
  ProcessResult r = acmtool({"decide", compile_mytest().string(), "share", "A-Bank", "C-Bank"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'C-Bank' is not a VM label of policy 'mytest'"), std::string::npos)
      << r.err;
}

// Manual 10.3.5: mytest 1.0 -> mytest_update 1.1 while domain1 (A-Bank) and
// domain4 (A-Bank.SecurityUnderwriting) run with labeled resources in use.
TEST_F(Acmtool, PlansTheManualsRunTimeUpdate) {
  const std::vector<std::string> args = {"plan",
                                         policy("mytest-security_policy.xml"),
                                         policy("mytest_update-security_policy.xml"),
                                         "--running",
                                         "domain1=A-Bank",
                                         "--running",
                                         "domain4=A-Bank.SecurityUnderwriting",
                                         "--resource",
                                         "file:/home/xen/dom_fc5/fedora.fc5.img=A-Bank",
                                         "--resource",
                                         "file:/home/xen/dom_fc5/fedora.fc5.swap=A-Bank",
                                         "--use",
                                         "domain1=file:/home/xen/dom_fc5/fedora.fc5.img",
                                         "--use",
                                         "domain1=file:/home/xen/dom_fc5/fedora.fc5.swap"};
  ProcessResult r = acmtool(args);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("accepted"), std::string::npos) << r.out;
  json j = acmtool_json(args);
  ASSERT_TRUE(j["accepted"]);
  bool saw_rename = false;
  for (const auto& d : j["domains"]) {
    if (d["name"] == "domain4") {
      EXPECT_EQ(d["new_label"], "A-Bank.SU");
      saw_rename = true;
    }
  }
  EXPECT_TRUE(saw_rename);
  for (const auto& res : j["resources"])
    EXPECT_EQ(res["new_label"], "A-Bank");
}

TEST_F(Acmtool, RejectsAnUpdateThatStrandsARunningDomain) {
  // mytest_update drops __UNLABELED__: an unlabeled domain cannot keep running.
  ProcessResult r =
      acmtool({"plan", policy("mytest-security_policy.xml"),
               policy("mytest_update-security_policy.xml"), "--running", "domain9=__UNLABELED__"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("rejected"), std::string::npos);
  // Updating a policy that is not the active one is refused by version rules.
  ProcessResult other = acmtool({"plan", policy("example/test-security_policy.xml"),
                                 policy("mytest_update-security_policy.xml")});
  EXPECT_EQ(other.exit_code, 3);
  EXPECT_NE(other.out.find("XSERR_VERSION_PREVENTS_UPDATE"), std::string::npos) << other.out;
}

TEST_F(Acmtool, FailedCompileLeavesThePreviousBinaryIntact) {
  fs::path bin = dir_ / "out.bin";
  ASSERT_EQ(
      acmtool({"compile", policy("mytest-security_policy.xml"), "-o", bin.string()}).exit_code, 0);
  const std::string before = slurp(bin);
  fs::path bad = write("broken-security_policy.xml",
                       "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">");
  ProcessResult r = acmtool({"compile", bad.string(), "-o", bin.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string() + ":"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(bin), before);
}

TEST_F(Acmtool, HostileBinaryIsRejectedWithAReason) {
  std::string bytes = slurp(compile_mytest());
  bytes[9] = 'X';  // policy_version field of the header
  fs::path bad = write("bad.bin", bytes);
  ProcessResult r = acmtool({"dump", bad.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.bin"), std::string::npos) << r.err;
}

TEST_F(Acmtool, UsageErrorsExitTwo) {
  EXPECT_EQ(acmtool({}).exit_code, 2);
  EXPECT_EQ(acmtool({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(acmtool({"validate"}).exit_code, 2);
  EXPECT_EQ(acmtool({"compile", "x.xml", "--format", "elf"}).exit_code, 2);
  EXPECT_EQ(acmtool({"--help"}).exit_code, 0);
}

}  // namespace
