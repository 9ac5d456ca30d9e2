// xm's domain commands beyond chapter 10 (manual 4.2, 7, 8.1) through the
// real xm, xend and shype-hv: save and restore (guest_counter suspends and
// resumes, the Chinese Wall is checked again at restore), pause/unpause,
// uptime, sched-credit and vcpu-pin (enforced through the domain's cgroup)
// and dry-run.
#include <sched.h>
#include <unistd.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "xm_fixture.hpp"

namespace shype::testing {
namespace {

class XmDomainsTest : public XmTest {
 protected:
  static std::string cgroup_parent() { return "shype-xme2e-" + std::to_string(::getpid()); }

  void populate_root() override {
    XmTest::populate_root();
    // The counter kernel takes part in save/restore; a cgroup parent gives
    // domains a cpu cgroup for sched-credit.
    fs::copy_file(kGuestCounter, root_ / "boot/counter", fs::copy_options::overwrite_existing);
    write_file(root_ / "etc/shype/boot.conf", "cgroup = " + cgroup_parent() + "\n");
    write_file(work_ / "counter.xm",
               "kernel = \"/boot/counter\"\nmemory = 8\nname = \"counter\"\nextra = \"20\"\n"
               "access_control = ['policy=mytest,label=A-Bank']\n");
  }

