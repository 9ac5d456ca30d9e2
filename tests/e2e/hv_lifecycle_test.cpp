// The shype-hv command: start (foreground and daemon), status, stop, a
// second start refused, bad boot configurations, clean shutdown on SIGTERM.
#include <sys/prctl.h>
#include <sys/stat.h>

#include <cstdlib>

#include "hv_fixture.hpp"
#include "process.hpp"

namespace shype::testing {
namespace {

class HvLifecycleTest : public HypervisorTest {
 protected:
  void SetUp() override {
    HypervisorTest::SetUp();
    ::setenv("SHYPE_ROOT", root_.c_str(), 1);
  }
  void TearDown() override {
    // A daemon started by `shype-hv start` is not our child: stop it by the
    // pid it wrote.
    if (daemon_pid_ > 0 && !process_gone(daemon_pid_)) {
      ::kill(daemon_pid_, SIGTERM);
      if (!eventually([&] { return process_gone(daemon_pid_); }, 10s)) {
        ::kill(daemon_pid_, SIGKILL);
      }
    }
    // The daemon was adopted by this process (a subreaper): reap it.
    if (daemon_pid_ > 0) {
      (void)eventually([&] { return ::waitpid(daemon_pid_, nullptr, WNOHANG) != 0; }, 5s);
    }
    ::unsetenv("SHYPE_ROOT");
    HypervisorTest::TearDown();
  }
  static ProcessResult hv(const std::string& command) {
    return run_process({kHypervisor.string(), command}, 30s);
  }

  pid_t daemon_pid_ = -1;
};

TEST_F(HvLifecycleTest, StatusStopAndASecondStartIsRefused) {
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "run/shype/privcmd.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the privileged socket is root-only";
  EXPECT_EQ(slurp(root_ / "run/shype/shype-hv.pid"), std::to_string(pid_) + "\n");

  const ProcessResult status = hv("status");
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.err.find("running (pid " + std::to_string(pid_) + ")"), std::string::npos)
      << status.err;

  const ProcessResult second = hv("start");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("a hypervisor already runs under"), std::string::npos) << second.err;

  const abi::domid_t id = create("victim", kGuestHello);
  const pid_t guest = info(id)->host_pid;
  xc_.reset();

  const ProcessResult stop = hv("stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  ASSERT_TRUE(exited()) << "stop returns once the hypervisor is gone";
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid_, &wait_status, 0), pid_);
  ::close(pidfd_);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  EXPECT_TRUE(process_gone(guest)) << "every domain is destroyed on stop";
  EXPECT_FALSE(fs::exists(root_ / "run/shype/privcmd.sock"));
  EXPECT_FALSE(fs::exists(root_ / "run/shype/shype-hv.pid"));

  const ProcessResult after = hv("status");
  EXPECT_EQ(after.exit_code, 3) << after.err;
  EXPECT_EQ(hv("stop").exit_code, 0) << "stopping a stopped hypervisor is fine";
}

class HvDaemonTest : public HvLifecycleTest {
 protected:
  void SetUp() override {
    skip_boot_ = true;
    // `shype-hv start` forks the daemon and exits: be the daemon's new
    // parent so that it can be reaped here.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    HvLifecycleTest::SetUp();
  }
};

TEST_F(HvDaemonTest, StartDaemonizesAndReturnsWhenServing) {
  const ProcessResult start = hv("start");
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const std::string pid_text = slurp(root_ / "run/shype/shype-hv.pid");
  daemon_pid_ = static_cast<pid_t>(std::atoi(pid_text.c_str()));
  ASSERT_GT(daemon_pid_, 0);
  // start returned, so the socket answers at once.
  auto connection = xc::Connection::open(root_, 5s);
  ASSERT_TRUE(connection) << connection.error().to_string();
  EXPECT_TRUE(connection->version().has_value());
  EXPECT_EQ(hv("status").exit_code, 0);
  const ProcessResult stop = hv("stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_TRUE(process_gone(daemon_pid_));
  EXPECT_EQ(hv("status").exit_code, 3);
  const std::string log = slurp(root_ / "var/log/xen/shype-hv.log");
  EXPECT_NE(log.find("hypervisor started"), std::string::npos) << log;
  EXPECT_NE(log.find("hypervisor stopped"), std::string::npos) << log;
}

TEST_F(HvDaemonTest, BadBootConfigurationNamesFileAndLine) {
  std::ofstream(root_ / "etc/shype/boot.conf") << "xsm = acm\n\nxsm_module = flask\n";
  const ProcessResult start = hv("start");
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find((root_ / "etc/shype/boot.conf").string() + ":3: unknown key 'xsm_module'"),
            std::string::npos)
      << start.err;
  EXPECT_EQ(hv("status").exit_code, 3);
}

TEST_F(HvDaemonTest, MissingPolicyFileIsReported) {
  std::ofstream(root_ / "etc/shype/boot.conf") << "policy = etc/shype/none.bin\n";
  const ProcessResult start = hv("start");
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find("none.bin"), std::string::npos) << start.err;
}

TEST_F(HvDaemonTest, UnknownDomain0LabelIsReported) {
  std::ofstream(root_ / "etc/shype/boot.conf") << "dom0_label = NoSuchLabel\n";
  const ProcessResult start = hv("start");
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find("NoSuchLabel"), std::string::npos) << start.err;
}

}  // namespace
}  // namespace shype::testing
