// Many idle domains: what one idle guest costs in memory, and that N of
// them run side by side on one host.
//
// Reproduce (RelWithDebInfo, as root; about 30 s for 500 domains on 2 vCPUs):
//   ninja -C out/release hv_scale_bench shype-hv guest_hello
//   out/release/tests/bench/hv_scale_bench --domains=500
// Without --domains it runs 20 (the smoke run of scripts/test.sh).
//
//  IdleDomains            a real shype-hv (start --foreground, dummy XSM,
//                         temporary SHYPE_ROOT); Domain-0 creates N guest_hello
//                         domains (8 MiB each, cmdline "": greet, then block
//                         waiting for events), waits until every console shows
//                         the greeting and list_domains shows all N alive and
//                         neither crashed nor shut down, then sums Rss and Pss
//                         of every guest process (/proc/<pid>/smaps_rollup)
//                         and the hypervisor's own growth, destroys them all
//                         and stops the hypervisor.
//  IdleSandboxesBaseline  the baseline: N sandbox::launch of the same static
//                         kernel with the same descriptors (8 MiB memfd,
//                         shared_info page, upcall eventfd, a channel nobody
//                         answers), each waited for until its first message;
//                         the same sums: the sandboxed process alone, no
//                         hypervisor.
//
// Counters (per domain unless named *_total): guest_rss_kib, guest_pss_kib,
// hv_rss_growth_kib, then two host-wide deltas of /proc/meminfo from before
// the first start to all N running: shmem_kib (Shmem: the memfds - sealed
// kernel image copy, guest memory pages touched, shared_info) and kernel_kib
// (Slab + KernelStack + PageTables: namespaces, mounts, tasks, page
// tables). Host-wide deltas include whatever else the host did meanwhile;
// read them over several runs. create_ms (the createdomain calls),
// ready_ms_total (until every guest greeted), destroy_ms. Wall time is the
// whole run.
//
// Host limits checked first: RLIMIT_NOFILE's hard limit (the hypervisor
// raises its soft limit to it and holds several descriptors per domain),
// free pids under pid_max, and the per-user namespace limits (each guest
// has six namespaces).
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv/mapping.hpp"
#include "hv/pidfd.hpp"
#include "hv/shared_info_page.hpp"
#include "hv/unique_fd.hpp"
#include "hv_support.hpp"
#include "sandbox/sandbox.hpp"

namespace shype::bench {
namespace {

constexpr std::uint32_t kMemoryMib = 8;
// Descriptors the hypervisor holds per domain (memory, shared_info, upcall,
// channel, pidfd, console log, kernel image) with room to spare.
constexpr std::uint64_t kFdsPerDomain = 10;

std::uint64_t read_number(const fs::path& path) {
  const std::string text = slurp(path);
  std::uint64_t value = 0;
  (void)std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::size_t count_processes() {
  std::size_t count = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) ++count;
  }
  return count;
}

// "" if the host can hold `domains` more sandboxed processes, else why not.
std::string check_host_limits(std::uint64_t domains) {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const std::uint64_t needed_fds = domains * kFdsPerDomain + 256;
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < needed_fds) {
    return "RLIMIT_NOFILE hard limit " + std::to_string(files.rlim_max) + " < " +
           std::to_string(needed_fds) + " needed by the hypervisor (ulimit -Hn)";
  }
  const std::uint64_t pid_max = read_number("/proc/sys/kernel/pid_max");
  const std::uint64_t running = count_processes();
  if (pid_max < running + domains + 256) {
    return "pid_max " + std::to_string(pid_max) + " leaves no room for " + std::to_string(domains) +
           " more processes (" + std::to_string(running) + " run)";
  }
  for (const char* kind : {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    const fs::path limit =
        fs::path("/proc/sys/user") / ("max_" + std::string(kind) + "_namespaces");
    if (fs::exists(limit) && read_number(limit) < domains + 64) {
      return limit.string() + " = " + std::to_string(read_number(limit)) + " < " +
             std::to_string(domains + 64);
    }
  }
  return "";
}

// Host-wide memory the guests' sandboxes account to the kernel.
struct HostMemory {
  std::uint64_t shmem_kib = 0;
  std::uint64_t kernel_kib = 0;