  void TearDown() override {
    XmTest::TearDown();
    std::istringstream lines(slurp("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
      const auto first = line.find(':');
      const auto second = line.find(':', first + 1);
      if (first == std::string::npos || second == std::string::npos || second == first + 1) {
        continue;
      }
      const fs::path dir = fs::path("/sys/fs/cgroup") / line.substr(first + 1, second - first - 1) /
                           line.substr(second + 2) / cgroup_parent();
      if (fs::exists(dir)) ::rmdir(dir.c_str());
    }
  }

  void ok(const std::vector<std::string>& args) {
    const XmResult r = xm(args);
    EXPECT_EQ(r.exit_code, 0) << args.front() << "\n" << r;
  }

  // The last "counter <n>" the console shows, or -1.
  long last_count() {
    const std::string log = slurp(root_ / "var/log/xen/console/guest-counter.log");
    long last = -1;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("counter ", 0) == 0) {
        try {
          last = std::stol(line.substr(8));
        } catch (const std::exception&) {
        }
      }
    }
    return last;
  }
};

TEST_F(XmDomainsTest, SaveAndRestoreKeepTheGuestsStateAndCheckItsLabel) {
  ok({"setpolicy", "ACM", "mytest"});
  ok({"create", "counter.xm"});
  ASSERT_TRUE(eventually([&] { return last_count() >= 1; }, 20s, 50ms)) << "no count";
  const XmResult saved = xm({"save", "counter", "counter.chk"});
  ASSERT_EQ(saved.exit_code, 0) << saved;
  EXPECT_TRUE(fs::exists(work_ / "counter.chk"));
  EXPECT_FALSE(domain_listed("counter"));
  const std::string before = slurp(root_ / "var/log/xen/console/guest-counter.log");
  ASSERT_NE(before.find("counter: suspending at"), std::string::npos) << before;

  // While it is saved its Chinese Wall type does not count: B-Bank may run,
  // and then the A-Bank domain may not come back.
  write_file(work_ / "bbank.xm",
             "kernel = \"/boot/vmlinuz-2.6.18.8-xen\"\nmemory = 8\nname = \"bbank\"\n"
             "access_control = ['policy=mytest,label=B-Bank']\n");
  ok({"create", "bbank.xm"});
  const XmResult refused = xm({"restore", "counter.chk"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_EQ(refused.err, "Error: 'Domain in conflict set with running domains'\n");
  ok({"destroy", "bbank"});

  const XmResult restored = xm({"restore", "counter.chk"});
  ASSERT_EQ(restored.exit_code, 0) << restored;
  ASSERT_TRUE(eventually(
      [&] {
        return slurp(root_ / "var/log/xen/console/guest-counter.log").find("counter: resumed at") !=
               std::string::npos;
      },
      20s, 50ms));
  const XmResult list = xm({"list", "--label", "counter"});
  EXPECT_NE(list.out.find("ACM:mytest:A-Bank"), std::string::npos) << list;
  ok({"destroy", "counter"});
}

TEST_F(XmDomainsTest, ASaveThatCannotBeWrittenResumesTheDomain) {
  ok({"setpolicy", "ACM", "mytest"});
  ok({"create", "counter.xm"});
  ASSERT_TRUE(eventually([&] { return last_count() >= 1; }, 20s, 50ms)) << "no count";
  // The directory does not exist: the image cannot be written.
  const XmResult saved = xm({"save", "counter", "/no/such/dir/counter.chk"});
  EXPECT_EQ(saved.exit_code, 1) << saved;
  EXPECT_NE(saved.err.find("Error: Saving counter failed:"), std::string::npos) << saved;
  EXPECT_NE(saved.err.find("the domain was resumed"), std::string::npos) << saved;
  EXPECT_FALSE(fs::exists(root_ / "no/such/dir/counter.chk"));
  // Nothing is lost: it runs on from where it was, with its label.
  ASSERT_TRUE(domain_listed("counter"));
  ASSERT_TRUE(eventually(
      [&] {
        return slurp(root_ / "var/log/xen/console/guest-counter.log").find("counter: resumed at") !=
               std::string::npos;
      },
      20s, 50ms));
  const long resumed_at = last_count();
  ASSERT_TRUE(eventually([&] { return last_count() > resumed_at; }, 20s, 50ms)) << "not counting";
  const XmResult list = xm({"list", "--label", "counter"});
  EXPECT_NE(list.out.find("ACM:mytest:A-Bank"), std::string::npos) << list;
  ok({"destroy", "counter"});
}

TEST_F(XmDomainsTest, PauseUptimeAndScheduling) {
  ok({"setpolicy", "ACM", "mytest"});
  ok({"create", "counter.xm"});
  ASSERT_TRUE(eventually([&] { return last_count() >= 1; }, 20s, 50ms));

  ok({"pause", "counter"});
  const XmResult paused = xm({"list", "counter"});
  EXPECT_NE(paused.out.find("--p---"), std::string::npos) << paused;
  ok({"unpause", "counter"});

  const XmResult uptime = xm({"uptime", "counter"});
  EXPECT_EQ(uptime.exit_code, 0) << uptime;
  EXPECT_NE(uptime.out.find("counter"), std::string::npos) << uptime;
  EXPECT_NE(uptime.out.find("0:00:"), std::string::npos) << uptime;

  const XmResult credit = xm({"sched-credit", "-d", "counter"});
  EXPECT_EQ(credit.exit_code, 0) << credit;
  EXPECT_NE(normalize(credit.out).find("counter 1 256 0"), std::string::npos) << credit;
  ok({"sched-credit", "-d", "counter", "-w", "512", "-c", "50"});
  const XmResult changed = xm({"--json", "sched-credit", "-d", "counter"});
  const auto json = nlohmann::json::parse(changed.out);
  EXPECT_EQ(json["domains"][0]["weight"], 512);
  EXPECT_EQ(json["domains"][0]["cap"], 50);

  ok({"vcpu-pin", "counter", "0", "0"});
  const XmResult vcpus = xm({"vcpu-list", "counter"});
  EXPECT_EQ(vcpus.exit_code, 0) << vcpus;
  EXPECT_NE(normalize(vcpus.out).find(" 0\n"), std::string::npos) << vcpus;
  const XmResult bad_pin = xm({"vcpu-pin", "counter", "0", "99"});
  EXPECT_EQ(bad_pin.exit_code, 1) << bad_pin;
  ok({"destroy", "counter"});
}

// boot.conf `dom0_cpus = 0`: Domain-0 (the hypervisor, and xend with its
// device backends) runs on CPU 0 and guests start on the other CPUs; a
// guest's `cpus` still pins it anywhere.
class XmDom0CpusTest : public XmDomainsTest {
 protected:
  void SetUp() override {
    cpu_set_t own;
    if (::sched_getaffinity(0, sizeof own, &own) != 0 || !CPU_ISSET(0, &own) || CPU_COUNT(&own) < 2 ||
        ::sysconf(_SC_NPROCESSORS_CONF) < 2) {
      GTEST_SKIP() << "needs CPU 0 and another CPU";
    }
    XmDomainsTest::SetUp();
  }
  void populate_root() override {
    XmDomainsTest::populate_root();
    write_file(root_ / "etc/shype/boot.conf",
               "cgroup = " + cgroup_parent() + "\ndom0_cpus = 0\n");
    write_file(work_ / "pinned.xm",
               "kernel = \"/boot/counter\"\nmemory = 8\nname = \"pinned\"\nextra = \"20\"\n"
               "cpus = \"0\"\naccess_control = ['policy=mytest,label=A-Bank']\n");
  }
  // The last column (CPU Affinity) of `xm vcpu-list <domain>`'s row.
  std::string affinity_of(const std::string& domain) {
    const XmResult r = xm({"vcpu-list", domain});
    EXPECT_EQ(r.exit_code, 0) << r;
    std::istringstream lines(r.out);
    std::string line;
    std::getline(lines, line);  // the header
    std::getline(lines, line);
    return line.substr(line.find_last_of(' ') + 1);
  }
};

TEST_F(XmDom0CpusTest, Domain0AndGuestsRunOnTheirOwnCpus) {
  const long cpus = ::sysconf(_SC_NPROCESSORS_CONF);
  const std::string others = cpus == 2 ? "1" : "1-" + std::to_string(cpus - 1);
  EXPECT_EQ(affinity_of("Domain-0"), "0");
  const std::string xend_pid = slurp(root_ / "run/xend/xend.pid");
  ASSERT_FALSE(xend_pid.empty());
  const std::string status = slurp("/proc/" + std::to_string(std::stol(xend_pid)) + "/status");
  EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;
  EXPECT_NE(slurp(root_ / "var/log/xen/xend.log").find("running on Domain-0's CPUs 0"),
            std::string::npos);

  ok({"setpolicy", "ACM", "mytest"});
  ok({"create", "counter.xm"});
  ASSERT_TRUE(eventually([&] { return last_count() >= 1; }, 20s, 50ms));
  EXPECT_EQ(affinity_of("counter"), others);
  ok({"create", "pinned.xm"});
  EXPECT_EQ(affinity_of("pinned"), "0") << "a configuration's cpus wins";
  ok({"destroy", "pinned"});
  ok({"destroy", "counter"});
}

TEST_F(XmDomainsTest, DryRunReportsEveryCheck) {
  ok({"setpolicy", "ACM", "mytest"});
  ok({"addlabel", "A-Bank", "dom", "domain1.xm"});
  ok({"addlabel", "A-Bank", "res", std::string(kFc5Image)});
  ok({"addlabel", "B-Bank", "res", std::string(kFc5Swap)});
  const XmResult r = xm({"dry-run", "domain1.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(normalize(r.out), normalize(std::string("Checking domain:\n   domain1: PERMITTED\n"
                                                    "Checking resources:\n   ") +
                                        std::string(kFc5Image) + ": PERMITTED\n   " +
                                        std::string(kFc5Swap) + ": DENIED\n" +
                                        "   --> res: B-Bank (ACM:mytest)\n"
                                        "   --> dom: A-Bank (ACM:mytest)\n"
                                        "Dry Run: FAILED\n"));
}

}  // namespace
}  // namespace shype::testing
