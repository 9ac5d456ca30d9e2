// Functional: domains as Domain-0 sees them through libxenctrl - create,
// console, list, pause/unpause, shutdown, destroy, several at once.
#include <signal.h>

#include "hv_fixture.hpp"

namespace shype::testing {
namespace {

using HvDomainTest = HypervisorTest;

TEST_F(HvDomainTest, HelloGreetsListsPausesAndIsDestroyed) {
  const abi::domid_t id = create("hello", kGuestHello);
  ASSERT_EQ(id, 1);
  EXPECT_TRUE(console_shows(id, "Hello from shype domain 1 (hello)")) << console(id);

  auto domains = xc().list_domains();
  ASSERT_TRUE(domains) << domains.error().to_string();
  ASSERT_EQ(domains->size(), 2u);
  EXPECT_EQ((*domains)[0].domid, 0);
  EXPECT_EQ((*domains)[0].name, "Domain-0");
  EXPECT_EQ((*domains)[1].name, "hello");
  EXPECT_EQ((*domains)[1].memory_kib, 8u * 1024);
  EXPECT_GT((*domains)[1].host_pid, 0);
  EXPECT_TRUE((*domains)[1].running() || (*domains)[1].blocked());
  const pid_t pid = (*domains)[1].host_pid;

  ASSERT_TRUE(xc().pause_domain(id));
  auto paused = info(id);
  ASSERT_TRUE(paused);
  EXPECT_TRUE(paused->paused()) << paused->state_string();
  EXPECT_EQ(paused->state_string(), "--p---");
  ASSERT_TRUE(xc().unpause_domain(id));
  EXPECT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return !i.paused(); }));

  ASSERT_TRUE(xc().destroy_domain(id));
  auto gone = xc().domain_info(id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ESRCH);
  EXPECT_TRUE(eventually([&] { return process_gone(pid); }, 5s)) << "the process is gone";
  EXPECT_EQ(xc().list_domains()->size(), 1u);
  // Ids are not reused.
  EXPECT_EQ(create("hello2", kGuestHello), 2);
}

TEST_F(HvDomainTest, ConsoleIsLoggedToAFile) {
  const abi::domid_t id = create("logged", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype domain"));
  const fs::path log = root_ / "var/log/xen/console/logged.log";
  EXPECT_TRUE(eventually([&] { return slurp(log).find("Hello from shype domain 1 (logged)") !=
                                      std::string::npos; },
                         5s));
}

TEST_F(HvDomainTest, ExitCmdlineShutsDownWithPoweroff) {
  const abi::domid_t id = create("quitter", kGuestHello, "exit");
  ASSERT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return i.shutdown(); }));
  auto state = info(id);
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->crashed());
  EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff);
  EXPECT_EQ(state->state_string(), "---s--");
  EXPECT_NE(console(id).find("cmdline: exit"), std::string::npos);
  // Kept, shut down, until destroyed (as Xen): the name stays taken.
  xc::DomainSpec again;
  again.name = "quitter";
  again.kernel = kGuestHello;
  auto clash = xc().create_domain(again);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, EEXIST);
  ASSERT_TRUE(xc().destroy_domain(id));
  EXPECT_EQ(create("quitter", kGuestHello, "exit"), 2);
}

TEST_F(HvDomainTest, RequestShutdownReachesTheGuest) {
  const abi::domid_t id = create("polite", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  ASSERT_TRUE(xc().request_shutdown(id, abi::ShutdownReason::reboot));
  ASSERT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return i.shutdown(); }));
  EXPECT_EQ(info(id)->shutdown_reason, abi::ShutdownReason::reboot);
  EXPECT_NE(console(id).find("shutting down (reason 1)"), std::string::npos);
  // A shut down domain cannot be asked again, paused or written to.
  EXPECT_EQ(xc().request_shutdown(id).error().code, EINVAL);
  EXPECT_EQ(xc().pause_domain(id).error().code, EINVAL);
}

