// launch(): a sample kernel runs, and from outside it is as isolated as
// sandbox.hpp promises.
#include <algorithm>
#include <sstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_harness.hpp"
#include "sandbox/limits.hpp"
#include "shype/console.hpp"
#include "shype/sched.hpp"

namespace shype::sandbox::testing {
namespace {

std::string unique_name(const std::string& base) {
  return base + "-" + std::to_string(::getpid());
}

TEST(Launch, HelloGreetsAndPowersOff) {
  auto domain = start_domain(SHYPE_GUEST_HELLO, unique_name("hello"), "exit");
  ASSERT_TRUE(domain) << domain.error().message;
  const auto status = (*domain)->wait_exit(5s);
  ASSERT_TRUE(status) << "hello did not exit; console: " << (*domain)->hv().console();
  EXPECT_EQ(describe(*status), "exited 0");
  const std::string console = (*domain)->hv().console();
  EXPECT_NE(console.find("Hello from shype domain 7 (" + unique_name("hello") + ")\n"),
            std::string::npos)
      << console;
  EXPECT_NE(console.find("cmdline: exit\n"), std::string::npos) << console;
  EXPECT_EQ((*domain)->hv().shutdown_reason(), 0u);
}

std::string link(const std::string& path) {
  char target[4096];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
  return n < 0 ? "<readlink failed>" : std::string(target, static_cast<std::size_t>(n));
}

// The hostname inside the domain's uts namespace, read by a child that
// joins it.
std::string hostname_in(const Domain& domain) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return "<pipe failed>";
  const int ns = ::open(domain.proc("ns/uts").c_str(), O_RDONLY | O_CLOEXEC);
  const pid_t child = ::fork();
  if (child == 0) {
    utsname names{};
    if (ns < 0 || ::setns(ns, CLONE_NEWUTS) != 0 || ::uname(&names) != 0) ::_exit(1);
    const auto length = ::strnlen(names.nodename, sizeof names.nodename);
    ::_exit(::write(pipe_fds[1], names.nodename, length) == static_cast<ssize_t>(length) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  if (ns >= 0) ::close(ns);
  char buffer[128] = {};
  const ssize_t n = child > 0 ? ::read(pipe_fds[0], buffer, sizeof buffer) : -1;
  ::close(pipe_fds[0]);
  if (child > 0) ::waitpid(child, nullptr, 0);
  return n <= 0 ? "<unreadable>" : std::string(buffer, static_cast<std::size_t>(n));
}

// "Max open files  2048  2048  files" -> {"2048", "2048"}.
std::pair<std::string, std::string> limit(const Domain& domain, const std::string& name) {
  std::istringstream limits(read_text(domain.proc("limits")));
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind(name, 0) != 0) continue;
    std::istringstream values(line.substr(26));  // the name column is 26 wide
    std::string soft;
    std::string hard;
    values >> soft >> hard;
    return {soft, hard};
  }
  return {"<missing>", "<missing>"};
}

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = start_domain(SHYPE_GUEST_HELLO, name_, "stay");
    ASSERT_TRUE(started) << started.error().message;
    domain_ = std::move(*started);
    // Inspect the running kernel, not the launcher's child before exec.
    ASSERT_TRUE(domain_->hv().wait_for_console("cmdline: stay\n", 5s)) << domain_->hv().console();
  }
  const std::string name_ = unique_name("iso");
  std::unique_ptr<Domain> domain_;
};

TEST_F(Isolation, HasNamespacesOfItsOwn) {
  for (const char* ns : {"user", "pid", "net", "mnt", "ipc", "uts", "cgroup"}) {
    const std::string own = link(std::string("/proc/self/ns/") + ns);
    const std::string theirs = link(domain_->proc(std::string("ns/") + ns));
    EXPECT_NE(theirs, own) << ns;
    EXPECT_EQ(theirs.rfind(std::string(ns) + ":[", 0), 0u) << theirs;
  }
  // pid 1 of its pid namespace.
  EXPECT_EQ(status_field(domain_->pid(), "NSpid"), std::to_string(domain_->pid()) + "\t1");
}

TEST_F(Isolation, RunsUnderSeccompWithoutPrivileges) {
  EXPECT_EQ(status_field(domain_->pid(), "Seccomp"), "2");
  EXPECT_EQ(status_field(domain_->pid(), "Seccomp_filters"), "1");
  EXPECT_EQ(status_field(domain_->pid(), "NoNewPrivs"), "1");
  for (const char* caps : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_field(domain_->pid(), caps), "0000000000000000") << caps;
  }
  EXPECT_EQ(list_dir(domain_->proc("task")).size(), 1u);
}