  static HostMemory now() {
    return {meminfo_kib("Shmem"),
            meminfo_kib("Slab") + meminfo_kib("KernelStack") + meminfo_kib("PageTables")};
  }
};

void set_host_counters(benchmark::State& state, const HostMemory& before, const HostMemory& after,
                       double n) {
  state.counters["shmem_kib"] =
      (static_cast<double>(after.shmem_kib) - static_cast<double>(before.shmem_kib)) / n;
  state.counters["kernel_kib"] =
      (static_cast<double>(after.kernel_kib) - static_cast<double>(before.kernel_kib)) / n;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void IdleDomains(benchmark::State& state) {
  const auto domains = static_cast<std::uint64_t>(state.range(0));
  if (const std::string why = check_host_limits(domains); !why.empty()) {
    state.SkipWithError(("host limit: " + why).c_str());
    return;
  }
  for (auto _ : state) {
    // The hypervisor is stopped by pid when `hv` goes out of scope (also
    // on an early return); it kills whatever guests it still has.
    HypervisorProcess hv("scale", "xsm = dummy\n");
    auto opened = xc::Connection::open(hv.root(), 30s);
    if (!opened) {
      state.SkipWithError(opened.error().to_string().c_str());
      return;
    }
    std::optional<xc::Connection> connection(std::move(*opened));
    const auto hv_before = memory_of(hv.pid());
    const HostMemory host_before = HostMemory::now();

    hv::UniqueFd kernel(::open(GUEST_HELLO_PATH, O_RDONLY | O_CLOEXEC));
    std::vector<abi::domid_t> created;
    created.reserve(domains);
    const auto create_start = Clock::now();
    for (std::uint64_t i = 0; i < domains; ++i) {
      xc::DomainSpec spec;
      spec.name = "idle-" + std::to_string(i);
      spec.kernel = kernel.get();
      spec.memory_mib = kMemoryMib;
      auto domid = connection->create_domain(spec);
      if (!domid) {
        state.SkipWithError(
            ("domain " + std::to_string(i) + ": " + domid.error().to_string()).c_str());
        return;
      }
      created.push_back(*domid);
    }
    const double create_ms = ms_since(create_start);

    // Every guest has run its kernel up to the greeting and is waiting.
    const auto ready_deadline = Clock::now() + 60s + std::chrono::milliseconds(100 * domains);
    std::size_t greeted = 0;
    while (greeted < created.size() && Clock::now() < ready_deadline) {
      auto chunk = connection->console_read(created[greeted], 0);
      if (chunk && chunk->bytes.find("Hello from shype") != std::string::npos) {
        ++greeted;
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
    const double ready_ms = ms_since(create_start);
    if (greeted < created.size()) {
      state.SkipWithError(("only " + std::to_string(greeted) + " of " + std::to_string(domains) +
                           " guests greeted within the bounded wait")
                              .c_str());
      return;
    }

    auto list = connection->list_domains();
    if (!list) {
      state.SkipWithError(list.error().to_string().c_str());
      return;
    }
    MemoryUse guests;
    std::size_t alive = 0;
    for (const xc::DomainInfo& info : *list) {
      if (info.domid == 0) continue;
      if (info.host_pid <= 0 || info.shutdown() || info.crashed() || info.dying()) continue;
      const auto use = memory_of(info.host_pid);
      if (!use) continue;
      ++alive;
      guests.rss_kib += use->rss_kib;
      guests.pss_kib += use->pss_kib;
    }
    const auto hv_after = memory_of(hv.pid());
    const HostMemory host_after = HostMemory::now();
    if (alive != domains || list->size() != domains + 1) {
      state.SkipWithError(("list_domains shows " + std::to_string(alive) + " live guests of " +
                           std::to_string(domains) + " (" + std::to_string(list->size()) +
                           " entries)")
                              .c_str());
      return;
    }

    const auto destroy_start = Clock::now();
    for (abi::domid_t domid : created) {
      if (auto destroyed = connection->destroy_domain(domid); !destroyed) {
        state.SkipWithError(destroyed.error().to_string().c_str());
        return;
      }
    }
    const double destroy_ms = ms_since(destroy_start);
    auto remaining = connection->list_domains();
    if (!remaining || remaining->size() != 1) {
      state.SkipWithError("domains remain after destroying them all");
      return;
    }
    connection.reset();  // Domain-0 hangs up before the stop
    const int status = hv.stop();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError(("shype-hv ended with wait status " + std::to_string(status)).c_str());
      return;
    }

    const double n = static_cast<double>(domains);
    state.counters["domains"] = n;
    state.counters["guest_rss_kib"] = static_cast<double>(guests.rss_kib) / n;
    state.counters["guest_pss_kib"] = static_cast<double>(guests.pss_kib) / n;
    if (hv_before && hv_after) {
      state.counters["hv_rss_growth_kib"] =
          (static_cast<double>(hv_after->rss_kib) - static_cast<double>(hv_before->rss_kib)) / n;
    }
    set_host_counters(state, host_before, host_after, n);
    state.counters["create_ms"] = create_ms / n;
    state.counters["ready_ms_total"] = ready_ms;
    state.counters["destroy_ms"] = destroy_ms / n;
  }
}

// One sandboxed guest_hello with its own descriptors, as the hypervisor
// would start it, minus the hypervisor.
struct BareSandbox {
  hv::UniqueFd memory;
  hv::UniqueFd shared;
  hv::UniqueFd upcall;
  hv::UniqueFd channel;  // our end
  hv::UniqueFd pidfd;
  pid_t pid = -1;
};

void kill_all(std::vector<BareSandbox>& sandboxes) {
  for (BareSandbox& s : sandboxes) {
    if (s.pidfd) (void)hv::pidfd_send_signal(s.pidfd.get(), SIGKILL);
  }
  for (BareSandbox& s : sandboxes) {
    if (!s.pidfd) continue;
    pollfd p{s.pidfd.get(), POLLIN, 0};
    (void)::poll(&p, 1, 5000);
    siginfo_t info{};
    (void)::waitid(P_PIDFD, static_cast<id_t>(s.pidfd.get()), &info, WEXITED | WNOHANG);
    s.pidfd.reset();
  }
  sandboxes.clear();
}

void IdleSandboxesBaseline(benchmark::State& state) {
  const auto count = static_cast<std::uint64_t>(state.range(0));
  if (const std::string why = check_host_limits(count); !why.empty()) {
    state.SkipWithError(("host limit: " + why).c_str());
    return;
  }
  constexpr std::uint64_t kMemory = std::uint64_t{kMemoryMib} << 20;
  hv::UniqueFd kernel(::open(GUEST_HELLO_PATH, O_RDONLY | O_CLOEXEC));
  if (!kernel) {
    state.SkipWithError("cannot open guest_hello");
    return;
  }
  for (auto _ : state) {
    std::vector<BareSandbox> sandboxes;
    sandboxes.reserve(count);
    // Every process is killed and reaped on every way out.
    struct Reaper {
      std::vector<BareSandbox>& all;
      ~Reaper() { kill_all(all); }
    } reaper{sandboxes};
    const HostMemory host_before = HostMemory::now();
    const auto start = Clock::now();
    for (std::uint64_t i = 0; i < count; ++i) {
      BareSandbox& s = sandboxes.emplace_back();
      s.memory.reset(::memfd_create("bench-memory", MFD_CLOEXEC));
      s.shared.reset(::memfd_create("bench-shared", MFD_CLOEXEC));
      s.upcall.reset(::eventfd(0, EFD_CLOEXEC));
      int ends[2];
      if (!s.memory || !s.shared || !s.upcall || ::ftruncate(s.memory.get(), kMemory) != 0 ||
          ::ftruncate(s.shared.get(), abi::kPageSize) != 0 ||
          ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
        state.SkipWithError("descriptor setup failed");
        return;
      }
      s.channel.reset(ends[0]);
      hv::UniqueFd theirs(ends[1]);
      {
        auto page = hv::Mapping::map_shared(s.shared.get(), abi::kPageSize);
        if (!page) {
          state.SkipWithError("mmap failed");
          return;
        }
        hv::init_shared_info(*page, static_cast<abi::domid_t>(i + 1), kMemory);
      }
      sandbox::SandboxSpec spec;
      spec.name = "idle-" + std::to_string(i);
      spec.kernel_fd = kernel.get();
      spec.channel_fd = theirs.get();
      spec.memory_fd = s.memory.get();
      spec.shared_info_fd = s.shared.get();
      spec.upcall_fd = s.upcall.get();
      spec.memory_bytes = kMemory;
      auto process = sandbox::launch(spec);
      if (!process) {
        state.SkipWithError(process.error().to_string().c_str());
        return;
      }
      s.pid = process->pid;
      s.pidfd.reset(process->pidfd);
    }
    // Each has reached its first hypercall (and waits for the answer).
    std::uint8_t buffer[abi::kMaxMessageSize];
    for (BareSandbox& s : sandboxes) {
      pollfd p{s.channel.get(), POLLIN, 0};
      if (::poll(&p, 1, 10'000) != 1 || ::recv(s.channel.get(), buffer, sizeof buffer, 0) <= 0) {
        state.SkipWithError("a sandboxed kernel sent no first message within 10 s");
        return;
      }
    }
    const double ready_ms = ms_since(start);
    MemoryUse total;
    for (const BareSandbox& s : sandboxes) {
      const auto use = memory_of(s.pid);
      if (!use) {
        state.SkipWithError("a sandboxed process vanished");
        return;
      }
      total.rss_kib += use->rss_kib;
      total.pss_kib += use->pss_kib;
    }
    const HostMemory host_after = HostMemory::now();
    const double n = static_cast<double>(count);
    state.counters["domains"] = n;
    state.counters["guest_rss_kib"] = static_cast<double>(total.rss_kib) / n;
    state.counters["guest_pss_kib"] = static_cast<double>(total.pss_kib) / n;
    set_host_counters(state, host_before, host_after, n);
    state.counters["ready_ms_total"] = ready_ms;
  }
}

// --domains=N (default 20), removed from argv before Google Benchmark
// reads it.
std::int64_t take_domains_flag(int& argc, char** argv) {
  std::int64_t domains = 20;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--domains=", 0) == 0) {
      const std::string_view value = arg.substr(10);
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), domains);
      if (ec != std::errc() || end != value.data() + value.size() || domains < 1 ||
          domains > 4000) {
        std::fprintf(stderr, "hv_scale_bench: --domains wants 1..4000, not '%s'\n", argv[i]);
        std::exit(2);  // NOLINT(concurrency-mt-unsafe): in main, before any thread
      }
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return domains;
}

}  // namespace
}  // namespace shype::bench

int main(int argc, char** argv) {
  using namespace shype::bench;
  const std::int64_t domains = take_domains_flag(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  // Each runs once: one run is N domains started, measured and destroyed.
  benchmark::RegisterBenchmark("IdleDomains", IdleDomains)
      ->Arg(domains)
      ->ArgName("domains")
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("IdleSandboxesBaseline", IdleSandboxesBaseline)
      ->Arg(domains)
      ->ArgName("domains")
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
