// The fixture of xm's end-to-end tests: every test gets a fresh temporary
// SHYPE_ROOT laid out like the manual's Domain-0 (chapter 10): the sample
// guest kernel as /boot/vmlinuz-2.6.18.8-xen, the repository's policies in
// /etc/xen/acm-security/policies, the disk images of domain1..domain4 under
// /home/xen and their configuration files in the work directory /root. It
// boots the real `shype-hv start --foreground` and `xend start --foreground`
// as children and stops them by pid in TearDown (SIGTERM, bounded wait,
// SIGKILL), also when the test failed. Every wait is bounded.
//
// Comparisons follow the rule: outputs are compared to the manual's
// transcripts ignoring times, ids and column spacing (normalize), and
// `xm list` rows by name, state class and label (list_rows).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.hpp"

namespace shype::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline const fs::path kHypervisor = SHYPE_HV_PATH;
inline const fs::path kXend = XEND_PATH;
inline const fs::path kXm = XM_PATH;
inline const fs::path kGuestHello = GUEST_HELLO_PATH;
inline const fs::path kGuestCounter = GUEST_COUNTER_PATH;
inline const fs::path kSourceDir = SHYPE_SOURCE_DIR;

// The manual's names (10.2.4, 10.2.5).
inline constexpr const char* kKernel = "/boot/vmlinuz-2.6.18.8-xen";
inline constexpr const char* kFc5Image = "file:/home/xen/dom_fc5/fedora.fc5.img";
inline constexpr const char* kFc5Swap = "file:/home/xen/dom_fc5/fedora.fc5.swap";
// The disk of domainN for N = 2, 3, 4 (the manual does not name them).
inline std::string domain_disk(int n) {
  return "file:/home/xen/domain" + std::to_string(n) + "/disk.img";
}

// ---- comparing outputs --------------------------------------------------------

inline bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds step = 50ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (ready()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Each line with runs of blanks collapsed to one space and trimmed; empty
// lines dropped. The issue: "ignoring times, ids and column spacing".
inline std::vector<std::string> normalized_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const auto words = split_words(line);
    if (words.empty()) continue;
    std::string joined;
    for (const auto& w : words)
      joined += (joined.empty() ? "" : " ") + w;
    lines.push_back(std::move(joined));
  }
  return lines;
}

inline std::string normalize(std::string_view text) {
  std::string out;
  for (const auto& line : normalized_lines(text))
    out += line + "\n";
  return out;
}

// `xm list` states: six flag positions r b p s c d (reference 1.12). Whether
// an idle guest shows r or b at a given instant is timing, so both are
// "running"; a dormant managed domain is "------".
inline std::string state_class(const std::string& state) {
  if (state.size() != 6) return "malformed-state(" + state + ")";
  static constexpr std::string_view kFlags = "rbpscd";
  for (std::size_t i = 0; i < 6; ++i) {
    if (state[i] != '-' && state[i] != kFlags[i]) return "malformed-state(" + state + ")";
  }
  if (state == "------") return "dormant";
  if (state[4] == 'c') return "crashed";
  if (state[3] == 's') return "shutdown";
  if (state[5] == 'd') return "dying";
  if (state[2] == 'p') return "paused";
  return "running";
}

// `xm list [--label]` reduced to what the comparison looks at: the header
// words, then per row "name state-class [label]"; a dormant row also keeps
// its ID (the manual shows -1 for it). ID, Mem, VCPUs and Time(s) are
// dropped otherwise.
inline std::string list_rows(std::string_view text) {
  std::string out;
  bool header = true;
  for (const auto& line : normalized_lines(text)) {
    const auto words = split_words(line);
    if (header) {
      out += line + "\n";
      header = false;
      continue;
    }
    if (words.size() < 6) {
      out += "unparsable row: " + line + "\n";
      continue;
    }
    const std::string cls = state_class(words[4]);
    out += words[0] + " " + cls;
    if (cls == "dormant") out += " id=" + words[1];
    if (words.size() >= 7) out += " " + words[6];
    if (words.size() > 7) out += " (extra columns)";
    out += "\n";
  }
  return out;
}

// `xm resources`: the set of four-line entries (the order of the resource
// file is no order at all, reference 1.6).
inline std::multiset<std::string> resource_entries(std::string_view text) {
  std::multiset<std::string> entries;
  std::string entry;
  for (const auto& line : normalized_lines(text)) {
    const bool field = line.rfind("type:", 0) == 0 || line.rfind("policy:", 0) == 0 ||
                       line.rfind("label:", 0) == 0;
    if (!field && !entry.empty()) {
      entries.insert(entry);
      entry.clear();
    }
    entry += line + "\n";
  }
  if (!entry.empty()) entries.insert(entry);
  return entries;
}

inline std::string join(const std::multiset<std::string>& entries) {
  std::string out;
  for (const auto& e : entries)
    out += e + "--\n";
  return out;
}

// ---- the fixture ---------------------------------------------------------------

