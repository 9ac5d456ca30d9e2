// Scheduling end to end (manual 4.2): the credit scheduler's weight and
// cap enforced through the domain's cpu cgroup (and a cap that really holds
// a spinning guest back), VCPU pinning as the guest process's CPU
// affinity, and uptime.
#include <cmath>

#include <sched.h>

#include "hv_fixture.hpp"

namespace shype::testing {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

// The directory of a process's cgroup in the v1 cpu hierarchy, or "".
fs::path cpu_cgroup_of(pid_t pid) {
  std::istringstream lines(slurp("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    if (controllers.find(",cpu,") == std::string::npos) continue;
    fs::path dir = fs::path("/sys/fs/cgroup/cpu") / line.substr(second + 2);
    if (fs::exists(dir / "cpu.shares")) return dir;
  }
  return {};
}

// "Cpus_allowed_list:\t0-1" of /proc/<pid>/status.
std::string cpus_allowed(pid_t pid) {
  std::istringstream lines(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) return trim(line.substr(line.find('\t') + 1));
  }
  return {};
}

class HvSchedTest : public HypervisorTest {
 protected:
  static std::string parent() { return "shype-e2e-sched-" + std::to_string(::getpid()); }
  std::string boot_conf() const override { return "cgroup = " + parent() + "\n"; }
  void TearDown() override {
    HypervisorTest::TearDown();  // every domain is gone, and with it its cgroup
    // The parent the hypervisor made in each hierarchy, below its (our) own
    // cgroup: /sys/fs/cgroup/<controllers>/<own path>/<parent>.
    std::istringstream lines(slurp("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
      const auto first = line.find(':');
      const auto second = line.find(':', first + 1);
      if (first == std::string::npos || second == std::string::npos || second == first + 1)
        continue;
      const fs::path dir = fs::path("/sys/fs/cgroup") / line.substr(first + 1, second - first - 1) /
                           line.substr(second + 2) / parent();
      if (fs::exists(dir)) ::rmdir(dir.c_str());
    }
  }
  // Skips unless the host gives domains a v1 cpu cgroup.
  fs::path cgroup_or_skip(abi::domid_t id) {
    const auto i = info(id);
    if (!i || i->host_pid == 0) return {};
    return cpu_cgroup_of(i->host_pid);
  }
  // CPU time the domain used over `window`, as a share of one CPU.
  double cpu_share(abi::domid_t id, std::chrono::milliseconds window) {
    const auto before = info(id);
    const auto start = Clock::now();
    std::this_thread::sleep_for(window);
    const auto after = info(id);
    const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
    if (!before || !after) return -1;
    return static_cast<double>(after->cpu_time_ns - before->cpu_time_ns) /
           static_cast<double>(wall.count());
  }
};

TEST_F(HvSchedTest, WeightAndCapGoToTheDomainsCpuCgroup) {
  const abi::domid_t id = create("weighted", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  const fs::path cgroup = cgroup_or_skip(id);
  if (cgroup.empty()) GTEST_SKIP() << "the host gives domains no cpu cgroup";
  EXPECT_NE(cgroup.string().find("shype-e2e-sched-"), std::string::npos) << cgroup;

  auto initial = xc().sched_credit_get(id);
  ASSERT_TRUE(initial) << initial.error().to_string();
  EXPECT_EQ(*initial, (xc::SchedCredit{256, 0}));

  auto weighted = xc().sched_credit_set(id, 512, std::nullopt);
  ASSERT_TRUE(weighted) << weighted.error().to_string();
  EXPECT_EQ(*weighted, (xc::SchedCredit{512, 0}));
  EXPECT_EQ(trim(slurp(cgroup / "cpu.shares")), "2048");
  EXPECT_EQ(trim(slurp(cgroup / "cpu.cfs_quota_us")), "-1");

  auto capped = xc().sched_credit_set(id, std::nullopt, 20);
  ASSERT_TRUE(capped) << capped.error().to_string();
  EXPECT_EQ(*capped, (xc::SchedCredit{512, 20}));
  EXPECT_EQ(trim(slurp(cgroup / "cpu.cfs_period_us")), "100000");
  EXPECT_EQ(trim(slurp(cgroup / "cpu.cfs_quota_us")), "20000");
  EXPECT_EQ(*xc().sched_credit_get(id), (xc::SchedCredit{512, 20}));

  auto both = xc().sched_credit_set(id, 1, 0);
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(trim(slurp(cgroup / "cpu.shares")), "4");
  EXPECT_EQ(trim(slurp(cgroup / "cpu.cfs_quota_us")), "-1");
  auto most = xc().sched_credit_set(id, 65535, 400);
  ASSERT_TRUE(most) << most.error().to_string();
  EXPECT_EQ(trim(slurp(cgroup / "cpu.shares")), "262140");
  EXPECT_EQ(trim(slurp(cgroup / "cpu.cfs_quota_us")), "400000");

  // Refusals: out-of-range values, Domain-0, unknown domains.
  EXPECT_EQ(xc().sched_credit_set(id, 0, std::nullopt).error().code, EINVAL);
  EXPECT_EQ(xc().sched_credit_set(id, std::nullopt, 0xffff).error().code, EINVAL);
  EXPECT_EQ(xc().sched_credit_set(0, 512, std::nullopt).error().code, EINVAL);
  EXPECT_EQ(*xc().sched_credit_get(0), (xc::SchedCredit{256, 0}));
  EXPECT_EQ(xc().sched_credit_get(999).error().code, ESRCH);
  hv::wire::SchedulerOp other;
  other.args.domid = id;
  other.args.sched_id = 6;  // not the credit scheduler
  auto raw = xc().call("scheduler_op", other);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->header.status, -EINVAL);
}

TEST_F(HvSchedTest, CapHoldsASpinningGuestBack) {
  const abi::domid_t id = create("spinner", kGuestRogue, "spin");
  ASSERT_TRUE(console_shows(id, "rogue: spin: spinning"));
  if (cgroup_or_skip(id).empty()) GTEST_SKIP() << "the host gives domains no cpu cgroup";
  const double uncapped = cpu_share(id, 1000ms);
  ASSERT_TRUE(xc().sched_credit_set(id, std::nullopt, 20));
  std::this_thread::sleep_for(200ms);  // let the current period end
  const double capped = cpu_share(id, 1500ms);
  std::fprintf(stderr, "spinning guest: %.2f of a CPU uncapped, %.2f capped at 20%%\n", uncapped,
               capped);
  EXPECT_GE(capped, 0.0);
  EXPECT_LT(capped, 0.45) << "a 20% cap (uncapped it used " << uncapped << ")";
  if (uncapped > 0.6) {
    EXPECT_LT(capped, uncapped * 0.6) << "the cap, not the machine's load, holds it back";
  }
  // Lifting the cap lets it run again.
  ASSERT_TRUE(xc().sched_credit_set(id, std::nullopt, 0));
  ASSERT_TRUE(xc().request_shutdown(id, abi::ShutdownReason::poweroff));
  EXPECT_TRUE(state_becomes(id, [](const xc::DomainInfo& d) { return d.shutdown(); }));
}

TEST_F(HvSchedTest, VcpuPinIsTheProcessesAffinity) {
  const abi::domid_t id = create("pinned", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  const pid_t pid = info(id)->host_pid;
  auto phys = xc().physinfo();
  ASSERT_TRUE(phys);
  auto initial = xc().vcpu_affinity(id);
  ASSERT_TRUE(initial) << initial.error().to_string();
  EXPECT_EQ(initial->nr_cpus, static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_CONF)));
  cpu_set_t own;
  ASSERT_EQ(::sched_getaffinity(0, sizeof own, &own), 0);
  if (static_cast<std::uint32_t>(CPU_COUNT(&own)) == initial->nr_cpus) {
    EXPECT_TRUE(initial->any()) << xc::format_cpu_list(initial->cpus);
  }
  EXPECT_EQ(xc::format_cpu_list(initial->cpus), cpus_allowed(pid));

