// Domains and their vTPMs (manual 5.4, docs/vtpm.md "Domains and their
// vTPMs") through the real xm, xend, shype-hv and vtpm_managerd under one
// temporary root: `vtpm = ['instance=N, backend=0']` binds, labels, starts
// and attaches the domain's instance at xm create; xm vtpm-list shows it;
// destroy stops it and keeps the binding; the instance keeps its label, so
// a domain relabeled into another workload does not get it; attaching an
// instance to a domain of another workload is the policy core's denial
// (asked of the hypervisor, which audits it); a manager that starts again
// gets the domain's instance attached again; no manager, no domain.
#include <nlohmann/json.hpp>

#include "swtpm_process.hpp"
#include "xm_fixture.hpp"

namespace shype::testing {
namespace {

using nlohmann::json;

const fs::path kManager = VTPM_MANAGERD_PATH;
const fs::path kVtpmctl = VTPMCTL_PATH;

class XmVtpmTest : public XmTest {
 protected:
  void SetUp() override {
    if (!SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
    XmTest::SetUp();
    if (HasFatalFailure()) return;
    // The platform TPM the manager anchors its instances in.
    platform_ = std::make_unique<SwtpmProcess>(root_ / "platform-tpm");
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform_->tcti().c_str(), 1);
    ::setenv("SHYPE_VTPM_SAME_UID", "1", 1);
    ASSERT_NO_FATAL_FAILURE(start_manager());
    ASSERT_EQ(xm({"setpolicy", "ACM", "mytest"}).exit_code, 0);
    write_file(work_ / "abank.xm", config("abank", "A-Bank", "instance=3, backend=0"));
  }

  void TearDown() override {
    if (manager_.running()) {
      const int status = manager_.stop();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "vtpm_managerd ended with wait status " << status;
    }
    if (HasFailure()) {
      std::fprintf(stderr, "--- vtpm_managerd.log ---\n%s\n",
                   slurp(root_ / "var/log/vtpm/vtpm_managerd.log").c_str());
    }
    platform_.reset();
    XmTest::TearDown();
  }

  static std::string config(const std::string& name, const std::string& label,
                            const std::string& vtpm) {
    return "kernel = \"" + std::string(kKernel) + "\"\nmemory = 8\nname = \"" + name + "\"\n" +
           "access_control = ['policy=mytest,label=" + label + "']\n" + "vtpm = ['" + vtpm +
           "']\n";
  }

  void start_manager() {
    manager_ = start_child("vtpm_managerd", kManager, "vtpm.out");
    ASSERT_TRUE(manager_.running());
    const bool up = eventually(
        [&] { return manager_.exited() || vtpmctl({"list"}).exit_code == 0; }, 20s, 50ms);
    ASSERT_TRUE(up) << "vtpm_managerd did not answer within 20 s";
    ASSERT_FALSE(manager_.exited()) << "vtpm_managerd exited: " << slurp(root_ / "vtpm.out");
  }

  XmResult vtpmctl(const std::vector<std::string>& args) {
    return run_in_root(kVtpmctl, args, 60s);
  }

  json instance(const std::string& name) {
    const XmResult r = vtpmctl({"--json", "list"});
    EXPECT_EQ(r.exit_code, 0) << r;
    const json answer = json::parse(r.out);
    for (const auto& i : answer["instances"]) {
      if (i["name"] == name) return i;
    }
    return json();
  }

  // The ID column of `xm list <name>`.
  int domid(const std::string& name) {
    const XmResult r = xm({"list", name});
    EXPECT_EQ(r.exit_code, 0) << r;
    const auto lines = normalized_lines(r.out);
    if (lines.size() != 2) return -1;
    const auto words = split_words(lines[1]);
    return words.size() > 1 ? std::atoi(words[1].c_str()) : -1;
  }

  void ok(const std::vector<std::string>& args) {
    const XmResult r = xm(args);
    EXPECT_EQ(r.exit_code, 0) << args.front() << "\n" << r;
  }

