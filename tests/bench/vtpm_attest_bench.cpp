// Attestation latency: a deep quote against a plain platform quote, the
// verifier, and manufacturing a fresh instance.
//
// Reproduce (default RelWithDebInfo build, -O2; needs swtpm and tpm2-tss):
//   cmake -S . -B build -G Ninja && ninja -C build vtpm_attest_bench
//   build/tests/bench/vtpm_attest_bench --benchmark_min_time=1
//
//  DeepQuote      make_deep_quote: the instance's EK public and PCRs 0,16
//                 (one ESAPI connection to the instance), then the platform
//                 AK (CreatePrimary, ECC P-256), TPM2_Quote over sha256:0-7
//                 and the platform PCR reads (one connection to the
//                 platform TPM). Both TPMs are bare swtpms on Unix sockets.
//  PlatformQuote  the baseline: the platform part alone (AK, Quote, PCR
//                 reads), what any TPM quote with a fresh primary AK costs.
//  InstanceEvidence  the instance part alone (EK public, PCRs 0 and 16).
//  Verify         verify_deep_quote of one deep quote (no TPM).
//  Manufacture    manufacture_instance on a fresh swtpm: Startup,
//                 PCR_Allocate and restart, RSA-2048 EK, certificate into NV.
//                 Starting the swtpm is not timed.
// Ratio to report: DeepQuote / PlatformQuote.
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "swtpm_process.hpp"
#include "vtpm/attest.hpp"
#include "vtpm/deepquote.hpp"
#include "vtpm/local_ca.hpp"

namespace {

namespace fs = std::filesystem;
namespace vtpm = shype::vtpm;
using shype::testing::SwtpmProcess;

fs::path temp_dir(const char* stem) {
  std::string templ = (fs::temp_directory_path() / stem).string() + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

// One manufactured instance, one platform TPM, one CA for the whole program.
struct Setup {
  fs::path dir = temp_dir("vtpm-attest-bench");
  SwtpmProcess instance{dir / "instance"};
  SwtpmProcess platform{dir / "platform"};
  std::optional<vtpm::LocalCa> ca;
  std::string ek_pem;
  std::string ak_pem;
  Setup() {
    auto c = vtpm::LocalCa::open_or_create(dir / "ca");
    if (!c) throw std::runtime_error(c.error().message);
    ca.emplace(std::move(*c));
    auto made = vtpm::manufacture_instance(instance.tcti(), instance.dir() / "tpm.sock.ctrl",
                                           {"sha256"}, *ca);
    if (!made) throw std::runtime_error(made.error().message);
    ek_pem = vtpm::certificate_der_to_pem(made->ek_cert_der).value();
    ak_pem = vtpm::tpm_public_to_pem(vtpm::platform_ak_public(platform.tcti()).value()).value();
  }
  ~Setup() {
    instance.stop();
    platform.stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  vtpm::DeepQuoteRequest request() const {
    return {instance.tcti(), platform.tcti(), {1, 2, 3, 4, 5, 6, 7, 8},
            "0b5c6d2e-1111-4a2b-8c3d-0123456789ab", 1, ek_pem, {0, 16},
            {0, 1, 2, 3, 4, 5, 6, 7}};
  }
  static Setup& get() {
    static Setup setup;
    return setup;
  }
};

void BM_DeepQuote(benchmark::State& state) {
  auto& s = Setup::get();
  const auto request = s.request();
  for (auto _ : state) {
    auto q = vtpm::make_deep_quote(request);
    if (!q) {
      state.SkipWithError(q.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(q->platform.signature.data());
  }
}
BENCHMARK(BM_DeepQuote)->Unit(benchmark::kMillisecond);

void BM_PlatformQuote(benchmark::State& state) {
  auto& s = Setup::get();
  const vtpm::Bytes qualifying(32, 0x5a);
  const std::vector<std::uint32_t> pcrs = {0, 1, 2, 3, 4, 5, 6, 7};
  for (auto _ : state) {
    auto q = vtpm::platform_quote(s.platform.tcti(), qualifying, pcrs);
    if (!q) {
      state.SkipWithError(q.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(q->signature.data());
  }
}
BENCHMARK(BM_PlatformQuote)->Unit(benchmark::kMillisecond);

void BM_InstanceEvidence(benchmark::State& state) {
  auto& s = Setup::get();
  for (auto _ : state) {
    auto e = vtpm::read_instance_evidence(s.instance.tcti(), {0, 16});
    if (!e) {
      state.SkipWithError(e.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(e->ek_public.data());
  }
}
BENCHMARK(BM_InstanceEvidence)->Unit(benchmark::kMillisecond);

void BM_Verify(benchmark::State& state) {
  auto& s = Setup::get();
  const auto request = s.request();
  const auto quote = vtpm::make_deep_quote(request);
  if (!quote) {
    state.SkipWithError(quote.error().message.c_str());
    return;
  }
  const std::string ca = s.ca->certificate_pem();
  for (auto _ : state) {
    auto v = vtpm::verify_deep_quote(*quote, request.nonce, s.ak_pem, ca);
    if (!v.ok) {
      state.SkipWithError("the deep quote did not verify");
      break;
    }
    benchmark::DoNotOptimize(v.checks.data());
  }
}
BENCHMARK(BM_Verify)->Unit(benchmark::kMillisecond);

void BM_Manufacture(benchmark::State& state) {
  auto& s = Setup::get();
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = s.dir / ("fresh-" + std::to_string(n++));
    auto tpm = std::make_unique<SwtpmProcess>(dir);
    state.ResumeTiming();
    auto made = vtpm::manufacture_instance(tpm->tcti(), dir / "tpm.sock.ctrl", {"sha256"}, *s.ca);
    state.PauseTiming();
    tpm.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
    state.ResumeTiming();
    if (!made) {
      state.SkipWithError(made.error().message.c_str());
      break;
    }
  }
}
BENCHMARK(BM_Manufacture)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