  const std::uint32_t last = phys->nr_cpus - 1;
  const std::vector<std::uint32_t> one = {last};
  ASSERT_TRUE(xc().set_vcpu_affinity(id, 0, one));
  EXPECT_EQ(cpus_allowed(pid), std::to_string(last));
  // It runs there once woken (console input is echoed).
  ASSERT_TRUE(xc().console_write(id, "wake up\n"));
  ASSERT_TRUE(console_shows(id, "wake up"));
  auto pinned = xc().vcpu_affinity(id);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->cpus, one);
  EXPECT_EQ(pinned->cpu, static_cast<std::int32_t>(last));
  EXPECT_FALSE(pinned->any() && phys->nr_cpus > 1);

  auto all = xc::parse_cpu_list("all", phys->nr_cpus);
  ASSERT_TRUE(all);
  ASSERT_TRUE(xc().set_vcpu_affinity(id, 0, *all));
  EXPECT_EQ(cpus_allowed(pid), xc::format_cpu_list(*all));

  // Refusals: no CPU that exists, VCPU 1, Domain-0, a domain that is gone.
  const std::vector<std::uint32_t> absent = {abi::kMaxCpus - 1};
  EXPECT_EQ(xc().set_vcpu_affinity(id, 0, absent).error().code, EINVAL);
  EXPECT_EQ(xc().set_vcpu_affinity(id, 1, one).error().code, EINVAL);
  EXPECT_EQ(xc().set_vcpu_affinity(0, 0, one).error().code, EINVAL);
  EXPECT_EQ(xc().vcpu_affinity(id, 1).error().code, EINVAL);
  auto dom0 = xc().vcpu_affinity(0);
  ASSERT_TRUE(dom0) << dom0.error().to_string();
  EXPECT_FALSE(dom0->cpus.empty());
  EXPECT_EQ(cpus_allowed(pid), xc::format_cpu_list(*all)) << "a refused pin changes nothing";
}

