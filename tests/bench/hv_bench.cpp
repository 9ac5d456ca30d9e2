// The hypervisor's own costs, each next to its baseline.
//
// Reproduce (default RelWithDebInfo build, -O2, as root):
//   cmake -S . -B build -G Ninja && ninja -C build hv_bench shype-hv guest_hello
//   build/tests/bench/hv_bench --benchmark_min_time=0.5 --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
//
//  HypercallRoundTrip    xen_version from a Domain-0 connection (libxenctrl)
//                        to a real shype-hv process (start --foreground under
//                        a temporary SHYPE_ROOT): encode, send, the event
//                        loop's decode/dispatch/encode, receive, decode.
//  SeqpacketPingPong     the baseline: the same sizes (a 32-byte request, a
//                        72-byte response) bounced over a bare SOCK_SEQPACKET
//                        socketpair between two threads, no work done.
//  CreateToRunning       hypervisor side of createdomain: from the moment the
//                        hypervisor decodes createdomain to the guest's
//                        handshake (its first hypercall, xen_version), with
//                        the XSM check, memfds, channel and sandbox launch of
//                        guest_hello (8 MiB). The hypervisor runs in this
//                        process (dummy XSM) so its own clock is read.
//  SandboxLaunchBaseline the baseline: sandbox::launch of the same static
//                        binary with the same descriptors, then waiting for
//                        its first message - the sandbox and exec alone.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <thread>

#include <benchmark/benchmark.h>

#include "hv/hypervisor.hpp"
#include "hv/mapping.hpp"
#include "hv/shared_info_page.hpp"
#include "hv/wire.hpp"
#include "sandbox/sandbox.hpp"
#include "xenctrl/connection.hpp"
#include "xsm/audit.hpp"
#include "xsm/xsm.hpp"

namespace shype {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

fs::path temp_root(const char* tag) {
  fs::path root = fs::temp_directory_path() /
                  ("shype-hv-bench-" + std::string(tag) + "-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "run/shype");
  fs::create_directories(root / "var/log/xen/console");
  return root;
}

// --- hypercall round trip against a real shype-hv process ----------------------

class HypervisorProcess {
 public:
  HypervisorProcess() : root_(temp_root("rt")) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setenv("SHYPE_ROOT", root_.c_str(), 1);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(SHYPE_HV_PATH, "shype-hv", "start", "--foreground", nullptr);
      ::_exit(127);
    }
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      auto connection = xc::Connection::open(root_, 1s);
      if (connection && connection->version()) return;
      std::this_thread::sleep_for(10ms);
    }
    stop();
    throw std::runtime_error("shype-hv did not answer");
  }
  ~HypervisorProcess() { stop(); }
  HypervisorProcess(const HypervisorProcess&) = delete;
  HypervisorProcess& operator=(const HypervisorProcess&) = delete;

  const fs::path& root() const { return root_; }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 500 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(10ms);
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    fs::remove_all(root_);
  }
  fs::path root_;
  pid_t pid_ = -1;
};

void HypercallRoundTrip(benchmark::State& state) {
  HypervisorProcess hv;
  auto connection = xc::Connection::open(hv.root());
  if (!connection) {
    state.SkipWithError(connection.error().to_string().c_str());
    return;
  }
  for (auto _ : state) {
    auto version = connection->version();
    benchmark::DoNotOptimize(version);
    if (!version) {
      state.SkipWithError(version.error().to_string().c_str());
      break;
    }
  }
}
BENCHMARK(HypercallRoundTrip)->UseRealTime();

void SeqpacketPingPong(benchmark::State& state) {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    state.SkipWithError("socketpair");
    return;
  }
  std::thread echo([fd = ends[1]] {
    std::uint8_t request[64];
    std::uint8_t response[sizeof(abi::MessageHeader) + sizeof(abi::VersionInfo)] = {};
    while (::recv(fd, request, sizeof request, 0) > 0) {
      if (::send(fd, response, sizeof response, MSG_NOSIGNAL) < 0) break;
    }
  });
  std::uint8_t request[sizeof(abi::MessageHeader)] = {};
  std::uint8_t response[256];
  for (auto _ : state) {
    if (::send(ends[0], request, sizeof request, MSG_NOSIGNAL) < 0 ||
        ::recv(ends[0], response, sizeof response, 0) <= 0) {
      state.SkipWithError("ping-pong failed");
      break;
    }
  }
  ::shutdown(ends[0], SHUT_RDWR);
  echo.join();
  ::close(ends[0]);
  ::close(ends[1]);
}
BENCHMARK(SeqpacketPingPong)->UseRealTime();

// --- create to running, hypervisor side ------------------------------------------

