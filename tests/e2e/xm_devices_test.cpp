// The core split devices end to end (docs/devices.md): xend introduces each
// domain to the device host; the guest runtime connects its console ring
// and xenstore page; the console daemon logs and serves the console socket
// that `xm console` relays. guest_xs_probe (hypervisor/guest/kernels/
// xs_probe.cpp) prints one line per xenstore operation, echoes console
// input and can flood its console; guest_counter prints once a second.
//
// Covered: a guest's output in var/log/xen/console/guest-<name>.log; a
// guest reads and writes its own home and gets EACCES for another domain's
// (read and write); `xm console` with piped input (history, echo, Ctrl-]
// detach, end of input); save/restore reconnection on the new domid's
// socket; destroy removing /local/domain/<id> (xm xenstore-ls/-read); a
// flooding guest not starving another guest's console.
#include <nlohmann/json.hpp>

#include "xm_devices_fixture.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestXsProbe = GUEST_XS_PROBE_PATH;
constexpr const char* kProbeKernel = "/boot/guest_xs_probe";
constexpr const char* kCounterKernel = "/boot/guest_counter";

// `xm console <domain>` as a child with piped stdin and stdout (so xm
// relays without a terminal). Killed (its process group) when destroyed.
class ConsoleClient {
 public:
  ConsoleClient(const fs::path& root, const fs::path& work, const std::string& domain) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::setenv("SHYPE_ROOT", root.c_str(), 1);
      if (::chdir(work.c_str()) != 0) ::_exit(126);
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execl(kXm.c_str(), "xm", "console", domain.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    input_ = in[1];
    output_ = out[0];
    if (pid_ < 0) ADD_FAILURE() << "fork failed";
  }

