// Network speed: two guest_net domains on netback's bridge (xenbr0, label
// control on: both A-Bank under example.vio, which is mytest plus the
// VIOServer label, so every frame passes the cached sharing decision)
// against the host's own virtual wire, a veth pair between two network
// namespaces, measured in the same run; and two guests bridged by a
// driver domain (guest_vio), which asks the hypervisor about every frame.
//
// Reproduce (as root; RelWithDebInfo):
//   cmake -S . -B build -G Ninja -DSHYPE_BUILD_BENCHMARKS=ON && ninja -C build net_bench
//   build/tests/bench/net_bench --seconds=5 --frames=200000
// (defaults --seconds=1 --frames=20000 keep the smoke run short.)
//
//  GuestIcmpRoundTrip   guest_net bench=rtt: echo request -> bridge -> echo
//                       reply -> bridge, back to back for --seconds; time per
//                       round trip.
//  DriverDomainIcmpRoundTrip  the same through a guest_vio driver domain's
//                       bridge (vif backend=vio, xenbr2): one frame_access
//                       hypercall per frame, no cache.
//  GuestFrameStream     guest_net bench=stream: --frames frames of 1514
//                       bytes across the bridge as fast as the tx ring takes
//                       them; frames/s and the share the peer received.
//  VethUdpRoundTrip     the baseline: a 56-byte UDP ping-pong between two
//                       threads in two namespaces joined by a veth pair.
//  VethUdpStream        the baseline: --frames UDP datagrams of 1472 bytes
//                       (1514-byte frames) one way; frames/s received.
//  Ratios               guest / veth for round trip time and frame rate
//                       (counters rtt_ratio, stream_ratio), and the driver
//                       domain's round trip / Domain-0's (driver_domain_rtt_ratio).
// Without the privileges for namespaces or veth (ip netns add, ip link add
// ... type veth) the veth benchmarks are skipped with the reason, and so are
// the ratios.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "xm_bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using shype::bench::Clock;
using shype::rpc::Json;

int g_seconds = 1;
int g_frames = 20000;

// Results kept for Ratios.
std::optional<double> g_guest_rtt_us;
std::optional<double> g_driver_domain_rtt_us;
std::optional<double> g_guest_fps;
std::optional<double> g_veth_rtt_us;
std::optional<double> g_veth_fps;

std::string read_text(const fs::path& path) { return shype::bench::slurp(path); }

void prepare_root(const fs::path& root) {
  fs::create_directories(root / "boot");
  fs::copy_file(GUEST_NET_PATH, root / "boot/guest_net");
  fs::copy_file(GUEST_VIO_PATH, root / "boot/guest_vio");
  const fs::path policies = root / "etc/xen/acm-security/policies/example";
  fs::create_directories(policies);
  fs::copy_file(fs::path(SHYPE_SOURCE_DIR) / "policies/example/vio-security_policy.xml",
                policies / "vio-security_policy.xml");
}

struct System : shype::bench::XendSystem {
  System() : XendSystem("net", prepare_root) {}

  // An A-Bank guest_net domain; its vif on `vif` (Domain-0's xenbr0 unless
  // told otherwise).
  void start(const std::string& name, const std::string& extra,
             const std::string& vif = "bridge=xenbr0") {
    create(name, "guest_net", "A-Bank", extra, "vif = ['" + vif + "']\n");
  }
  void create(const std::string& name, const std::string& kernel, const std::string& label,
              const std::string& extra, const std::string& devices) {
    const std::string text = "kernel = \"/boot/" + kernel + "\"\nmemory = 16\nname = \"" + name +
                             "\"\nextra = \"" + extra + "\"\n" + devices +
                             "access_control = ['policy=example.vio,label=" + label + "']\n";
    call("domain.create", {{"config", text}, {"file", name + ".xm"}});
  }
  std::string console(const std::string& name) {
    return read_text(hv.root() / "var/log/xen/console" / ("guest-" + name + ".log"));
  }
  // Waits for `pattern` on the console; returns its match.
  std::smatch wait_for(const std::string& name, const std::regex& pattern,
                       std::chrono::seconds timeout, std::string& text) {
    const auto deadline = Clock::now() + timeout;
    std::smatch match;
    for (;;) {
      text = console(name);
      if (std::regex_search(text, match, pattern)) return match;
      if (text.find("net: ") != std::string::npos &&
          text.find("failed") != std::string::npos)
        throw std::runtime_error(name + " failed: " + text);
      if (Clock::now() > deadline) throw std::runtime_error(name + ": timed out: " + text);
      std::this_thread::sleep_for(50ms);
    }
  }
  void destroy(const std::string& name) { (void)rpc.call("domain.destroy", {{"domain", name}}); }
};

