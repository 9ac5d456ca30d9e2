// Inter-domain sharing: notification latency between two guests, and what
// the ACM module adds to setting a share up, each next to its baseline.
//
// Reproduce (RelWithDebInfo, as root):
//   ninja -C out/release hv_sharing_bench shype-hv guest_pair
//   out/release/tests/bench/hv_sharing_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
// With --benchmark_min_time=0.001 (the smoke run) the ping-pong lasts 1 s.
//
//  NotifyRoundTrip          two guest_pair domains (mode=pingpong) on a real
//                           shype-hv: the client notifies the server's port,
//                           the server notifies back, for `seconds` (2; 1 in
//                           the smoke run); the client reports "pair:
//                           pingpong <n> round trips in <ms> ms" on its
//                           console. Time = ms / n per round trip. A notify
//                           is a doorbell write (eventfd) from guest to guest;
//                           the hypervisor only set the channel up.
//  EventfdPingPongBaseline  the baseline: two forked plain processes bounce
//                           a notification over two eventfds (write, then
//                           poll + read) for the same duration.
//  EventfdPingPongGuestSyscalls  the same, waiting as a guest does (ppoll
//                           over three descriptors with a timeout): the
//                           remaining difference to NotifyRoundTrip is the
//                           sandbox and the guest runtime.
//
//  GrantMapUnmap            Domain-0 (libxenctrl) maps a guest's grant and
//                           unmaps it: two round trips through the hypervisor,
//                           with the grant_map XSM hook on the map. The
//                           granting guest (guest_pair role=server peer=0,
//                           label A-Bank) is paused after its offer so that it
//                           plays no part. Two hypervisors run side by side,
//                           both booted with the mytest policy and Domain-0
//                           labeled SystemManagement, differing only in
//                           `xsm = acm` / `xsm = dummy` in boot.conf; each
//                           iteration does the operation once on each
//                           (alternating which goes first). Time: the ACM
//                           one; counters acm_us, dummy_us, acm_over_dummy.
//  EvtchnBindClose          the same for Domain-0 binding the guest's unbound
//                           port and closing its end again (the guest's port
//                           reverts to unbound): two round trips, with the
//                           evtchn_interdomain hook on the bind.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/file_io.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv/unique_fd.hpp"
#include "hv_support.hpp"