  std::unique_ptr<SwtpmProcess> platform_;
  Child manager_;
};

TEST_F(XmVtpmTest, CreateBindsLabelsStartsAndAttachesTheDomainsInstance) {
  ok({"create", "abank.xm"});
  const int abank = domid("abank");
  const json i = instance("abank");
  ASSERT_FALSE(i.is_null()) << "no instance for abank";
  EXPECT_EQ(i["instance"], 3);
  EXPECT_EQ(i["status"], "running");
  EXPECT_EQ(i["label"], "ACM:mytest:A-Bank");
  EXPECT_EQ(i["domid"], abank);

  const XmResult list = xm({"vtpm-list", "abank"});
  ASSERT_EQ(list.exit_code, 0) << list;
  const auto lines = normalized_lines(list.out);
  ASSERT_EQ(lines.size(), 2u) << list.out;
  EXPECT_EQ(lines[0], "Idx BE Instance State Domid Label TCTI");
  EXPECT_EQ(lines[1], "0 0 3 running " + std::to_string(abank) + " ACM:mytest:A-Bank swtpm:path=" +
                          (root_ / "run/vtpm/3/tpm.sock").string());

  // Destroying the domain stops (saves) the instance; the binding stays and
  // the next start gets the same instance back.
  ok({"destroy", "abank"});
  EXPECT_EQ(instance("abank")["status"], "stopped");
  EXPECT_TRUE(instance("abank")["domid"].is_null());
  ok({"create", "abank.xm"});
  EXPECT_EQ(instance("abank")["instance"], 3);
  EXPECT_EQ(instance("abank")["domid"], domid("abank"));
  ok({"destroy", "abank"});
}

TEST_F(XmVtpmTest, AnInstanceDoesNotFollowItsDomainIntoAnotherWorkload) {
  ok({"create", "abank.xm"});
  ok({"destroy", "abank"});
  // The same domain, relabeled to AutoCorp: its A-Bank vTPM is not handed over.
  write_file(work_ / "abank.xm", config("abank", "AutoCorp", "instance=3, backend=0"));
  const XmResult refused = xm({"create", "abank.xm"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_NE(refused.err.find("vTPM instance 3 of domain abank is labeled ACM:mytest:A-Bank, not "
                             "ACM:mytest:AutoCorp"),
            std::string::npos)
      << refused;
  EXPECT_EQ(xm({"list"}).out.find("abank"), std::string::npos);
  EXPECT_EQ(instance("abank")["status"], "stopped");
  EXPECT_EQ(instance("abank")["label"], "ACM:mytest:A-Bank");
}

TEST_F(XmVtpmTest, AttachingAnInstanceOfAnotherWorkloadIsDeniedAndAudited) {
  ok({"create", "abank.xm"});
  const int abank = domid("abank");
  ASSERT_EQ(vtpmctl({"create", "cars", "--label", "ACM:mytest:AutoCorp"}).exit_code, 0);
  // Domain-0 (SystemManagement has every type) may run it and reach it.
  const XmResult started = vtpmctl({"start", "cars"});
  ASSERT_EQ(started.exit_code, 0) << started;
  const XmResult tcti = vtpmctl({"tcti", "cars"});
  EXPECT_EQ(tcti.exit_code, 0) << tcti;

  const XmResult denied = vtpmctl({"attach", "cars", std::to_string(abank)});
  EXPECT_EQ(denied.exit_code, 1) << denied;
  EXPECT_NE(denied.err.find("domain " + std::to_string(abank) + " may not use vTPM instance"),
            std::string::npos)
      << denied;
  EXPECT_NE(denied.err.find("ACM:mytest:AutoCorp"), std::string::npos) << denied;
  EXPECT_TRUE(instance("cars")["domid"].is_null());
  // The hypervisor audited the denial.
  const XmResult audit = xm({"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit;
  EXPECT_NE(audit.out.find("resource_access"), std::string::npos) << audit.out;

  // Relabeled into A-Bank's workload, the administrator may hand it over.
  EXPECT_EQ(vtpmctl({"label", "cars", "ACM:mytest:A-Bank"}).exit_code, 0);
  const XmResult attached = vtpmctl({"attach", "cars", std::to_string(abank)});
  EXPECT_EQ(attached.exit_code, 0) << attached;
  EXPECT_EQ(instance("cars")["domid"], abank);
  // An attached instance is not relabeled under its domain's feet.
  EXPECT_EQ(vtpmctl({"label", "cars", "ACM:mytest:AutoCorp"}).exit_code, 1);
  ok({"destroy", "abank"});
}

// vtpm_managerd stops and starts again under a running domain: its
// instances come back detached. xend sees the new manager (its socket) and
// attaches the domain's instance again; with xend itself away meanwhile,
// the xend that starts next does it when it adopts the domain.
TEST_F(XmVtpmTest, TheDomainsInstanceIsAttachedAgainAfterAManagerRestart) {
  ok({"create", "abank.xm"});
  const int abank = domid("abank");
  ASSERT_EQ(instance("abank")["domid"], abank);

  int status = manager_.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_NO_FATAL_FAILURE(start_manager());
  EXPECT_TRUE(eventually([&] { return instance("abank")["domid"] == abank; }, 15s, 100ms))
      << instance("abank").dump();
  EXPECT_EQ(instance("abank")["status"], "running");

  stop_xend();
  status = manager_.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_NO_FATAL_FAILURE(start_manager());
  EXPECT_TRUE(instance("abank")["domid"].is_null()) << instance("abank").dump();
  ASSERT_NO_FATAL_FAILURE(start_xend());
  EXPECT_TRUE(eventually([&] { return instance("abank")["domid"] == abank; }, 15s, 100ms))
      << instance("abank").dump();
  const XmResult list = xm({"vtpm-list", "abank"});
  EXPECT_EQ(list.exit_code, 0) << list;
  const auto lines = normalized_lines(list.out);
  ASSERT_EQ(lines.size(), 2u) << list.out;
  EXPECT_EQ(lines[1], "0 0 3 running " + std::to_string(abank) + " ACM:mytest:A-Bank swtpm:path=" +
                          (root_ / "run/vtpm/3/tpm.sock").string());

  // Destroying it still stops (saves) the instance.
  ok({"destroy", "abank"});
  EXPECT_EQ(instance("abank")["status"], "stopped");
  EXPECT_TRUE(instance("abank")["domid"].is_null());
}

TEST_F(XmVtpmTest, NoManagerNoDomain) {
  const int status = manager_.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const XmResult refused = xm({"create", "abank.xm"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_NE(refused.err.find("vtpm: the vTPM manager is not running"), std::string::npos)
      << refused;
  EXPECT_EQ(xm({"list"}).out.find("abank"), std::string::npos);
  // backend= other than Domain-0 is refused plainly.
  ASSERT_NO_FATAL_FAILURE(start_manager());
  write_file(work_ / "dd.xm", config("abank", "A-Bank", "backend=3"));
  const XmResult dd = xm({"create", "dd.xm"});
  EXPECT_EQ(dd.exit_code, 1) << dd;
  EXPECT_NE(dd.err.find("vtpm: backend=3 is not supported"), std::string::npos) << dd;
}

}  // namespace
}  // namespace shype::testing