  ~ConsoleClient() {
    close_input();
    if (output_ >= 0) ::close(output_);
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  ConsoleClient(const ConsoleClient&) = delete;
  ConsoleClient& operator=(const ConsoleClient&) = delete;

  // Reads until `needle` has been seen (true) or `timeout` passed.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !read_some(left)) return out_.find(needle) != std::string::npos;
    }
    return true;
  }

  void send(const std::string& text) {
    ASSERT_GE(input_, 0);
    ASSERT_EQ(::write(input_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  void close_input() {
    if (input_ >= 0) ::close(input_);
    input_ = -1;
  }

  // Waits (reading its output meanwhile) for xm to exit; its exit code, or
  // -1 if it did not exit within `timeout`.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        while (read_some(std::chrono::milliseconds(0))) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (Clock::now() >= deadline) return -1;
      (void)read_some(std::chrono::milliseconds(50));
    }
  }

  [[nodiscard]] const std::string& output() const { return out_; }

 private:
  // False at end of output or when nothing came within `timeout`.
  bool read_some(std::chrono::milliseconds timeout) {
    if (output_ < 0) return false;
    pollfd p{output_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    char buffer[4096];
    const ssize_t n = ::read(output_, buffer, sizeof buffer);
    if (n <= 0) {
      ::close(output_);
      output_ = -1;
      return false;
    }
    out_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::string out_;
};

class XmDevices : public XmDevicesTest {
 protected:
  void populate_root() override {
    XmTest::populate_root();
    install_kernel(kGuestXsProbe, kProbeKernel);
    install_kernel(kGuestCounter, kCounterKernel);
  }

  void SetUp() override {
    XmTest::SetUp();
    if (HasFatalFailure()) return;
    set_policy("mytest");
  }

  // Creates `name` (labeled A-Bank) running `kernel` with `extra`; returns
  // its domid (-1 on failure, with the failure recorded).
  int create(const std::string& name, const std::string& kernel, const std::string& extra) {
    const std::string file = name + ".xm";
    write_config(name, "A-Bank", kernel, extra);
    const XmResult r = xm({"create", file});
    EXPECT_EQ(r.exit_code, 0) << "xm create " << file << "\n" << r;
    return domid_of(name);
  }

  int domid_of(const std::string& name) {
    const XmResult r = xm({"list"});
    for (const auto& line : normalized_lines(r.out)) {
      const auto words = split_words(line);
      if (words.size() >= 2 && words[0] == name && words[1] != "-1") return std::stoi(words[1]);
    }
    ADD_FAILURE() << name << " is not in xm list\n" << r;
    return -1;
  }

  fs::path console_socket(int domid) const {
    return root_ / "run/xend/console" / (std::to_string(domid) + ".sock");
  }

  // Waits until the console log of `name` holds `count` copies of `needle`.
  bool log_shows(const std::string& name, const std::string& needle, std::size_t count = 1,
                 std::chrono::milliseconds timeout = 30s) {
    return eventually([&] { return count_of(slurp(console_log(name)), needle) >= count; },
                      timeout, 100ms);
  }

  std::uintmax_t log_size(const std::string& name) const {
    std::error_code ec;
    const auto size = fs::file_size(console_log(name), ec);
    return ec ? 0 : size;
  }
};

// (a) and (b): the output lands in the domain's console log; the probe
// reads and writes its home and is refused another domain's.
TEST_F(XmDevices, GuestConsoleLogAndXenstorePermissions) {
  const int first = create("probe1", kProbeKernel, "");
  ASSERT_GT(first, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done")) << slurp(console_log("probe1"));
  const int second = create("probe2", kProbeKernel, "other=" + std::to_string(first));
  ASSERT_GT(second, 0);
  ASSERT_TRUE(log_shows("probe2", "xs: probe done")) << slurp(console_log("probe2"));

  const std::string log1 = slurp(console_log("probe1"));
  EXPECT_NE(log1.find("xs_probe: domain " + std::to_string(first) + " (probe1)"),
            std::string::npos)
      << log1;
  EXPECT_NE(log1.find("xs: read name -> probe1"), std::string::npos) << log1;
  EXPECT_NE(log1.find("xs: write data/probe -> OK"), std::string::npos) << log1;
  EXPECT_NE(log1.find("xs: read data/probe -> hello-from-guest"), std::string::npos) << log1;

  const std::string log2 = slurp(console_log("probe2"));
  const std::string other = "/local/domain/" + std::to_string(first);
  EXPECT_NE(log2.find("xs: read name -> probe2"), std::string::npos) << log2;
  EXPECT_NE(log2.find("xs: read " + other + "/name -> EACCES"), std::string::npos) << log2;
  EXPECT_NE(log2.find("xs: write " + other + "/data/intruder -> EACCES"), std::string::npos)
      << log2;
  // Each log holds its own domain's output only.
  EXPECT_EQ(log1.find("probe2"), std::string::npos) << log1;

  // Domain-0 sees what the guests wrote, and that the refused write left
  // nothing behind.
  XmResult r = xm({"xenstore-read", "/local/domain/" + std::to_string(second) + "/data/probe"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "hello-from-guest\n") << r;
  r = xm({"xenstore-read", other + "/data/intruder"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("ENOENT"), std::string::npos) << r;
  r = xm({"xenstore-ls", "-p", other});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("name = \"probe1\"  (n" + std::to_string(first) + ")"), std::string::npos)
      << r;
  EXPECT_EQ(r.out.find("intruder"), std::string::npos) << r;
}

// (c): `xm console` with piped input: the history first, then input goes
// to the guest and its echo comes back; Ctrl-] detaches; the end of input
// ends xm once the output has drained.
TEST_F(XmDevices, ConsoleRelaysPipedInput) {
  const int domid = create("probe1", kProbeKernel, "");
  ASSERT_GT(domid, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done"));
  ASSERT_TRUE(fs::exists(console_socket(domid)));
  {
    ConsoleClient console(root_, work_, "probe1");
    ASSERT_TRUE(console.read_until("xs: probe done", 20s)) << console.output();
    ASSERT_NO_FATAL_FAILURE(console.send("hello shype\n"));
    EXPECT_TRUE(console.read_until("echo: hello shype", 20s)) << console.output();
    ASSERT_NO_FATAL_FAILURE(console.send("\x1d"));
    EXPECT_EQ(console.wait_exit(5s), 0) << "Ctrl-] did not detach\n" << console.output();
  }
  {
    ConsoleClient console(root_, work_, std::to_string(domid));
    ASSERT_NO_FATAL_FAILURE(console.send("second line\n"));
    console.close_input();
    EXPECT_EQ(console.wait_exit(20s), 0) << console.output();
    EXPECT_NE(console.output().find("echo: hello shype"), std::string::npos) << console.output();
    EXPECT_NE(console.output().find("echo: second line"), std::string::npos) << console.output();
  }
  EXPECT_TRUE(log_shows("probe1", "echo: second line"));
  // The domain still runs and its console still serves.
  EXPECT_TRUE(domain_listed("probe1"));

  // A domain that does not exist is an error.
  const XmResult r = xm({"console", "nosuchdomain"});
  EXPECT_EQ(r.exit_code, 1) << r;
}

// (d): after xm save / xm restore the guest reconnects to its console and
// xenstore (it probes again), served on the new domid's socket.
TEST_F(XmDevices, SaveRestoreReconnects) {
  const int before = create("probe1", kProbeKernel, "");
  ASSERT_GT(before, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done"));
  XmResult r = xm({"save", "probe1", "probe1.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(eventually([&] { return !fs::exists(console_socket(before)); }, 10s))
      << "the saved domain's console socket is still there";
  r = xm({"restore", "probe1.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const int after = domid_of("probe1");
  ASSERT_GT(after, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done", 2)) << slurp(console_log("probe1"));
  const std::string log = slurp(console_log("probe1"));
  EXPECT_NE(log.find("xs_probe: resumed (restore 1) as domain " + std::to_string(after)),
            std::string::npos)
      << log;
  EXPECT_EQ(count_of(log, "xs: read data/probe -> hello-from-guest"), 2u) << log;
  EXPECT_TRUE(fs::exists(console_socket(after)));
  if (after != before) {
    EXPECT_FALSE(fs::exists(console_socket(before)));
  }

  ConsoleClient console(root_, work_, "probe1");
  ASSERT_NO_FATAL_FAILURE(console.send("after restore\n"));
  EXPECT_TRUE(console.read_until("echo: after restore", 20s)) << console.output();
}

// (d'): xend stops (or is killed) and starts again while a guest runs: the
// new xend adopts the guest's console and xenstore (the guest's rings go on
// where they stopped): input typed afterwards reaches the guest, its echo
// comes back, and the guest's own store requests are answered again.
TEST_F(XmDevices, ConsoleAndStoreSurviveXendRestart) {
  const int domid = create("probe1", kProbeKernel, "");
  ASSERT_GT(domid, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done"));
  const std::string home = "/local/domain/" + std::to_string(domid);
  std::size_t probes = 1;
  for (const bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "xend killed" : "xend stopped");
    ASSERT_NO_FATAL_FAILURE(restart_xend(killed));
    ASSERT_EQ(domid_of("probe1"), domid);
    ASSERT_TRUE(eventually([&] { return fs::exists(console_socket(domid)); }, 10s));
    const XmResult name = xm({"xenstore-read", home + "/name"});
    EXPECT_EQ(name.exit_code, 0) << name;
    EXPECT_EQ(name.out, "probe1\n") << name;

    const std::string line = killed ? "after a kill" : "after a restart";
    ConsoleClient console(root_, work_, "probe1");
    ASSERT_NO_FATAL_FAILURE(console.send(line + "\nprobe\n"));
    EXPECT_TRUE(console.read_until("echo: " + line, 20s)) << console.output();
    ++probes;
    EXPECT_TRUE(log_shows("probe1", "xs: probe done", probes)) << slurp(console_log("probe1"));
    ASSERT_NO_FATAL_FAILURE(console.send("\x1d"));
    EXPECT_EQ(console.wait_exit(5s), 0) << console.output();
  }
  const std::string log = slurp(console_log("probe1"));
  EXPECT_EQ(count_of(log, "xs: read data/probe -> hello-from-guest"), 3u) << log;
}

// (e): destroying a domain removes its xenstore home and its console socket.
TEST_F(XmDevices, DestroyRemovesXenstoreHome) {
  const int domid = create("probe1", kProbeKernel, "");
  ASSERT_GT(domid, 0);
  ASSERT_TRUE(log_shows("probe1", "xs: probe done"));
  const std::string home = "/local/domain/" + std::to_string(domid);
  XmResult r = xm({"xenstore-read", home + "/name"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "probe1\n") << r;
  quietly({"xenstore-write", home + "/data/from-dom0", "hi there"});
  r = xm({"xenstore-read", home + "/data/from-dom0"});
  EXPECT_EQ(r.out, "hi there\n") << r;
  r = xm({"xenstore-ls", "/local/domain"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(("\n" + r.out).find("\n" + std::to_string(domid) + " = \"\"\n"), std::string::npos)
      << "xenstore-ls does not show the domain's home at depth 0\n" << r;
  EXPECT_NE(r.out.find("  probe = \"hello-from-guest\""), std::string::npos) << r;

  r = xm({"destroy", "probe1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(eventually([&] { return xm({"xenstore-read", home + "/name"}).exit_code == 1; }, 10s));
  r = xm({"xenstore-read", home + "/name"});
  EXPECT_NE(r.err.find("ENOENT"), std::string::npos) << r;
  r = xm({"xenstore-ls", "/local/domain"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(("\n" + r.out).find("\n" + std::to_string(domid) + " = "), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(console_socket(domid)));
}

// (f): a guest flooding its console does not starve another guest's.
TEST_F(XmDevices, FloodingConsoleDoesNotStarveOthers) {
  ASSERT_GT(create("quiet", kCounterKernel, ""), 0);
  ASSERT_TRUE(log_shows("quiet", "counter ", 1)) << slurp(console_log("quiet"));
  ASSERT_GT(create("flooder", kProbeKernel, "flood=1000000"), 0);
  ASSERT_TRUE(eventually([&] { return log_size("flooder") > 256 * 1024; }, 30s, 100ms))
      << "the flooder's log stays at " << log_size("flooder") << " bytes";
  const auto flood_before = log_size("flooder");
  const auto quiet_before = count_of(slurp(console_log("quiet")), "counter ");
  // guest_counter prints once a second: three more lines in at most 10 s.
  EXPECT_TRUE(log_shows("quiet", "counter ", quiet_before + 3, 10s))
      << "the quiet guest's console starved: " << count_of(slurp(console_log("quiet")), "counter ")
      << " lines, " << quiet_before << " before";
  EXPECT_GT(log_size("flooder"), flood_before) << "the flooder's output stopped";
  EXPECT_TRUE(domain_listed("quiet"));
  quietly({"destroy", "flooder"});
}

}  // namespace
}  // namespace shype::testing