TEST_F(Isolation, IsNobodyOnTheHost) {
  if (::geteuid() != 0) GTEST_SKIP() << "the 65534 mapping applies when the launcher is root";
  std::istringstream uid_map(read_text(domain_->proc("uid_map")));
  unsigned inside = 1, outside = 0, count = 0;
  uid_map >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, 65534u);
  EXPECT_EQ(count, 1u);
  std::istringstream gid_map(read_text(domain_->proc("gid_map")));
  gid_map >> inside >> outside >> count;
  EXPECT_EQ(outside, 65534u);
  // Really uid 65534 on the host (not host root seen through the map):
  // that is also what makes RLIMIT_NPROC = 0 bind, which host root ignores.
  EXPECT_EQ(status_field(domain_->pid(), "Uid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(status_field(domain_->pid(), "Gid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(status_field(domain_->pid(), "Groups"), "");
  // Not dumpable (it may execute but not read its image): the files in
  // /proc/<pid> belong to the initial namespace's root, not to the
  // process's uid (world-readable directories always show the uid).
  struct stat st {};
  ASSERT_EQ(::lstat(domain_->proc("environ").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  ASSERT_EQ(::lstat(domain_->proc("exe").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(Isolation, HoldsExactlyTheAbiDescriptors) {
  std::vector<std::string> fds = list_dir(domain_->proc("fd"));
  std::sort(fds.begin(), fds.end());
  EXPECT_EQ(fds, (std::vector<std::string>{"3", "4", "5", "6"}));
  EXPECT_EQ(link(domain_->proc("fd/3")).rfind("socket:[", 0), 0u);
  EXPECT_EQ(link(domain_->proc("fd/4")), "/memfd:guest-memory (deleted)");
  EXPECT_EQ(link(domain_->proc("fd/5")), "/memfd:shared-info (deleted)");
  EXPECT_EQ(link(domain_->proc("fd/6")), "anon_inode:[eventfd]");
}

TEST_F(Isolation, SeesAnEmptyReadOnlyRoot) {
  EXPECT_TRUE(list_dir(domain_->proc("root")).empty());
  EXPECT_EQ(link(domain_->proc("cwd")), "/");
  std::istringstream mountinfo(read_text(domain_->proc("mountinfo")));
  std::vector<std::string> mounts;
  for (std::string line; std::getline(mountinfo, line);)
    mounts.push_back(line);
  ASSERT_EQ(mounts.size(), 1u) << read_text(domain_->proc("mountinfo"));
  std::istringstream fields(mounts[0]);
  std::string id, parent, device, root, point, options;
  fields >> id >> parent >> device >> root >> point >> options;
  EXPECT_EQ(point, "/");
  EXPECT_EQ(options.rfind("ro,", 0), 0u) << options;
  EXPECT_NE(mounts[0].find(" - tmpfs "), std::string::npos) << mounts[0];
  EXPECT_EQ(link(domain_->proc("exe")), "/memfd:shype-kernel (deleted)");
}

TEST_F(Isolation, HasTheDomainNameAsHostnameAndNoEnvironment) {
  EXPECT_EQ(hostname_in(*domain_), name_);
  EXPECT_EQ(read_text(domain_->proc("environ")), "");
  EXPECT_EQ(read_text(domain_->proc("cmdline")), name_ + std::string("\0stay\0", 6));
}

TEST_F(Isolation, HasResourceLimitsFromItsMemorySize) {
  const std::string as = std::to_string(address_space_limit(16 * kMiB));
  EXPECT_EQ(limit(*domain_, "Max address space"), std::make_pair(as, as));
  EXPECT_EQ(limit(*domain_, "Max open files"),
            std::make_pair(std::string("2048"), std::string("2048")));
  EXPECT_EQ(limit(*domain_, "Max processes"), std::make_pair(std::string("0"), std::string("0")));
  EXPECT_EQ(limit(*domain_, "Max core file size"),
            std::make_pair(std::string("0"), std::string("0")));
  EXPECT_EQ(limit(*domain_, "Max file size"), std::make_pair(std::string("0"), std::string("0")));
  EXPECT_EQ(limit(*domain_, "Max locked memory"),
            std::make_pair(std::string("0"), std::string("0")));
  const std::string stack = std::to_string(kGuestStackBytes);
  EXPECT_EQ(limit(*domain_, "Max stack size"), std::make_pair(stack, stack));
}

}  // namespace
}  // namespace shype::sandbox::testing