struct XmResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
  // What a terminal shows: xm flushes stdout before it prints an error.
  [[nodiscard]] std::string text() const { return out + err; }
};

inline std::ostream& operator<<(std::ostream& os, const XmResult& r) {
  return os << "exit " << r.exit_code << (r.timed_out ? " (timed out)" : "") << "\n--- stdout\n"
            << r.out << "--- stderr\n"
            << r.err << "---";
}

// A daemon started as a child of the test; stopped by pid.
struct Child {
  std::string name;
  pid_t pid = -1;
  int pidfd = -1;

  [[nodiscard]] bool running() const { return pid > 0; }

  [[nodiscard]] bool exited() const {
    if (pid <= 0) return true;
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  // Sends `signal`, waits up to `grace`, then SIGKILL; reaps. Returns the
  // wait status (-1 if there was no child).
  int stop(int signal = SIGTERM, std::chrono::milliseconds grace = 10s) {
    if (pid <= 0) return -1;
    ::kill(pid, signal);
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(grace.count())) != 1) {
      ADD_FAILURE() << name << " did not stop within " << grace.count() << " ms after signal "
                    << signal;
      ::kill(pid, SIGKILL);
      (void)::poll(&p, 1, 5000);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(pidfd);
    pid = -1;
    pidfd = -1;
    return status;
  }
};

class XmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: the socket path must fit in sockaddr_un.
    std::string pattern = (fs::temp_directory_path() / "xme2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    work_ = root_ / "root";
    populate_root();
    ASSERT_NO_FATAL_FAILURE(start_hypervisor());
    ASSERT_NO_FATAL_FAILURE(start_xend());
  }

  void TearDown() override {
    if (xend_.running()) {
      const int status = xend_.stop();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "xend ended with wait status " << status;
    }
    if (hv_.running()) {
      const int status = hv_.stop();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "shype-hv ended with wait status " << status;
    }
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr,
                   "--- root %s\n--- xend.log ---\n%s\n--- xend output ---\n%s\n"
                   "--- shype-hv.log ---\n%s\n--- shype-hv output ---\n%s\n",
                   root_.c_str(), slurp(root_ / "var/log/xen/xend.log").c_str(),
                   slurp(root_ / "xend.out").c_str(),
                   slurp(root_ / "var/log/xen/shype-hv.log").c_str(),
                   slurp(root_ / "hv.out").c_str());
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // ---- the root -------------------------------------------------------------------

  void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }

  // A small regular file standing for a disk image.
  void make_image(const std::string& resource) {
    const std::string path = resource.substr(resource.find(':') + 1);
    write_file(root_ / path.substr(1), std::string(4096, '\0'));
  }

  // domainN.xm as the manual writes it (10.2.4), plus its disks.
  static std::string domain_config(int n) {
    std::string text = "kernel= \"" + std::string(kKernel) + "\"\n";
    text += n == 1 ? "memory = 128\n" : "memory = 64\n";
    text += "name = \"domain" + std::to_string(n) + "\"\n";
    if (n == 1) {
      text += "disk = ['" + std::string(kFc5Image) + ",sda1,w', '" + kFc5Swap + ",sda2,w']\n";
    } else {
      text += "disk = ['" + domain_disk(n) + ",sda1,w']\n";
    }
    return text;
  }

  virtual void populate_root() {
    fs::create_directories(root_ / "boot");
    fs::copy_file(kGuestHello, root_ / fs::path(kKernel).relative_path(),
                  fs::copy_options::overwrite_existing);
    const fs::path policies = root_ / "etc/xen/acm-security/policies";
    fs::create_directories(policies / "example");
    for (const auto& entry : fs::directory_iterator(kSourceDir / "policies")) {
      if (entry.path().extension() == ".xml") {
        fs::copy_file(entry.path(), policies / entry.path().filename());
      }
    }
    fs::copy_file(kSourceDir / "policies/example/test-security_policy.xml",
                  policies / "example/test-security_policy.xml");
    make_image(kFc5Image);
    make_image(kFc5Swap);
    for (int n = 2; n <= 4; ++n)
      make_image(domain_disk(n));
    fs::create_directories(work_);
    for (int n = 1; n <= 4; ++n) {
      write_file(work_ / ("domain" + std::to_string(n) + ".xm"), domain_config(n));
    }
  }

  // ---- the daemons ----------------------------------------------------------------

  Child start_child(const std::string& name, const fs::path& program, const char* log) {
    const std::string out = (root_ / log).string();
    Child child;
    child.name = name;
    child.pid = ::fork();
    if (child.pid < 0) {
      ADD_FAILURE() << "fork failed";
      return child;
    }
    if (child.pid == 0) {
      ::setenv("SHYPE_ROOT", root_.c_str(), 1);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, 0);
      // The test runner may block signals; the daemons set up their own.
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execl(program.c_str(), name.c_str(), "start", "--foreground", nullptr);
      ::_exit(127);
    }
    child.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0));
    if (child.pidfd < 0) ADD_FAILURE() << "pidfd_open failed";
    return child;
  }

  XmResult run_in_root(const fs::path& program, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout) {
    std::vector<std::string> argv = {"/usr/bin/env", "-C", work_.string(),
                                     "SHYPE_ROOT=" + root_.string(), program.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = run_process(argv, timeout);
    return XmResult{r.exit_code, r.timed_out, r.out, r.err};
  }

  void start_hypervisor() {
    hv_ = start_child("shype-hv", kHypervisor, "hv.out");
    ASSERT_TRUE(hv_.running());
    const bool up = eventually(
        [&] { return hv_.exited() || run_in_root(kHypervisor, {"status"}, 5s).exit_code == 0; },
        20s, 100ms);
    ASSERT_TRUE(up) << "shype-hv did not answer within 20 s";
    ASSERT_FALSE(hv_.exited()) << "shype-hv exited: " << slurp(root_ / "hv.out");
  }

  void start_xend() {
    xend_ = start_child("xend", kXend, "xend.out");
    ASSERT_TRUE(xend_.running());
    const bool up =
        eventually([&] { return xend_.exited() || xm({"list"}).exit_code == 0; }, 30s, 100ms);
    ASSERT_TRUE(up) << "`xm list` did not work within 30 s";
    ASSERT_FALSE(xend_.exited()) << "xend exited: " << slurp(root_ / "xend.out");
  }

  void stop_xend() {
    const int status = xend_.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "xend ended with wait status " << status;
  }

  // SIGKILL: no chance to clean up (a crash, a power cut of the daemon).
  void kill_xend() { (void)xend_.stop(SIGKILL, 5s); }

  void restart_xend() {
    stop_xend();
    ASSERT_NO_FATAL_FAILURE(start_xend());
  }

  // Starts xend again after killing it (SIGKILL) or stopping it (SIGTERM).
  void restart_xend(bool killed) {
    if (!killed) {
      restart_xend();
      return;
    }
    kill_xend();
    ASSERT_NO_FATAL_FAILURE(start_xend());
  }

  // Stops xend and the hypervisor, then boots both again (a reboot of the
  // machine, as far as the toolstack can tell).
  void restart_hypervisor() {
    stop_xend();
    const int status = hv_.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "shype-hv ended with wait status " << status;
    ASSERT_NO_FATAL_FAILURE(start_hypervisor());
    ASSERT_NO_FATAL_FAILURE(start_xend());
  }

  // ---- xm -------------------------------------------------------------------------

  XmResult xm(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 90s) {
    return run_in_root(kXm, args, timeout);
  }

  // Expects `xm args` to print exactly `manual` (normalized, stdout then
  // stderr) and exit with `exit_code`.
  void expect_transcript(const std::vector<std::string>& args, std::string_view manual,
                         int exit_code = 0) {
    const XmResult r = xm(args);
    std::string command = "xm";
    for (const auto& a : args)
      command += " " + a;
    EXPECT_EQ(r.exit_code, exit_code) << command << "\n" << r;
    EXPECT_EQ(normalize(r.text()), normalize(manual)) << command << "\n" << r;
  }

  // `xm list --label` compared row by row with the manual's table.
  void expect_list_label(std::string_view manual) {
    const XmResult r = xm({"list", "--label"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(list_rows(r.out), list_rows(manual)) << "xm list --label\n" << r;
  }

  // `xm resources` compared as a set of entries.
  void expect_resources(std::string_view manual) {
    const XmResult r = xm({"resources"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(join(resource_entries(r.out)), join(resource_entries(manual))) << "xm resources\n"
                                                                             << r;
  }

  // True while `xm list` shows `name` with a domain id.
  bool domain_listed(const std::string& name) {
    const XmResult r = xm({"list"});
    for (const auto& line : normalized_lines(r.out)) {
      const auto words = split_words(line);
      if (words.size() >= 2 && words[0] == name && words[1] != "-1") return true;
    }
    return false;
  }

  // The manual's "xm shutdown <name>" + "(wait some seconds until the domain
  // has shut down)", bounded.
  void shutdown_and_wait(const std::string& name) {
    const XmResult r = xm({"shutdown", name});
    EXPECT_EQ(r.exit_code, 0) << "xm shutdown " << name << "\n" << r;
    EXPECT_EQ(r.text(), "") << "xm shutdown prints nothing";
    EXPECT_TRUE(eventually([&] { return !domain_listed(name); }, 30s, 100ms))
        << name << " did not shut down within 30 s";
  }

  // A command the scenario needs to succeed silently (addlabel, rmlabel...).
  void quietly(const std::vector<std::string>& args) {
    const XmResult r = xm(args);
    std::string command = "xm";
    for (const auto& a : args)
      command += " " + a;
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r;
    EXPECT_EQ(r.text(), "") << command << " should print nothing\n" << r;
  }

  fs::path root_;
  fs::path work_;
  Child hv_;
  Child xend_;
};

}  // namespace shype::testing