std::unique_ptr<System> g_system;
std::string g_server;

System& sys() {
  if (!g_system) {
    g_system = std::make_unique<System>();
    g_system->call("policy.set",
                   {{"xml", read_text(g_system->hv.root() /
                                      "etc/xen/acm-security/policies/example/vio-security_policy.xml")},
                    {"file", "example.vio"}});
    g_server = "server";
    g_system->start(g_server, "ip=10.0.0.1");
    std::string text;
    (void)g_system->wait_for(g_server, std::regex("net: serving"), 30s, text);
  }
  return *g_system;
}

// Starts a bench=rtt client of `server_ip` (its vif as given) and reports
// its round trips; returns microseconds per round trip.
double measure_round_trips(benchmark::State& state, const std::string& client_ip,
                           const std::string& server_ip, const std::string& vif) {
  System& s = sys();
  const std::string name = "rtt" + std::to_string(++s.serial);
  s.start(name, "ip=" + client_ip + " ping=" + server_ip + " bench=rtt seconds=" +
                    std::to_string(g_seconds),
          vif);
  std::string text;
  const auto m = s.wait_for(name, std::regex(R"(net: bench rtt (\d+) round trips in (\d+) us)"),
                            std::chrono::seconds(g_seconds + 60), text);
  const double trips = std::stod(m[1].str());
  const double us = std::stod(m[2].str());
  state.SetIterationTime(us / 1e6 / trips);
  state.counters["round_trips"] = trips;
  state.counters["rtt_us"] = us / trips;
  s.destroy(name);
  return us / trips;
}

void GuestIcmpRoundTrip(benchmark::State& state) {
  for (auto _ : state) g_guest_rtt_us = measure_round_trips(state, "10.0.0.2", "10.0.0.1", "bridge=xenbr0");
}
BENCHMARK(GuestIcmpRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1);

// The driver domain and its server are started once, on the first run.
void DriverDomainIcmpRoundTrip(benchmark::State& state) {
  System& s = sys();
  static bool started = false;
  if (!started) {
    s.create("vio", "guest_vio", "VIOServer", "", "");
    std::string text;
    (void)s.wait_for("vio", std::regex("vio: bridging vifs"), 30s, text);
    s.start("ddserver", "ip=10.0.2.1", "bridge=xenbr2,backend=vio");
    (void)s.wait_for("ddserver", std::regex("net: serving"), 30s, text);
    started = true;
  }
  for (auto _ : state) {
    g_driver_domain_rtt_us =
        measure_round_trips(state, "10.0.2.2", "10.0.2.1", "bridge=xenbr2,backend=vio");
  }
}
BENCHMARK(DriverDomainIcmpRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1);

void GuestFrameStream(benchmark::State& state) {
  System& s = sys();
  for (auto _ : state) {
    const std::string name = "stream" + std::to_string(++s.serial);
    s.start(name, "ip=10.0.0.3 ping=10.0.0.1 bench=stream size=1514 count=" +
                      std::to_string(g_frames));
    std::string text;
    const auto m = s.wait_for(
        name,
        std::regex(R"(net: bench stream sent (\d+) frames of (\d+) bytes in (\d+) us, peer received (\d+))"),
        120s, text);
    const double sent = std::stod(m[1].str());
    const double us = std::stod(m[3].str());
    const double received = std::stod(m[4].str());
    state.SetIterationTime(us / 1e6);
    state.counters["frames_per_s"] = sent / (us / 1e6);
    state.counters["Mbit_per_s"] = sent * 1514 * 8 / us;
    state.counters["received_share"] = received / sent;
    g_guest_fps = received / (us / 1e6);
    s.destroy(name);
  }
}
BENCHMARK(GuestFrameStream)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

