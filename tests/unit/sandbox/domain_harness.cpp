#include "domain_harness.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace shype::sandbox::testing {

Domain::~Domain() {
  if (!reaped_) {
    signal(SIGKILL);
    (void)wait_exit(5s);
  }
  if (process_.pidfd >= 0) ::close(process_.pidfd);
  release_cgroup(process_.cgroup);
}

std::optional<siginfo_t> Domain::wait_exit(std::chrono::milliseconds timeout) {
  if (reaped_) return std::nullopt;
  pollfd pfd{process_.pidfd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(process_.pidfd), &info, WEXITED) !=
      0) {
    return std::nullopt;
  }
  reaped_ = true;
  return info;
}

bool Domain::alive() const {
  if (reaped_) return false;
  pollfd pfd{process_.pidfd, POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 0;
}

void Domain::signal(int sig) const {
  (void)::syscall(SYS_pidfd_send_signal, process_.pidfd, sig, nullptr, 0);
}

acm::Result<std::unique_ptr<Domain>> start_domain(const std::string& kernel_path,
                                                  const std::string& name,
                                                  const std::string& cmdline,
                                                  const DomainOptions& options) {
  auto hv = std::make_unique<FakeHypervisor>(options.domid, options.memory_bytes);
  const int kernel = ::open(kernel_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (kernel < 0) {
    return acm::make_error(acm::Errc::io_error, "cannot open " + kernel_path);
  }
  SandboxSpec spec;
  spec.name = name;
  spec.cmdline = cmdline;
  spec.kernel_fd = kernel;
  hv->fill(spec);
  spec.start_stopped = options.start_stopped;
  spec.cgroup_parent = options.cgroup_parent;
  auto process = launch(spec);
  ::close(kernel);
  if (!process) return tl::unexpected(process.error());
  hv->serve(process->pidfd);
  return std::make_unique<Domain>(std::move(hv), std::move(*process));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    names.push_back(entry.path().filename().string());
  }
  if (error) return {"<" + path + ": " + error.message() + ">"};
  return names;
}

std::string status_field(pid_t pid, const std::string& field) {
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string value = line.substr(field.size() + 1);
      const auto first = value.find_first_not_of(" \t");
      return first == std::string::npos ? "" : value.substr(first);
    }
  }
  return "<missing>";
}

char process_state(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
}

std::string describe(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return "exited " + std::to_string(info.si_status);
  return "killed by " + signal_name(info.si_status);
}

}  // namespace shype::sandbox::testing
