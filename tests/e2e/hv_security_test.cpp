// Security: a hostile guest (guest_rogue) breaks only itself. Forbidden
// system calls kill it (crashed), protocol abuse destroys it or is refused,
// Domain-0 operations are refused, a flood cannot starve Domain-0, and the
// other domains and the hypervisor carry on.
#include <algorithm>

#include "hv_fixture.hpp"

namespace shype::testing {
namespace {

class HvSecurityTest : public HypervisorTest {
 protected:
  // A bystander that must keep running through every attack.
  void SetUp() override {
    HypervisorTest::SetUp();
    if (HasFatalFailure()) return;
    bystander_ = create("bystander", kGuestCounter, "10");
    ASSERT_TRUE(console_shows(bystander_, "counter ", 10s));
  }

  void expect_bystander_fine() {
    const std::string before = console(bystander_);
    EXPECT_TRUE(eventually([&] { return console(bystander_).size() > before.size(); }, 5s))
        << "the bystander stopped";
    auto state = info(bystander_);
    ASSERT_TRUE(state);
    EXPECT_FALSE(state->crashed());
    EXPECT_FALSE(state->shutdown());
    EXPECT_TRUE(xc().version().has_value()) << "the hypervisor must still answer";
  }

  // Runs an attack; returns the rogue's final state (shut down or crashed).
  std::optional<xc::DomainInfo> run(const std::string& attack) {
    const abi::domid_t id = create("rogue-" + attack, kGuestRogue, attack);
    rogue_ = id;
    if (!state_becomes(id, [](const xc::DomainInfo& i) { return i.shutdown() || i.crashed(); },
                       60s)) {
      ADD_FAILURE() << attack << ": the rogue neither shut down nor crashed: " << console(id);
      return std::nullopt;
    }
    return info(id);
  }

  abi::domid_t bystander_ = 0;
  abi::domid_t rogue_ = 0;
};

TEST_F(HvSecurityTest, ForbiddenSystemCallsKillOnlyTheRogue) {
  for (const char* attack : {"open", "socket", "fork", "execve", "ptrace", "kill", "mmap-exec"}) {
    const auto state = run(attack);
    ASSERT_TRUE(state) << attack;
    EXPECT_TRUE(state->crashed()) << attack << ": " << console(rogue_);
    EXPECT_EQ(console(rogue_).find("NOT BLOCKED"), std::string::npos) << console(rogue_);
    ASSERT_TRUE(xc().destroy_domain(rogue_));
  }
  const std::string log = slurp(root_ / "var/log/xen/shype-hv.log");
  EXPECT_NE(log.find("killed by SIGSYS (sandbox violation)"), std::string::npos) << log;
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, DomainZeroOpsAreRefusedToGuests) {
  const auto state = run("privileged-op");
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->crashed());
  EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff) << console(rogue_);
  EXPECT_NE(console(rogue_).find("refused -1 (expected -1)"), std::string::npos) << console(rogue_);
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, UnknownOpIsEnosys) {
  const auto state = run("unknown-op");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff) << console(rogue_);
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, ProtocolAbuseDestroysTheRogueOrIsRefused) {
  for (const char* attack : {"bad-magic", "truncated-header", "oversize", "length-lie"}) {
    const auto state = run(attack);
    ASSERT_TRUE(state) << attack;
    // Framing violations destroy the guest (crashed); it never gets through.
    EXPECT_TRUE(state->crashed()) << attack << ": " << console(rogue_);
    EXPECT_EQ(console(rogue_).find("ACCEPTED"), std::string::npos) << console(rogue_);
    EXPECT_EQ(console(rogue_).find("NO ANSWER"), std::string::npos) << console(rogue_);
    ASSERT_TRUE(xc().destroy_domain(rogue_));
  }
  const std::string log = slurp(root_ / "var/log/xen/shype-hv.log");
  EXPECT_NE(log.find("crashed: protocol violation"), std::string::npos) << log;
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, GarbageDescriptorsAreRefusedAndClosed) {
  const auto state = run("garbage-fds");
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->crashed()) << console(rogue_);
  EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff) << console(rogue_);
  EXPECT_NE(console(rogue_).find("refused"), std::string::npos) << console(rogue_);
  // The hypervisor kept none of them: its descriptor count stays bounded.
  std::size_t fds = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid_) + "/fd"))
    ++fds;
  EXPECT_LT(fds, 64u);
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, FloodDoesNotStarveDomainZero) {
  const abi::domid_t id = create("flooder", kGuestRogue, "flood");
  rogue_ = id;
  ASSERT_TRUE(console_shows(id, "console writes", 10s));
  // While it floods, Domain-0 keeps getting prompt answers.
  std::vector<double> latencies_ms;
  const auto until = Clock::now() + 2s;
  while (Clock::now() < until) {
    const auto start = Clock::now();
    ASSERT_TRUE(xc().version().has_value());
    ASSERT_TRUE(xc().domain_info(bystander_).has_value());
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(latencies_ms.empty());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double worst = latencies_ms.back();
  const double median = latencies_ms[latencies_ms.size() / 2];
  RecordProperty("domain0_median_ms", std::to_string(median));
  RecordProperty("domain0_worst_ms", std::to_string(worst));
  EXPECT_LT(worst, 500.0) << "median " << median << " ms";
  ASSERT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return i.shutdown(); }, 120s))
      << console(id).substr(0, 200);
  EXPECT_FALSE(info(id)->crashed());
  EXPECT_NE(console(id).find("100000 writes answered"), std::string::npos);
  expect_bystander_fine();
}

TEST_F(HvSecurityTest, ACrashingGuestDoesNotDisturbAnotherMidOperation) {
  // Several rogues die while the bystander and Domain-0 work.
  std::vector<abi::domid_t> rogues;
  for (int i = 0; i < 4; ++i) {
    rogues.push_back(create("dying-" + std::to_string(i), kGuestRogue, i % 2 ? "socket" : "oversize"));
  }
  for (abi::domid_t id : rogues) {
    EXPECT_TRUE(state_becomes(id, [](const xc::DomainInfo& i) { return i.crashed(); }, 20s));
  }
  expect_bystander_fine();
}

}  // namespace
}  // namespace shype::testing