TEST_F(HvDomainTest, ConsoleInputIsEchoed) {
  const abi::domid_t id = create("echo", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  ASSERT_TRUE(xc().console_write(id, "ping-from-domain-0\n"));
  EXPECT_TRUE(console_shows(id, "ping-from-domain-0")) << console(id);
}

TEST_F(HvDomainTest, CounterAdvances) {
  const abi::domid_t id = create("counter", kGuestCounter, "10");
  ASSERT_TRUE(console_shows(id, "counter ", 10s)) << console(id);
  const auto last_count = [&]() -> long {
    const std::string text = console(id);
    const auto at = text.rfind("counter ");
    if (at == std::string::npos) return -1;
    return std::strtol(text.c_str() + at + 8, nullptr, 10);
  };
  const long first = last_count();
  EXPECT_TRUE(eventually([&] { return last_count() > first; }, 5s)) << console(id);
  // CPU time is the process's.
  EXPECT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return i.cpu_time_ns > 0; }, 5s));
}

TEST_F(HvDomainTest, TwoDomainsAtOnce) {
  const abi::domid_t a = create("alpha", kGuestHello);
  const abi::domid_t b = create("beta", kGuestCounter, "20");
  ASSERT_NE(a, b);
  EXPECT_TRUE(console_shows(a, "Hello from shype domain 1 (alpha)"));
  EXPECT_TRUE(console_shows(b, "counter "));
  ASSERT_TRUE(xc().destroy_domain(a));
  EXPECT_TRUE(info(b).has_value());
  const std::string before = console(b);
  EXPECT_TRUE(eventually([&] { return console(b).size() > before.size(); }, 5s));
}

TEST_F(HvDomainTest, StartPausedRunsOnUnpause) {
  const abi::domid_t id = create("sleeper", kGuestHello, "", 0, /*paused=*/true);
  auto state = info(id);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->paused());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(console(id), "");
  ASSERT_TRUE(xc().unpause_domain(id));
  EXPECT_TRUE(console_shows(id, "Hello from shype domain"));
}

TEST_F(HvDomainTest, ErrorsNameTheOpAndTheReason) {
  auto missing = xc().domain_info(77);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ESRCH);
  EXPECT_EQ(missing.error().to_string(), "getdomaininfo: No such process (ESRCH): no domain 77");
  EXPECT_EQ(xc().destroy_domain(0).error().code, EINVAL);
  EXPECT_EQ(xc().pause_domain(0).error().code, EINVAL);

  xc::DomainSpec spec;
  spec.name = "big";
  spec.kernel = kGuestHello;
  spec.memory_mib = abi::kMaxMemoryMib + 1;
  auto big = xc().create_domain(spec);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, EINVAL);
  EXPECT_NE(big.error().message.find("memory_mib"), std::string::npos) << big.error().to_string();

  spec.memory_mib = 8;
  spec.name = "bad/name";
  EXPECT_EQ(xc().create_domain(spec).error().code, EINVAL);
  spec.name = "nokernel";
  spec.kernel = fs::path("/nonexistent/kernel");
  EXPECT_EQ(xc().create_domain(spec).error().code, ENOENT);
  // A descriptor that is not a regular file.
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  spec.kernel = pipe_fds[0];
  auto piped = xc().create_domain(spec);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ASSERT_FALSE(piped);
  EXPECT_EQ(piped.error().code, EBADF);
  EXPECT_EQ(xc().list_domains()->size(), 1u) << "failed creations leave nothing behind";
}

TEST_F(HvDomainTest, PhysinfoAndVersion) {
  auto version = xc().version();
  ASSERT_TRUE(version);
  EXPECT_EQ(version->major, abi::kVersionMajor);
  EXPECT_EQ(version->domid, 0);
  auto phys = xc().physinfo();
  ASSERT_TRUE(phys);
  EXPECT_GE(phys->nr_cpus, 1u);
  EXPECT_GT(phys->total_memory_kib, 0u);
}

}  // namespace
}  // namespace shype::testing
