// Block I/O through the split block device (issue: sequential 1 MiB reads
// and writes through blkfront/blkback at >= 0.7x of a host process on the
// same file; 4 KiB random read latency reported).
//
// Reproduce (default RelWithDebInfo build, as root):
//   cmake -S . -B build -G Ninja -DSHYPE_BUILD_BENCHMARKS=ON && ninja -C build blk_bench
//   build/tests/bench/blk_bench --mib=64 --benchmark_repetitions=3
// (--mib=N, default 8 so that the smoke run stays short: the bytes moved
// each way per iteration; --ops=N random reads, default 500.)
//
// One shype-hv and one xend run under a temporary SHYPE_ROOT for the whole
// program; mytest is set and the image (N MiB, labeled A-Bank) made once.
//
//  GuestDisk   one A-Bank domain per iteration running guest_disk
//              mode=bench: N MiB written in 1 MiB bursts (11-page requests,
//              --pool=352 pages by default: 32 requests in flight,
//              the ring kept full, zero-copy from the grant pool, then a
//              flush = fdatasync), N MiB read back the same way, then --ops
//              4 KiB reads at random offsets one at a time. The guest times
//              itself (CLOCK_MONOTONIC) and prints the figures. Right after,
//              in the same iteration, this process pwrites (+ fdatasync) and
//              preads the same file in 1 MiB calls: the baseline.
//              Time: the guest's sequential read. Counters: guest and host
//              MiB/s each way, their ratios (read_ratio, write_ratio) and
//              the mean random read latency in microseconds.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "xm_bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using shype::bench::Clock;
using shype::bench::run;
using shype::rpc::Json;

std::uint64_t g_mib = 8;
std::uint32_t g_ops = 500;
std::uint32_t g_pool = 352;  // the whole ring: 32 requests of 11 pages in flight
constexpr const char* kImage = "/home/xen/bench/disk.img";

std::string read_text(const fs::path& path) { return shype::bench::slurp(path); }

void prepare_root(const fs::path& root) {
  fs::create_directories(root / "boot");
  fs::copy_file(GUEST_DISK_PATH, root / "boot/guest_disk");
  const fs::path policies = root / "etc/xen/acm-security/policies";
  fs::create_directories(policies);
  fs::copy_file(fs::path(SHYPE_SOURCE_DIR) / "policies/mytest-security_policy.xml",
                policies / "mytest-security_policy.xml");
  fs::create_directories(root / "root");
  fs::create_directories(root / fs::path(kImage).parent_path().relative_path());
  // The image, allocated (not sparse) so that both sides write real blocks.
  const int fd = ::open((root / fs::path(kImage).relative_path()).c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::posix_fallocate(fd, 0, static_cast<off_t>(g_mib << 20)) != 0) {
    throw std::runtime_error("cannot make the image");
  }
  ::close(fd);
}

// Two placements: the host's scheduler places everything, or Domain-0
// (the hypervisor, xend and its blkback) has CPU 0 and the guest the rest
// (boot.conf `dom0_cpus = 0`, hv/cpu_placement.hpp).
enum Placement : int { kShared = 0, kDom0Apart = 1 };

struct System : shype::bench::XendSystem {
  explicit System(Placement placement)
      : XendSystem("blk", prepare_root, placement == kDom0Apart ? "dom0_cpus = 0\n" : "") {}
};

std::unique_ptr<System> g_systems[2];

System& sys(Placement placement) {
  std::unique_ptr<System>& system = g_systems[placement];
  if (!system) {
    system = std::make_unique<System>(placement);
    const fs::path root = system->hv.root();
    if (run({XM_PATH, "setpolicy", "ACM", "mytest"}, root, root / "root") != 0 ||
        run({XM_PATH, "addlabel", "A-Bank", "res", std::string("file:") + kImage}, root,
            root / "root") != 0) {
      throw std::runtime_error("cannot set mytest or label the image: " +
                               read_text(root / "xend.out"));
    }
  }
  return *system;
}

// "<key> bytes=B ns=T" or "<key> ops=N ns=T" from the guest's console.
std::pair<double, double> figure(const std::string& log, const std::string& key) {
  const std::regex line(key + " (?:bytes|ops)=([0-9]+) ns=([0-9]+)");
  std::smatch m;
  if (!std::regex_search(log, m, line)) throw std::runtime_error("no '" + key + "' in\n" + log);
  return {std::stod(m[1].str()), std::stod(m[2].str())};
}