namespace shype::bench {
namespace {

// --- helpers ---------------------------------------------------------------------

std::string whole_console(xc::Connection& xc, abi::domid_t domid) {
  std::string text;
  std::uint64_t offset = 0;
  for (int i = 0; i < 256; ++i) {
    auto chunk = xc.console_read(domid, offset);
    if (!chunk || chunk->bytes.empty()) break;
    text += chunk->bytes;
    offset = chunk->next_offset;
  }
  return text;
}

// Polls the console until `pattern` matches (bounded); the match or nullopt.
std::optional<std::smatch> await_console(xc::Connection& xc, abi::domid_t domid,
                                         const std::regex& pattern, std::string& text,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    text = whole_console(xc, domid);
    std::smatch match;
    if (std::regex_search(text, match, pattern)) return match;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

xc::Result<abi::domid_t> create_pair_domain(xc::Connection& xc, const std::string& name,
                                            const std::string& cmdline, std::uint32_t ssidref) {
  xc::DomainSpec spec;
  spec.name = name;
  spec.kernel = fs::path(GUEST_PAIR_PATH);
  spec.memory_mib = 8;
  spec.cmdline = cmdline;
  spec.ssidref = ssidref;
  return xc.create_domain(spec);
}

struct Offer {
  unsigned port = 0;
  unsigned ref = 0;
};

std::optional<Offer> read_offer(xc::Connection& xc, abi::domid_t server, std::string& text) {
  static const std::regex kOffer(R"(pair: offer port=(\d+) ref=(\d+))");
  const auto match = await_console(xc, server, kOffer, text, 20s);
  if (!match) return std::nullopt;
  return Offer{static_cast<unsigned>(std::stoul((*match)[1].str())),
               static_cast<unsigned>(std::stoul((*match)[2].str()))};
}

// 2 s, or 1 s when a --benchmark_min_time below 0.1 s asks for a quick run
// (set by main).
unsigned g_pingpong_seconds = 2;

unsigned pingpong_seconds() {
  return g_pingpong_seconds;
}

// --- notification round trip -------------------------------------------------------

void NotifyRoundTrip(benchmark::State& state) {
  const unsigned seconds = pingpong_seconds();
  for (auto _ : state) {
    HypervisorProcess hv("notify");
    auto opened = xc::Connection::open(hv.root(), 30s);
    if (!opened) {
      state.SkipWithError(opened.error().to_string().c_str());
      return;
    }
    xc::Connection& xc = *opened;
    auto server = create_pair_domain(xc, "pp-server", "role=server mode=pingpong wait=60", 0);
    if (!server) {
      state.SkipWithError(server.error().to_string().c_str());
      return;
    }
    auto client =
        create_pair_domain(xc, "pp-client",
                           "role=client mode=pingpong wait=60 seconds=" + std::to_string(seconds) +
                               " peer=" + std::to_string(*server),
                           0);
    if (!client) {
      state.SkipWithError(client.error().to_string().c_str());
      return;
    }
    std::string text;
    if (!xc.console_write(*server, "peer=" + std::to_string(*client) + "\n")) {
      state.SkipWithError("console_write to the server failed");
      return;
    }
    const auto offer = read_offer(xc, *server, text);
    if (!offer) {
      state.SkipWithError(("no offer from the server: " + text).c_str());
      return;
    }
    if (!xc.console_write(*client, "port=" + std::to_string(offer->port) +
                                       " ref=" + std::to_string(offer->ref) + "\n")) {
      state.SkipWithError("console_write to the client failed");
      return;
    }
    static const std::regex kDone(R"(pair: pingpong (\d+) round trips in (\d+) ms)");
    // Stay off the CPUs while the guests run.
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const auto done = await_console(xc, *client, kDone, text, std::chrono::seconds(seconds + 30));
    if (!done) {
      state.SkipWithError(("no ping-pong result: " + text).c_str());
      return;
    }
    const double trips = std::stod((*done)[1].str());
    const double ms = std::stod((*done)[2].str());
    if (trips <= 0) {
      state.SkipWithError("no round trips");
      return;
    }
    state.SetIterationTime(ms / 1000.0 / trips);
    state.counters["round_trips"] = trips;
  }
}
BENCHMARK(NotifyRoundTrip)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

// How the baseline processes wait. plain: poll on the eventfd, then read.
// guest_like: the system calls of a guest_pair wake-up besides the
// doorbell - a ppoll over three descriptors (upcall, channel, doorbell)
// with a timeout - so that what is left between it and NotifyRoundTrip is
// the sandbox (seccomp filter on every system call) and the guest runtime.
struct WaitStyle {
  bool guest_like = false;
  int idle_a = -1;  // the two extra descriptors of guest_like
  int idle_b = -1;
};

// Waits for `own` to be rung (poll, then read clears it); false on timeout.
bool await_eventfd(int own, const WaitStyle& style) {
  if (!style.guest_like) {
    pollfd p{own, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
  } else {
    pollfd p[3] = {{style.idle_a, POLLIN, 0}, {style.idle_b, POLLIN, 0}, {own, POLLIN, 0}};
    const timespec timeout{10, 0};
    if (::ppoll(p, 3, &timeout, nullptr) != 1 || (p[2].revents & POLLIN) == 0) return false;
  }
  std::uint64_t value = 0;
  return ::read(own, &value, sizeof value) == sizeof value;
}

bool ring_eventfd(int peer) {
  const std::uint64_t one = 1;
  return ::write(peer, &one, sizeof one) == sizeof one;
}

void EventfdPingPong(benchmark::State& state, bool guest_like) {
  const unsigned seconds = pingpong_seconds();
  for (auto _ : state) {
    hv::UniqueFd to_server(::eventfd(0, EFD_CLOEXEC));
    hv::UniqueFd to_client(::eventfd(0, EFD_CLOEXEC));
    hv::UniqueFd idle_a(::eventfd(0, EFD_CLOEXEC));
    hv::UniqueFd idle_b(::eventfd(0, EFD_CLOEXEC));
    const WaitStyle style{guest_like, idle_a.get(), idle_b.get()};
    int report[2];
    if (!to_server || !to_client || !idle_a || !idle_b || ::pipe2(report, O_CLOEXEC) != 0) {
      state.SkipWithError("eventfd/pipe failed");
      return;
    }
    hv::UniqueFd report_read(report[0]);
    hv::UniqueFd report_write(report[1]);
    const pid_t server = ::fork();
    if (server == 0) {
      // Answers every ping until the client is gone (10 s without one).
      while (await_eventfd(to_server.get(), style)) {
        if (!ring_eventfd(to_client.get())) break;
      }
      ::_exit(0);
    }
    const pid_t client = ::fork();
    if (client == 0) {
      const auto start = Clock::now();
      const auto end = start + std::chrono::seconds(seconds);
      std::uint64_t trips = 0;
      while (Clock::now() < end) {
        if (!ring_eventfd(to_server.get()) || !await_eventfd(to_client.get(), style)) ::_exit(1);
        ++trips;
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      char line[64];
      const int length = std::snprintf(line, sizeof line, "%llu %.9f\n",
                                       static_cast<unsigned long long>(trips), elapsed);
      (void)!::write(report_write.get(), line, static_cast<std::size_t>(length));
      ::_exit(0);
    }
    report_write.reset();
    char buffer[64] = {};
    pollfd p{report_read.get(), POLLIN, 0};
    const bool reported = ::poll(&p, 1, static_cast<int>(seconds + 20) * 1000) == 1 &&
                          ::read(report_read.get(), buffer, sizeof buffer - 1) > 0;
    // Both are stopped by pid whatever happened.
    for (const pid_t pid : {client, server}) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    unsigned long long trips = 0;
    double elapsed = 0;
    if (!reported || std::sscanf(buffer, "%llu %lf", &trips, &elapsed) != 2 || trips == 0) {
      state.SkipWithError("the baseline client reported nothing");
      return;
    }
    state.SetIterationTime(elapsed / static_cast<double>(trips));
    state.counters["round_trips"] = static_cast<double>(trips);
  }
}
void EventfdPingPongBaseline(benchmark::State& state) {
  EventfdPingPong(state, false);
}
BENCHMARK(EventfdPingPongBaseline)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

void EventfdPingPongGuestSyscalls(benchmark::State& state) {
  EventfdPingPong(state, true);
}
BENCHMARK(EventfdPingPongGuestSyscalls)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// --- ACM against dummy on setting a share up ------------------------------------------

struct Mytest {
  std::vector<std::uint8_t> compact;
  std::vector<acm::MapLabel> labels;
};

const Mytest& mytest() {
  static const Mytest compiled = [] {
    Mytest out;
    auto loaded = acm::xml::load_policy_file(fs::path(SHYPE_SOURCE_DIR) /
                                             "policies/mytest-security_policy.xml");
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    const std::vector<std::uint8_t> xml(loaded->xml_text.begin(), loaded->xml_text.end());
    auto policy = acm::compile_policy(loaded->model, xml);
    if (!policy) throw std::runtime_error(policy.error().to_string());
    out.compact = acm::write_compact_policy(policy->image);
    out.labels = acm::map_labels(policy->image);
    return out;
  }();
  return compiled;
}

// A hypervisor booted with `module` and mytest, and one paused A-Bank guest
// that offered Domain-0 an unbound port and a grant.
class OfferingGuest {
 public:
  explicit OfferingGuest(const std::string& module)
      : hv_("share-" + module,
            "xsm = " + module + "\npolicy = etc/shype/mytest.bin\ndom0_label = SystemManagement\n",
            [](const fs::path& root) {
              auto written =
                  acm::write_file_atomic(root / "etc/shype/mytest.bin", mytest().compact);
              if (!written) throw std::runtime_error(written.error().to_string());
            }) {
    auto opened = xc::Connection::open(hv_.root(), 30s);
    if (!opened) throw std::runtime_error(opened.error().to_string());
    xc_.emplace(std::move(*opened));
    auto bank = acm::find_label_ssidref(mytest().labels, "A-Bank", 'V');
    if (!bank) throw std::runtime_error(bank.error().to_string());
    auto server = create_pair_domain(*xc_, "offering", "role=server peer=0 wait=600", *bank);
    if (!server) throw std::runtime_error(server.error().to_string());
    server_ = *server;
    std::string text;
    const auto offer = read_offer(*xc_, server_, text);
    if (!offer) throw std::runtime_error("no offer: " + text);
    offer_ = *offer;
    if (auto paused = xc_->pause_domain(server_); !paused) {
      throw std::runtime_error(paused.error().to_string());
    }
  }

  xc::Connection& xc() { return *xc_; }
  [[nodiscard]] abi::domid_t server() const { return server_; }
  [[nodiscard]] const Offer& offer() const { return offer_; }

 private:
  HypervisorProcess hv_;
  std::optional<xc::Connection> xc_;
  abi::domid_t server_ = 0;
  Offer offer_;
};

// One map + unmap of the offered grant; false (with the error) on failure.
bool map_unmap(OfferingGuest& guest, std::string& error) {
  auto mapped = guest.xc().map_grant(guest.server(), guest.offer().ref, false);
  if (!mapped) {
    error = mapped.error().to_string();
    return false;
  }
  if (auto unmapped = guest.xc().unmap_grant(*mapped); !unmapped) {
    error = unmapped.error().to_string();
    return false;
  }
  return true;
}

// One bind + close of the offered port; false (with the error) on failure.
bool bind_close(OfferingGuest& guest, std::string& error) {
  auto bound = guest.xc().evtchn_bind_interdomain(
      guest.server(), static_cast<abi::evtchn_port_t>(guest.offer().port));
  if (!bound) {
    error = bound.error().to_string();
    return false;
  }
  if (auto closed = guest.xc().evtchn_close(bound->port); !closed) {
    error = closed.error().to_string();
    return false;
  }
  return true;
}

// Both hypervisors run side by side and each iteration does the operation
// once on each, alternating which goes first, so that both see the same
// host load. Time = the ACM operation; counters: acm_us, dummy_us and
// acm_over_dummy (the ratio of the sums).
void AcmAgainstDummy(benchmark::State& state, bool (*operation)(OfferingGuest&, std::string&)) {
  std::optional<OfferingGuest> acm_guest;
  std::optional<OfferingGuest> dummy_guest;
  try {
    acm_guest.emplace("acm");
    dummy_guest.emplace("dummy");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::string error;
  // Warm both up (first-use allocations in either hypervisor).
  for (int i = 0; i < 100; ++i) {
    if (!operation(*acm_guest, error) || !operation(*dummy_guest, error)) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  double acm_seconds = 0;
  double dummy_seconds = 0;
  std::uint64_t rounds = 0;
  for (auto _ : state) {
    const bool acm_first = (rounds++ % 2) == 0;
    double this_acm = 0;
    for (int turn = 0; turn < 2; ++turn) {
      const bool acm_turn = (turn == 0) == acm_first;
      OfferingGuest& guest = acm_turn ? *acm_guest : *dummy_guest;
      const auto start = Clock::now();
      const bool ok = operation(guest, error);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (!ok) {
        state.SkipWithError(error.c_str());
        return;
      }
      (acm_turn ? acm_seconds : dummy_seconds) += elapsed;
      if (acm_turn) this_acm = elapsed;
    }
    state.SetIterationTime(this_acm);
  }
  if (rounds > 0 && dummy_seconds > 0) {
    state.counters["acm_us"] = acm_seconds / static_cast<double>(rounds) * 1e6;
    state.counters["dummy_us"] = dummy_seconds / static_cast<double>(rounds) * 1e6;
    state.counters["acm_over_dummy"] = acm_seconds / dummy_seconds;
  }
}

void GrantMapUnmap(benchmark::State& state) {
  AcmAgainstDummy(state, map_unmap);
}
BENCHMARK(GrantMapUnmap)->UseManualTime()->Unit(benchmark::kMicrosecond);

void EvtchnBindClose(benchmark::State& state) {
  AcmAgainstDummy(state, bind_close);
}
BENCHMARK(EvtchnBindClose)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace shype::bench

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string flag = "--benchmark_min_time=";
    if (arg.rfind(flag, 0) == 0 && std::atof(arg.c_str() + flag.size()) < 0.1) {
      shype::bench::g_pingpong_seconds = 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
