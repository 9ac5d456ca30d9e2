// Launching a sample kernel in the sandbox against the fake hypervisor,
// and reading what the host sees of it. Every domain is killed and reaped
// (bounded) when its Domain goes away, also when a test fails early.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/types.h>

#include "acm/error.hpp"
#include "fake_hypervisor.hpp"
#include "sandbox/sandbox.hpp"

namespace shype::sandbox::testing {

using namespace std::chrono_literals;

struct DomainOptions {
  std::uint32_t domid = 7;
  std::uint64_t memory_bytes = 16 * 1024 * 1024;
  bool start_stopped = false;
  std::optional<std::string> cgroup_parent;
};

class Domain {
 public:
  Domain(std::unique_ptr<FakeHypervisor> hv, SandboxedProcess process)
      : hv_(std::move(hv)), process_(std::move(process)) {}
  ~Domain();
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  [[nodiscard]] FakeHypervisor& hv() { return *hv_; }
  [[nodiscard]] const SandboxedProcess& process() const { return process_; }
  [[nodiscard]] pid_t pid() const { return process_.pid; }
  [[nodiscard]] std::string proc(const std::string& entry) const {
    return "/proc/" + std::to_string(process_.pid) + "/" + entry;
  }

  // Waits for the process to exit and reaps it; nullopt on timeout.
  std::optional<siginfo_t> wait_exit(std::chrono::milliseconds timeout);
  // Whether the process is still running (not exited).
  [[nodiscard]] bool alive() const;
  void signal(int sig) const;

 private:
  std::unique_ptr<FakeHypervisor> hv_;
  SandboxedProcess process_;
  bool reaped_ = false;
};

// Opens the kernel, creates the fake hypervisor and launches.
acm::Result<std::unique_ptr<Domain>> start_domain(const std::string& kernel_path,
                                                  const std::string& name,
                                                  const std::string& cmdline,
                                                  const DomainOptions& options = {});

// A few /proc helpers.
std::string read_text(const std::string& path);
std::vector<std::string> list_dir(const std::string& path);
std::string status_field(pid_t pid, const std::string& field);  // "Seccomp", "NoNewPrivs", ...
char process_state(pid_t pid);                                  // R, S, T, Z ...
std::string signal_name(int sig);
std::string describe(const siginfo_t& info);

}  // namespace shype::sandbox::testing