// ---- the veth baseline ----------------------------------------------------------

int sh(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Two namespaces joined by a veth pair (10.9.0.1 <-> 10.9.0.2), removed
// on destruction.
class VethPair {
 public:
  VethPair() : a_("shype-net-a-" + std::to_string(::getpid())),
               b_("shype-net-b-" + std::to_string(::getpid())) {
    ok_ = sh("ip netns add " + a_) == 0 && sh("ip netns add " + b_) == 0 &&
          sh("ip link add vsa netns " + a_ + " type veth peer name vsb netns " + b_) == 0 &&
          sh("ip -n " + a_ + " addr add 10.9.0.1/24 dev vsa") == 0 &&
          sh("ip -n " + b_ + " addr add 10.9.0.2/24 dev vsb") == 0 &&
          sh("ip -n " + a_ + " link set vsa up") == 0 && sh("ip -n " + b_ + " link set vsb up") == 0;
  }
  ~VethPair() {
    (void)sh("ip netns del " + a_);
    (void)sh("ip netns del " + b_);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  // Moves the calling thread into namespace a or b.
  [[nodiscard]] bool enter(bool a) const {
    const std::string path = "/var/run/netns/" + (a ? a_ : b_);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    return entered;
  }

 private:
  std::string a_, b_;
  bool ok_ = false;
};

int udp_socket(const char* ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  // SAFETY: sockaddr_in is a sockaddr of its size.
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  const int big = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  timeval tv{2, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

sockaddr_in peer(const char* ip, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  return addr;
}

// Echoes (kind 'p') or counts (kind 's'; 'q' asks for the count) until 'x'.
void veth_server(const VethPair& net, std::atomic<int>* ready) {
  if (!net.enter(true)) {
    ready->store(-1);
    return;
  }
  const int fd = udp_socket("10.9.0.1", 7777);
  ready->store(fd < 0 ? -1 : 1);
  if (fd < 0) return;
  std::vector<char> buffer(2048);
  std::uint64_t counted = 0;
  for (;;) {
    sockaddr_in from{};
    socklen_t length = sizeof from;
    // SAFETY: from is a sockaddr_in of `length` bytes.
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
    if (n <= 0) continue;
    if (buffer[0] == 'x') break;
    if (buffer[0] == 's') {
      ++counted;
    } else if (buffer[0] == 'q') {
      const std::string answer = std::to_string(counted);
      counted = 0;
      // SAFETY: as above.
      (void)::sendto(fd, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     length);
    } else {
      // SAFETY: as above.
      (void)::sendto(fd, buffer.data(), static_cast<std::size_t>(n), 0,
                     reinterpret_cast<sockaddr*>(&from), length);
    }
  }
  ::close(fd);
}

struct VethRun {
  bool ok = false;
  std::string why;
  double rtt_us = 0;
  double trips = 0;
  double fps = 0;
  double received_share = 0;
};

VethRun run_veth(bool stream) {
  VethRun out;
  VethPair net;
  if (!net.ok()) {
    out.why = "cannot create two network namespaces joined by veth (ip netns add / ip link add "
              "type veth need root and CONFIG_VETH)";
    return out;
  }
  std::atomic<int> ready{0};
  std::thread server(veth_server, std::cref(net), &ready);
  while (ready.load() == 0) std::this_thread::sleep_for(1ms);
  std::thread client([&] {
    if (ready.load() < 0 || !net.enter(false)) {
      out.why = "cannot enter the namespaces";
      return;
    }
    const int fd = udp_socket("10.9.0.2", 7778);
    if (fd < 0) {
      out.why = "cannot bind a UDP socket in the namespace";
      return;
    }
    sockaddr_in to = peer("10.9.0.1", 7777);
    auto send = [&](const std::vector<char>& bytes) {
      // SAFETY: to is a sockaddr_in.
      return ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                      sizeof to);
    };
    std::vector<char> buffer(2048);
    if (!stream) {
      std::vector<char> ping(56, 'p');
      const auto start = Clock::now();
      const auto end = start + std::chrono::seconds(g_seconds);
      while (Clock::now() < end) {
        if (send(ping) < 0 || ::recv(fd, buffer.data(), buffer.size(), 0) <= 0) {
          out.why = "a UDP round trip over veth failed";
          break;
        }
        ++out.trips;
      }
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      out.rtt_us = us / std::max(1.0, out.trips);
      out.ok = out.why.empty();
    } else {
      std::vector<char> frame(1472, 's');
      const auto start = Clock::now();
      for (int i = 0; i < g_frames; ++i) {
        while (send(frame) < 0) std::this_thread::yield();  // ENOBUFS: the queue is full
      }
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      std::this_thread::sleep_for(50ms);
      (void)send(std::vector<char>(1, 'q'));
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      const double received = n > 0 ? std::stod(std::string(buffer.data(), static_cast<std::size_t>(n))) : 0;
      out.fps = received / (us / 1e6);
      out.received_share = received / g_frames;
      out.ok = true;
    }
    (void)send(std::vector<char>(1, 'x'));
    ::close(fd);
  });
  client.join();
  if (!out.ok) {
    // Make sure the server ends even if the client could not tell it.
    std::thread stopper([&] {
      if (net.enter(false)) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in to = peer("10.9.0.1", 7777);
        // SAFETY: to is a sockaddr_in.
        (void)::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        ::close(fd);
      }
    });
    stopper.join();
  }
  server.join();
  return out;
}

void VethUdpRoundTrip(benchmark::State& state) {
  for (auto _ : state) {
    const VethRun run = run_veth(false);
    if (!run.ok) {
      state.SkipWithError(run.why.c_str());
      return;
    }
    state.SetIterationTime(run.rtt_us / 1e6);
    state.counters["round_trips"] = run.trips;
    state.counters["rtt_us"] = run.rtt_us;
    g_veth_rtt_us = run.rtt_us;
  }
}
BENCHMARK(VethUdpRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1);

void VethUdpStream(benchmark::State& state) {
  for (auto _ : state) {
    const VethRun run = run_veth(true);
    if (!run.ok) {
      state.SkipWithError(run.why.c_str());
      return;
    }
    state.SetIterationTime(g_frames / std::max(1.0, run.fps));
    state.counters["frames_per_s"] = run.fps;
    state.counters["received_share"] = run.received_share;
    g_veth_fps = run.fps;
  }
}
BENCHMARK(VethUdpStream)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

void Ratios(benchmark::State& state) {
  for (auto _ : state) {
    if (!g_guest_rtt_us || !g_veth_rtt_us || !g_guest_fps || !g_veth_fps) {
      state.SkipWithError("a guest or veth measurement is missing (see above)");
      return;
    }
    state.SetIterationTime(1e-6);
    state.counters["rtt_ratio"] = *g_guest_rtt_us / *g_veth_rtt_us;        // > 1: guests slower
    state.counters["stream_ratio"] = *g_guest_fps / *g_veth_fps;          // < 1: guests slower
    if (g_driver_domain_rtt_us) {
      state.counters["driver_domain_rtt_ratio"] = *g_driver_domain_rtt_us / *g_guest_rtt_us;
    }
  }
}
BENCHMARK(Ratios)->UseManualTime()->Iterations(1);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0) {
      g_seconds = std::max(1, std::stoi(arg.substr(10)));
    } else if (arg.rfind("--frames=", 0) == 0) {
      g_frames = std::max(100, std::stoi(arg.substr(9)));
    } else {
      args.push_back(argv[i]);
    }
  }
  return shype::bench::run_benchmarks("net_bench", std::move(args), [] { g_system.reset(); });
}
