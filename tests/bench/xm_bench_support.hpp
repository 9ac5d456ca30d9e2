// What the toolstack benchmarks share on top of hv_support.hpp: xend
// --foreground under the hypervisor's root (stopped by pid), a program run
// to completion the way a shell runs xm, and the pair of a hypervisor and
// xend with a JSON-RPC client to it. The including target defines XEND_PATH.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>

#include "hv_support.hpp"
#include "rpc/json_rpc.hpp"

#ifndef XEND_PATH
#error "xm_bench_support.hpp needs XEND_PATH (the xend program)"
#endif

namespace shype::bench {

// Runs a program to completion (bounded) and returns its exit status. It is
// spawned (posix_spawn: vfork and exec) the way a shell starts a command,
// with SHYPE_ROOT set and `cwd` as its working directory.
inline int run(const std::vector<std::string>& argv, const fs::path& root, const fs::path& cwd) {
  std::vector<std::string> command = argv;
  std::vector<char*> args;
  for (auto& a : command) args.push_back(a.data());
  args.push_back(nullptr);
  std::string root_variable = "SHYPE_ROOT=" + root.string();
  std::vector<char*> env = {root_variable.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return 127;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  pollfd p{pidfd, POLLIN, 0};
  if (::poll(&p, 1, 60'000) != 1) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pidfd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// xend --foreground under the hypervisor's root, stopped by pid. The
// constructor returns once xend answers xend.info (bounded: 30 s) and throws
// otherwise, having stopped it.
class XendProcess {
 public:
  explicit XendProcess(const fs::path& root) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("SHYPE_ROOT", root.c_str(), 1);
      const int fd = ::open((root / "xend.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execl(XEND_PATH, "xend", "start", "--foreground", nullptr);
      ::_exit(127);
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      auto client = rpc::Client::connect(root / "run/xend/xend.sock", 2s);
      if (client && client->call("xend.info")) return;
      std::this_thread::sleep_for(20ms);
    }
    stop();
    throw std::runtime_error("xend did not answer: " + slurp(root / "xend.out"));
  }
  ~XendProcess() { stop(); }
  XendProcess(const XendProcess&) = delete;
  XendProcess& operator=(const XendProcess&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, 15'000) != 1) ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(pidfd_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
};

// shype-hv and xend under one fresh root (`prepare` fills it before the
// hypervisor starts) and a JSON-RPC client to xend; both stopped by pid when
// it goes out of scope.
struct XendSystem {
  XendSystem(const std::string& tag, const std::function<void(const fs::path&)>& prepare,
             const std::string& boot_conf = "")
      : hv(tag, boot_conf, prepare), xend(hv.root()), rpc(connect()) {}

  HypervisorProcess hv;
  XendProcess xend;
  shype::rpc::Client rpc;
  int serial = 0;

  // The result of `method`; throws with the method's name and the error.
  shype::rpc::Json call(const std::string& method, shype::rpc::Json params = shype::rpc::Json::object()) {
    auto result = rpc.call(method, std::move(params));
    if (!result) throw std::runtime_error(method + ": " + result.error().message);
    return *result;
  }

 private:
  shype::rpc::Client connect() {
    auto client = shype::rpc::Client::connect(hv.root() / "run/xend/xend.sock", 120s);
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(*client);
  }
};

// Runs the benchmarks `args` (argv without the program's own flags) select,
// then `teardown` (stopping xend and shype-hv); 1 if a benchmark threw,
// reported as "<program>: <what>".
template <typename Teardown>
int run_benchmarks(const char* program, std::vector<char*> args, Teardown teardown) {
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  int status = 0;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    status = 1;
  }
  benchmark::Shutdown();
  teardown();
  return status;
}

}  // namespace shype::bench