class InProcessHypervisor {
 public:
  InProcessHypervisor() : root_(temp_root("create")), audit_(root_ / "var/log/xen/audit.log") {
    xsm::XsmConfig config;
    config.module = "dummy";
    auto xsm = xsm::Xsm::create(config, audit_);
    if (!xsm) throw std::runtime_error(xsm.error().to_string());
    auto listener = hv::listen_privileged(hv::privcmd_socket_path(root_));
    if (!listener) throw std::runtime_error(listener.error().to_string());
    hv::HypervisorConfig hv_config;
    hv_config.root = root_;
    hv_config.handle_signals = false;
    auto hv = hv::Hypervisor::create(hv_config, std::move(*listener), audit_, std::move(*xsm), log_);
    if (!hv) throw std::runtime_error(hv.error().to_string());
    hv_ = std::move(*hv);
    // A raw Domain-0 connection: requests are sent without waiting, and
    // this thread turns the hypervisor's loop until the answer is there.
    const std::string path = hv::privcmd_socket_path(root_).string();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    client_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    // SAFETY: sockaddr_un is the sockaddr an AF_UNIX connect expects.
    if (::connect(client_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("connect failed");
    }
    kernel_.reset(::open(GUEST_HELLO_PATH, O_RDONLY | O_CLOEXEC));
  }
  ~InProcessHypervisor() {
    hv_.reset();
    fs::remove_all(root_);
  }

  // Sends a request and turns the loop until its response arrives.
  hv::wire::Message call(const hv::wire::Body& body, std::span<const int> fds = {}) {
    const auto bytes = hv::wire::encode_request(++seq_, body);
    if (hv::wire::send_datagram(client_.get(), bytes, fds, false) != hv::wire::SendStatus::sent) {
      throw std::runtime_error("send failed");
    }
    std::vector<std::uint8_t> buffer(abi::kMaxMessageSize);
    for (int turns = 0; turns < 100000; ++turns) {
      hv_->run_once(10);
      auto received = hv::wire::receive_datagram(client_.get(), buffer, true);
      if (received.status == hv::wire::RecvStatus::would_block) continue;
      if (received.status != hv::wire::RecvStatus::message) throw std::runtime_error("recv failed");
      auto message = hv::wire::decode_reply({buffer.data(), received.size}, std::move(received.fds));
      if (!message) throw std::runtime_error(message.error());
      return std::move(*message);
    }
    throw std::runtime_error("no answer");
  }

  // createdomain, then turns until the guest's handshake; returns the
  // hypervisor-side duration.
  std::chrono::nanoseconds create_to_running() {
    hv::wire::CreateDomain create;
    create.args.memory_mib = 8;
    create.args.vcpus = 1;
    const std::string name = "bench-" + std::to_string(++created_);
    std::memcpy(create.args.name, name.data(), name.size());
    const int fds[] = {kernel_.get()};
    const auto reply = call(create, fds);
    if (reply.header.status != 0) throw std::runtime_error("createdomain failed");
    const auto out = hv::wire::load_exact<abi::DomctlCreateDomain>(reply.payload);
    const hv::Domain* domain = hv_->domains().find(out->domid);
    for (int turns = 0; turns < 100000 && !domain->connected_at; ++turns) hv_->run_once(10);
    if (!domain->connected_at) throw std::runtime_error("the guest never connected");
    const auto elapsed = *domain->connected_at - domain->created_at;
    hv::wire::DestroyDomain destroy;
    destroy.args.domid = out->domid;
    (void)call(destroy);
    return elapsed;
  }

 private:
  fs::path root_;
  xsm::AuditLog audit_;
  hv::Log log_;
  std::unique_ptr<hv::Hypervisor> hv_;
  hv::UniqueFd client_;
  hv::UniqueFd kernel_;
  std::uint32_t seq_ = 0;
  unsigned created_ = 0;
};

void CreateToRunning(benchmark::State& state) {
  InProcessHypervisor hv;
  for (auto _ : state) {
    const auto elapsed = hv.create_to_running();
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
  }
}
BENCHMARK(CreateToRunning)->UseManualTime()->Unit(benchmark::kMillisecond);

void SandboxLaunchBaseline(benchmark::State& state) {
  constexpr std::uint64_t kMemory = 8ull << 20;
  hv::UniqueFd kernel(::open(GUEST_HELLO_PATH, O_RDONLY | O_CLOEXEC));
  hv::UniqueFd memory(::memfd_create("bench-memory", MFD_CLOEXEC));
  hv::UniqueFd shared(::memfd_create("bench-shared", MFD_CLOEXEC));
  hv::UniqueFd upcall(::eventfd(0, EFD_CLOEXEC));
  if (!kernel || ::ftruncate(memory.get(), kMemory) != 0 ||
      ::ftruncate(shared.get(), abi::kPageSize) != 0) {
    state.SkipWithError("setup failed");
    return;
  }
  auto page = hv::Mapping::map_shared(shared.get(), abi::kPageSize);
  if (!page) {
    state.SkipWithError("mmap failed");
    return;
  }
  hv::init_shared_info(*page, 1, kMemory);
  std::uint8_t buffer[abi::kMaxMessageSize];
  for (auto _ : state) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
      state.SkipWithError("socketpair");
      break;
    }
    hv::UniqueFd ours(ends[0]);
    hv::UniqueFd theirs(ends[1]);
    const auto start = Clock::now();
    sandbox::SandboxSpec spec;
    spec.name = "baseline";
    spec.kernel_fd = kernel.get();
    spec.channel_fd = theirs.get();
    spec.memory_fd = memory.get();
    spec.shared_info_fd = shared.get();
    spec.upcall_fd = upcall.get();
    spec.memory_bytes = kMemory;
    auto process = sandbox::launch(spec);
    if (!process) {
      state.SkipWithError(process.error().to_string().c_str());
      break;
    }
    theirs.reset();
    pollfd p{ours.get(), POLLIN, 0};
    const bool first_message = ::poll(&p, 1, 10'000) == 1 && ::recv(ours.get(), buffer, sizeof buffer, 0) > 0;
    const auto elapsed = Clock::now() - start;
    ::syscall(SYS_pidfd_send_signal, process->pidfd, SIGKILL, nullptr, 0);
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(process->pidfd), &info, WEXITED);
    ::close(process->pidfd);
    if (!first_message) {
      state.SkipWithError("no first message");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(elapsed).count());
  }
}
BENCHMARK(SandboxLaunchBaseline)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shype

BENCHMARK_MAIN();