TEST(CpuList, ParsesAndFormatsXmsSyntax) {
  EXPECT_EQ(*xc::parse_cpu_list("0-3,5", 8), (std::vector<std::uint32_t>{0, 1, 2, 3, 5}));
  EXPECT_EQ(*xc::parse_cpu_list("0-3,^2,7", 8), (std::vector<std::uint32_t>{0, 1, 3, 7}));
  EXPECT_EQ(*xc::parse_cpu_list("all", 3), (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(*xc::parse_cpu_list("1", 2), (std::vector<std::uint32_t>{1}));
  for (const char* bad : {"", "2", "1-0", "a", "0,", "0-", "^0", "0--1", "-1"}) {
    SCOPED_TRACE(bad);
    auto refused = xc::parse_cpu_list(bad, 2);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, EINVAL);
  }
  EXPECT_EQ(xc::format_cpu_list(std::vector<std::uint32_t>{0, 1, 2, 3, 5}), "0-3,5");
  EXPECT_EQ(xc::format_cpu_list(std::vector<std::uint32_t>{1, 3, 4}), "1,3-4");
  EXPECT_EQ(xc::format_cpu_list(std::vector<std::uint32_t>{}), "");
}

class HvSchedNoCgroupTest : public HypervisorTest {};

TEST_F(HvSchedNoCgroupTest, WithoutACgroupOnlyTheDefaultsHold) {
  const abi::domid_t id = create("free", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  EXPECT_EQ(*xc().sched_credit_get(id), (xc::SchedCredit{256, 0}));
  auto refused = xc().sched_credit_set(id, 512, std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EOPNOTSUPP) << refused.error().to_string();
  EXPECT_NE(refused.error().message.find("cgroup"), std::string::npos);
  auto defaults = xc().sched_credit_set(id, 256, 0);
  EXPECT_TRUE(defaults) << defaults.error().to_string();
}

TEST_F(HvSchedNoCgroupTest, UptimeGrowsAndStartTimeIsWallClock) {
  const auto wall_before = std::chrono::system_clock::now();
  const abi::domid_t id = create("timed", kGuestHello);
  const auto first = info(id);
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(300ms);
  const auto second = info(id);
  ASSERT_TRUE(second);
  EXPECT_GE(second->uptime_ns, first->uptime_ns + 250'000'000u);
  EXPECT_EQ(second->start_time_ns, first->start_time_ns);
  const auto start = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(first->start_time_ns)));
  EXPECT_GE(start, wall_before - 1s);
  EXPECT_LE(start, std::chrono::system_clock::now());
  // Domain-0 started with the hypervisor, before the guest; list_domains
  // carries the same fields.
  auto all = xc().list_domains();
  ASSERT_TRUE(all);
  ASSERT_GE(all->size(), 2u);
  EXPECT_EQ(all->front().domid, 0);
  EXPECT_LE(all->front().start_time_ns, first->start_time_ns);
  EXPECT_GE(all->front().uptime_ns, second->uptime_ns);
  EXPECT_EQ(all->back().start_time_ns, first->start_time_ns);
}

}  // namespace
}  // namespace shype::testing
