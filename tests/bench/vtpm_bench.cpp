// TPM2_GetRandom(8) latency on three paths, and an instance's start.
//
// Reproduce (default RelWithDebInfo build, -O2; needs swtpm, libtpms and
// tpm2-tss, which scripts/install-deps.sh installs):
//   cmake -S . -B build -G Ninja && ninja -C build vtpm_bench
//   build/tests/bench/vtpm_bench --benchmark_min_time=1
//
//  ManagerTcti        through the manager's standard access path: an instance
//                     started by vtpm::Manager (a confined swtpm worker: own
//                     uid when root, seccomp, no new privileges) reached with
//                     the tpm2-tss swtpm TCTI on its Unix socket, as tpm2-tools
//                     reach it.
//  ManagerTpmback     the same instance through vtpm::TpmBackend (tpmback.hpp:
//                     frame checks, then the same socket).
//  BareSwtpmTcti      the baseline: swtpm started directly on a Unix socket
//                     with the worker's options (a log file, its own session)
//                     but no confinement, the same TCTI. (Without --log swtpm
//                     logs to stderr; that measured about 20 us slower per
//                     command here.)
//  InProcessLibtpms   the floor: TPMLIB_Process in this process (no I/O).
//  InstanceStart      vtpm.start of a stopped instance from its saved state
//                     (rebuild the worker's directory, exec swtpm, wait until
//                     its control channel answers); the stop is not timed.
//                     Includes the protected-state load below.
//  ProtectedLoad      what protection adds to a start: StateStore::load of an
//                     instance's two saved files (1.4 KB permanent, 8.9 KB
//                     volatile, the sizes of a fresh instance): read the
//                     wrapped key and both blobs, unwrap, decrypt and check.
//  PlainCopy          its baseline, the unprotected start's work: copying the
//                     same two plaintext files (fs::copy_file).
//  ProtectedSave      StateStore::save of the same files: encrypt, write
//                     <file>.next, the MACed manifest and <file> (each synced)
//                     and increment the platform NV counter (a swtpm here).
//  PlainSave          its baseline: acm::write_file_atomic of the two files.
//  RunningInstances   scale: --instances=N instances (default 16 so that the
//                     smoke run stays short; docs/BENCHMARKS.md uses 200)
//                     bound and manufactured (first start and stop,
//                     untimed), then all started from saved state (timed),
//                     all running at once. Counters: start_ms (mean per
//                     start), getrandom_us (mean TPM2_GetRandom through each
//                     one's TCTI, after its TPM2_Startup), private_kib (mean
//                     private memory of a worker, /proc/<pid>/smaps_rollup)
//                     and running (how many answered).
// The manager runs with its platform TPM on a swtpm (SwtpmProcess).
// Ratios to report: ManagerTcti / BareSwtpmTcti (target <= 1.2),
// ManagerTcti / InProcessLibtpms, ProtectedLoad / PlainCopy,
// ProtectedSave / PlainSave, and ProtectedLoad / InstanceStart.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "swtpm_process.hpp"
#include "vtpm/manager.hpp"
#include "vtpm/state_store.hpp"
#include "vtpm/tpmback.hpp"
#include "vtpm/worker.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace vtpm = shype::vtpm;

const std::array<std::uint8_t, 12> kStartup = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                               0x00, 0x00, 0x01, 0x44, 0x00, 0x00};
const std::array<std::uint8_t, 12> kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                                 0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};