// The host baseline on the same file: 1 MiB pwrite + fdatasync, 1 MiB pread.
std::pair<double, double> host_seconds(const fs::path& file, std::uint64_t bytes) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open the image");
  std::vector<char> buffer(1 << 20, 'h');
  const auto w0 = Clock::now();
  for (std::uint64_t off = 0; off < bytes; off += buffer.size()) {
    if (::pwrite(fd, buffer.data(), buffer.size(), static_cast<off_t>(off)) < 0) break;
  }
  (void)::fdatasync(fd);
  const double write_s = std::chrono::duration<double>(Clock::now() - w0).count();
  const auto r0 = Clock::now();
  for (std::uint64_t off = 0; off < bytes; off += buffer.size()) {
    if (::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(off)) < 0) break;
  }
  const double read_s = std::chrono::duration<double>(Clock::now() - r0).count();
  ::close(fd);
  return {write_s, read_s};
}

void GuestDisk(benchmark::State& state) {
  const auto placement = static_cast<Placement>(state.range(0));
  if (placement == kDom0Apart && ::sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    state.SkipWithError("dom0_cpus needs two CPUs");
    return;
  }
  System& s = sys(placement);
  const fs::path root = s.hv.root();
  double guest_write_s = 0, guest_read_s = 0, guest_bytes_w = 0, guest_bytes_r = 0;
  double host_write_s = 0, host_read_s = 0, host_mib = 0, rand_us = 0;
  int runs = 0;
  for (auto _ : state) {
    const std::string name = "bench" + std::to_string(++s.serial);
    const std::string config =
        "kernel = \"/boot/guest_disk\"\nmemory = 16\nname = \"" + name + "\"\n" +
        "extra = \"mode=bench pool=" + std::to_string(g_pool) + " mib=" + std::to_string(g_mib) + " ops=" +
        std::to_string(g_ops) + "\"\n" + "disk = ['file:" + kImage + ",xvda,w']\n" +
        "access_control = ['policy=mytest,label=A-Bank']\n";
    s.call("domain.create", {{"config", config}, {"file", name + ".xm"}});
    const fs::path log = root / "var/log/xen/console" / ("guest-" + name + ".log");
    const auto deadline = Clock::now() + 300s;
    std::string text;
    while ((text = read_text(log)).find("bench done") == std::string::npos) {
      if (text.find("failed") != std::string::npos || text.find("refused") != std::string::npos ||
          Clock::now() > deadline) {
        s.call("domain.destroy", {{"domain", name}});
        throw std::runtime_error("the guest's benchmark did not finish:\n" + text);
      }
      std::this_thread::sleep_for(20ms);
    }
    s.call("domain.destroy", {{"domain", name}});
    const auto [wbytes, wns] = figure(text, "bench seq_write");
    const auto [rbytes, rns] = figure(text, "bench seq_read");
    const auto [ops, rand_ns] = figure(text, "bench rand_read");
    state.SetIterationTime(rns / 1e9);
    const double mib = static_cast<double>(g_mib);
    guest_write_s += wns / 1e9;
    guest_read_s += rns / 1e9;
    guest_bytes_w += wbytes;
    guest_bytes_r += rbytes;
    rand_us += rand_ns / ops / 1e3;
    const auto [hw, hr] = host_seconds(root / fs::path(kImage).relative_path(), g_mib << 20);
    host_write_s += hw;
    host_read_s += hr;
    host_mib += mib;
    ++runs;
  }
  // Totals over the iterations: bytes over time, each side.
  const double guest_write_mibps = guest_bytes_w / (1 << 20) / guest_write_s;
  const double guest_read_mibps = guest_bytes_r / (1 << 20) / guest_read_s;
  const double host_write_mibps = host_mib / host_write_s;
  const double host_read_mibps = host_mib / host_read_s;
  state.counters["guest_write_MiBps"] = guest_write_mibps;
  state.counters["guest_read_MiBps"] = guest_read_mibps;
  state.counters["host_write_MiBps"] = host_write_mibps;
  state.counters["host_read_MiBps"] = host_read_mibps;
  state.counters["write_ratio"] = guest_write_mibps / host_write_mibps;
  state.counters["read_ratio"] = guest_read_mibps / host_read_mibps;
  state.counters["rand_read_us"] = rand_us / runs;
}
BENCHMARK(GuestDisk)
    ->ArgName("dom0_apart")
    ->Arg(kShared)
    ->Arg(kDom0Apart)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mib=", 6) == 0) {
      g_mib = std::stoull(argv[i] + 6);
    } else if (std::strncmp(argv[i], "--pool=", 7) == 0) {
      g_pool = static_cast<std::uint32_t>(std::stoul(argv[i] + 7));
    } else if (std::strncmp(argv[i], "--ops=", 6) == 0) {
      g_ops = static_cast<std::uint32_t>(std::stoul(argv[i] + 6));
    } else {
      rest.push_back(argv[i]);
    }
  }
  return shype::bench::run_benchmarks("blk_bench", std::move(rest), [] {
    for (auto& system : g_systems) system.reset();
  });
}