fs::path temp_dir(const char* stem) {
  std::string templ = (fs::temp_directory_path() / stem).string() + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

// A tpm2-tss TCTI context from a configuration string.
class Tcti {
 public:
  explicit Tcti(const std::string& config) {
    if (Tss2_TctiLdr_Initialize(config.c_str(), &ctx_) != TSS2_RC_SUCCESS) {
      throw std::runtime_error("cannot open TCTI " + config);
    }
  }
  Tcti(const Tcti&) = delete;
  Tcti& operator=(const Tcti&) = delete;
  ~Tcti() { Tss2_TctiLdr_Finalize(&ctx_); }
  std::size_t call(const std::uint8_t* command, std::size_t size) {
    // SAFETY: every TCTI context starts with the common v1 header (tss2_tcti.h);
    // this is what the Tss2_Tcti_Transmit/Receive macros do, without their casts.
    auto* common = reinterpret_cast<TSS2_TCTI_CONTEXT_COMMON_V1*>(ctx_);
    if (common->transmit(ctx_, size, command) != TSS2_RC_SUCCESS) {
      throw std::runtime_error("TCTI transmit failed");
    }
    std::size_t got = response_.size();
    if (common->receive(ctx_, &got, response_.data(), 5000) != TSS2_RC_SUCCESS) {
      throw std::runtime_error("TCTI receive failed");
    }
    return got;
  }

 private:
  TSS2_TCTI_CONTEXT* ctx_ = nullptr;
  std::array<std::uint8_t, 4096> response_{};
};

// A swtpm as the platform TPM, exported to the manager through
// SHYPE_VTPM_PLATFORM_TCTI.
struct PlatformTpm {
  shype::testing::SwtpmProcess tpm;
  explicit PlatformTpm(const fs::path& dir) : tpm(dir) {
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", tpm.tcti().c_str(), 1);
  }
};

// One manager with one running instance for the whole program.
struct ManagedInstance {
  fs::path root = temp_dir("vtpm-bench");
  PlatformTpm platform{root.string() + "-platform"};
  vtpm::Manager manager{vtpm::Layout(root), [](std::string_view) {}};
  std::string tcti;
  ManagedInstance() {
    if (!manager.open()) throw std::runtime_error("manager did not open");
    if (!manager.call("vtpm.create", {{"name", "bench"}}))
      throw std::runtime_error("create failed");
    auto started = manager.call("vtpm.start", {{"ref", "bench"}});
    if (!started) throw std::runtime_error("start failed: " + started.error().message);
    tcti = (*started)["tcti"].get<std::string>();
    Tcti t(tcti);
    t.call(kStartup.data(), kStartup.size());
  }
  ~ManagedInstance() {
    manager.shutdown();
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::remove_all(root.string() + "-platform", ec);
  }
  static ManagedInstance& get() {
    static ManagedInstance instance;
    return instance;
  }
};

// swtpm started directly, as the baseline.
struct BareSwtpm {
  fs::path dir = temp_dir("vtpm-bench-bare");
  pid_t pid = 0;
  std::string tcti = "swtpm:path=" + (dir / "tpm.sock").string();
  BareSwtpm() {
    const std::string swtpm = vtpm::find_swtpm().string();
    std::vector<std::string> args = {swtpm,
                                     "socket",
                                     "--tpm2",
                                     "--tpmstate",
                                     "dir=" + dir.string(),
                                     "--server",
                                     "type=unixio,path=" + (dir / "tpm.sock").string(),
                                     "--ctrl",
                                     "type=unixio,path=" + (dir / "tpm.sock.ctrl").string(),
                                     "--flags",
                                     "not-need-init,startup-clear",
                                     "--log",
                                     "file=" + (dir / "swtpm.log").string() + ",level=1"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t quiet;
    ::posix_spawn_file_actions_init(&quiet);
    ::posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    // Its own session, as the manager's workers have: with autogroup
    // scheduling a session is a scheduling group, so the baseline must not
    // share the benchmark's.
    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    const int spawned =
        ::posix_spawn(&pid, swtpm.c_str(), &quiet, &attributes, argv.data(), environ);
    ::posix_spawnattr_destroy(&attributes);
    ::posix_spawn_file_actions_destroy(&quiet);
    if (spawned != 0) throw std::runtime_error("cannot start swtpm");
    for (int i = 0; i < 5000 && !fs::exists(dir / "tpm.sock"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~BareSwtpm() {
    ::kill(pid, SIGTERM);
    vtpm::reap_worker(pid, std::chrono::milliseconds(2000));
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static BareSwtpm& get() {
    static BareSwtpm instance;
    return instance;
  }
};

void run_tcti(benchmark::State& state, const std::string& config) {
  Tcti tcti(config);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tcti.call(kGetRandom.data(), kGetRandom.size()));
  }
}

void BM_ManagerTcti(benchmark::State& state) {
  run_tcti(state, ManagedInstance::get().tcti);
}
BENCHMARK(BM_ManagerTcti)->Unit(benchmark::kMicrosecond);

void BM_ManagerTpmback(benchmark::State& state) {
  auto& m = ManagedInstance::get();
  auto backend = vtpm::connect_instance(m.root / "run/vtpm/1/tpm.sock", std::chrono::seconds(5));
  if (!backend) {
    state.SkipWithError(backend.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    auto r = (*backend)->transmit(kGetRandom);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(r->data());
  }
}
BENCHMARK(BM_ManagerTpmback)->Unit(benchmark::kMicrosecond);

void BM_BareSwtpmTcti(benchmark::State& state) {
  run_tcti(state, BareSwtpm::get().tcti);
}
BENCHMARK(BM_BareSwtpmTcti)->Unit(benchmark::kMicrosecond);

// libtpms with in-memory "NVRAM": nothing is loaded (a fresh TPM) or kept.
TPM_RESULT nv_init() {
  return TPM_SUCCESS;
}
TPM_RESULT nv_load(unsigned char**, uint32_t*, uint32_t, const char*) {
  return TPM_RETRY;
}
TPM_RESULT nv_store(const unsigned char*, uint32_t, uint32_t, const char*) {
  return TPM_SUCCESS;
}
TPM_RESULT nv_delete(uint32_t, const char*, TPM_BOOL) {
  return TPM_SUCCESS;
}

void BM_InProcessLibtpms(benchmark::State& state) {
  libtpms_callbacks callbacks{};
  callbacks.sizeOfStruct = sizeof callbacks;
  callbacks.tpm_nvram_init = nv_init;
  callbacks.tpm_nvram_loaddata = nv_load;
  callbacks.tpm_nvram_storedata = nv_store;
  callbacks.tpm_nvram_deletename = nv_delete;
  if (TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS ||
      TPMLIB_RegisterCallbacks(&callbacks) != TPM_SUCCESS || TPMLIB_MainInit() != TPM_SUCCESS) {
    state.SkipWithError("libtpms did not initialize");
    return;
  }
  unsigned char* response = nullptr;
  uint32_t response_size = 0;
  uint32_t buffer_size = 0;
  std::array<std::uint8_t, 12> command = kStartup;
  TPMLIB_Process(&response, &response_size, &buffer_size, command.data(),
                 static_cast<uint32_t>(command.size()));
  for (auto _ : state) {
    command = kGetRandom;
    TPMLIB_Process(&response, &response_size, &buffer_size, command.data(),
                   static_cast<uint32_t>(command.size()));
    benchmark::DoNotOptimize(response);
  }
  TPMLIB_Terminate();
  std::free(response);
}
BENCHMARK(BM_InProcessLibtpms)->Unit(benchmark::kMicrosecond);

void BM_InstanceStart(benchmark::State& state) {
  auto& m = ManagedInstance::get();
  for (auto _ : state) {
    state.PauseTiming();
    if (!m.manager.call("vtpm.stop", {{"ref", "bench"}})) {
      state.SkipWithError("stop failed");
      break;
    }
    state.ResumeTiming();
    if (!m.manager.call("vtpm.start", {{"ref", "bench"}})) {
      state.SkipWithError("start failed");
      break;
    }
  }
}
BENCHMARK(BM_InstanceStart)->Unit(benchmark::kMillisecond)->Iterations(30);

// A state store with one saved instance, and the same files in plaintext.
struct StoreFixture {
  fs::path root = temp_dir("vtpm-bench-store");
  shype::testing::SwtpmProcess platform{root / "platform"};
  vtpm::StateStore store{vtpm::Layout(root), platform.tcti()};
  vtpm::StateFiles files;
  const std::string uuid = "5b0c3c1e-1c1f-4a8e-9f57-7f3f4f0c2d11";
  StoreFixture() {
    fs::create_directories(vtpm::Layout(root).saved_dir(1));
    fs::create_directories(root / "plain");
    if (!store.open(false) || !store.create_instance(1, uuid))
      throw std::runtime_error("state store did not open");
    files["tpm2-00.permall"] = std::vector<std::uint8_t>(1424, 0x11);
    files["tpm2-00.volatilestate"] = std::vector<std::uint8_t>(8909, 0x22);
    if (!store.save(1, uuid, files)) throw std::runtime_error("save failed");
    for (const auto& [name, bytes] : files)
      if (!shype::acm::write_file_atomic(root / "plain" / name, bytes, 0600))
        throw std::runtime_error("plain write failed");
  }
  ~StoreFixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  static StoreFixture& get() {
    static StoreFixture fixture;
    return fixture;
  }
};

void BM_ProtectedLoad(benchmark::State& state) {
  auto& f = StoreFixture::get();
  for (auto _ : state) {
    auto loaded = f.store.load(1, f.uuid);
    if (!loaded || loaded->size() != 2) {
      state.SkipWithError("load failed");
      break;
    }
  }
}
BENCHMARK(BM_ProtectedLoad)->Unit(benchmark::kMicrosecond);

void BM_PlainCopy(benchmark::State& state) {
  auto& f = StoreFixture::get();
  fs::create_directories(f.root / "copy");
  for (auto _ : state) {
    for (const auto& [name, bytes] : f.files) {
      std::error_code ec;
      fs::copy_file(f.root / "plain" / name, f.root / "copy" / name,
                    fs::copy_options::overwrite_existing, ec);
      if (ec) state.SkipWithError("copy failed");
    }
  }
}
BENCHMARK(BM_PlainCopy)->Unit(benchmark::kMicrosecond);

void BM_ProtectedSave(benchmark::State& state) {
  auto& f = StoreFixture::get();
  for (auto _ : state) {
    if (!f.store.save(1, f.uuid, f.files)) {
      state.SkipWithError("save failed");
      break;
    }
  }
}
BENCHMARK(BM_ProtectedSave)->Unit(benchmark::kMicrosecond)->Iterations(200);

void BM_PlainSave(benchmark::State& state) {
  auto& f = StoreFixture::get();
  for (auto _ : state) {
    for (const auto& [name, bytes] : f.files)
      if (!shype::acm::write_file_atomic(f.root / "plain" / name, bytes, 0600))
        state.SkipWithError("write failed");
  }
}
BENCHMARK(BM_PlainSave)->Unit(benchmark::kMicrosecond)->Iterations(200);


std::uint32_t g_instances = 16;

// Private memory of a process in KiB (Private_Clean + Private_Dirty of
// /proc/<pid>/smaps_rollup); 0 if it cannot be read.
std::uint64_t private_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  std::uint64_t total = 0;
  while (std::getline(in, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "Private_Clean: %llu kB", &kib) == 1 ||
        std::sscanf(line.c_str(), "Private_Dirty: %llu kB", &kib) == 1) {
      total += kib;
    }
  }
  return total;
}

void BM_RunningInstances(benchmark::State& state) {
  auto& m = ManagedInstance::get();
  const std::uint32_t n = g_instances;
  const auto name = [](std::uint32_t i) { return "scale-" + std::to_string(i); };
  for (auto _ : state) {
    // Bound, and manufactured by a first start (EK, certificates), untimed.
    for (std::uint32_t i = 0; i < n; ++i) {
      if (!m.manager.call("vtpm.create", {{"name", name(i)}}) ||
          !m.manager.call("vtpm.start", {{"ref", name(i)}}) ||
          !m.manager.call("vtpm.stop", {{"ref", name(i)}})) {
        state.SkipWithError("could not prepare the instances");
        return;
      }
    }
    std::vector<std::pair<int, std::string>> workers;  // pid, TCTI
    const auto begin = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < n; ++i) {
      auto started = m.manager.call("vtpm.start", {{"ref", name(i)}});
      if (!started) {
        state.SkipWithError(("start " + std::to_string(i) + " failed: " + started.error().message).c_str());
        return;
      }
      workers.emplace_back((*started).value("pid", 0), (*started)["tcti"].get<std::string>());
    }
    const double start_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    state.SetIterationTime(start_s);

    // All running at once: each one answers through its own socket.
    double getrandom_s = 0;
    std::uint64_t kib = 0;
    std::uint32_t answered = 0;
    for (const auto& [pid, tcti] : workers) {
      Tcti t(tcti);
      t.call(kStartup.data(), kStartup.size());
      const auto t0 = std::chrono::steady_clock::now();
      if (t.call(kGetRandom.data(), kGetRandom.size()) >= 10) ++answered;
      getrandom_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      kib += private_kib(pid);
    }
    state.counters["running"] = answered;
    state.counters["start_ms"] = start_s * 1e3 / n;
    state.counters["getrandom_us"] = getrandom_s * 1e6 / n;
    state.counters["private_kib"] = static_cast<double>(kib) / n;

    for (std::uint32_t i = 0; i < n; ++i) {
      (void)m.manager.call("vtpm.stop", {{"ref", name(i)}});
      (void)m.manager.call("vtpm.delete", {{"ref", name(i)}});
    }
  }
}
BENCHMARK(BM_RunningInstances)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strncmp(argv[i], "--instances=", 12) == 0) {
      g_instances = static_cast<std::uint32_t>(std::strtoul(argv[i] + 12, nullptr, 10));
      if (g_instances == 0) g_instances = 1;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
