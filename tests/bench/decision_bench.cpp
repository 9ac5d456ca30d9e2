// Decision costs of the policy core, each next to its baseline.
//
// Reproduce (default RelWithDebInfo build, -O2):
//   cmake -S . -B build -G Ninja && ninja -C build decision_bench
//   build/tests/bench/decision_bench --benchmark_min_time=0.2
//
// Policies: testing::scaled_policy(n, n, 42), ezPolicy-shaped (n workload
// types and n VM labels, SystemManagement holding every type, one resource
// label per type), so n = 10,000 has about 20,000 STE rows.
//
//  SteShare/n          SteIndex::share over random (row, row) pairs of all
//                      STE rows (VM and resource labels), independent calls.
//  SteShareChained/n   the same, but each pair depends on the previous answer
//                      (latency rather than throughput).
//  XenShare/n          the baseline: Xen's layout and loop - a dense 16-bit
//                      rows x types matrix and a scan over the types of both
//                      rows until a common one is found (common_type, 8.1).
//  SteDominates/n      SteIndex::dominates (the authorization predicate).
//  XenDominates/n      Xen's superset loop over the dense matrix.
//  ChwallAdmissible/n  ChineseWallState::admissible of random labels with a
//                      tenth of the labels (at most 200) running.
//  ChwallStartStop/n   try_start + stop of a random admissible label.
//  EngineBuild/n       PolicyEngine::build from a compiled image.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include <benchmark/benchmark.h>

#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "policy_generator.hpp"

namespace shype::acm {
namespace {

constexpr std::size_t kPairs = std::size_t{1} << 16;  // power of two, for masking

// Xen's STE layout: max_ssidrefs x max_types 16-bit cells.
class XenSteMatrix {
 public:
  explicit XenSteMatrix(const PolicyImage& image)
      : rows_(image.ste_labels.rows()),
        types_(image.ste_type_count),
        cells_(std::size_t{rows_} * types_, 0) {
    for (std::uint32_t r = 0; r < rows_; ++r) {
      for (std::uint32_t t : image.ste_labels.row(r))
        cells_[std::size_t{r} * types_ + t] = 1;
    }
  }
  bool common_type(std::uint32_t a, std::uint32_t b) const noexcept {
    if (a >= rows_ || b >= rows_) return false;
    const std::uint16_t* x = &cells_[std::size_t{a} * types_];
    const std::uint16_t* y = &cells_[std::size_t{b} * types_];
    for (std::uint32_t i = 0; i < types_; ++i) {
      if (x[i] && y[i]) return true;
    }
    return false;
  }
  bool superset(std::uint32_t sup, std::uint32_t sub) const noexcept {
    if (sup >= rows_ || sub >= rows_) return false;
    const std::uint16_t* x = &cells_[std::size_t{sup} * types_];
    const std::uint16_t* y = &cells_[std::size_t{sub} * types_];
    for (std::uint32_t i = 0; i < types_; ++i) {
      if (y[i] && !x[i]) return false;
    }
    return true;
  }
  std::size_t bytes() const noexcept { return cells_.size() * sizeof(std::uint16_t); }

 private:
  std::uint32_t rows_;
  std::uint32_t types_;
  std::vector<std::uint16_t> cells_;
};

struct Setup {
  CompiledPolicy compiled;
  std::unique_ptr<PolicyEngine> engine;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  std::vector<std::uint32_t> random_labels;  // CHWALL rows (VM labels)
  std::unique_ptr<XenSteMatrix> xen;         // built on first use (400 MB at n = 10,000)
};

Setup& setup(std::uint32_t n) {
  static std::map<std::uint32_t, std::unique_ptr<Setup>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<Setup>();
  auto compiled = compile_policy(testing::scaled_policy(n, n, 42), {});
  if (!compiled) throw std::runtime_error(compiled.error().to_string());
  slot->compiled = std::move(*compiled);
  auto engine = PolicyEngine::build(slot->compiled.image);
  if (!engine) throw std::runtime_error(engine.error().to_string());
  slot->engine = std::make_unique<PolicyEngine>(std::move(*engine));
  std::mt19937_64 rng(n);
  const std::uint32_t rows = slot->compiled.image.ste_labels.rows();
  const std::uint32_t labels = slot->compiled.image.vm_label_count;
  for (std::size_t i = 0; i < kPairs; ++i) {
    slot->pairs.emplace_back(static_cast<std::uint32_t>(rng() % rows),
                             static_cast<std::uint32_t>(rng() % rows));
    slot->random_labels.push_back(static_cast<std::uint32_t>(rng() % labels));
  }
  return *slot;
}

const XenSteMatrix& xen(Setup& s) {
  if (!s.xen) s.xen = std::make_unique<XenSteMatrix>(s.compiled.image);
  return *s.xen;
}

void label_counters(benchmark::State& state, const Setup& s) {
  state.counters["ste_rows"] = s.compiled.image.ste_labels.rows();
  state.counters["ste_types"] = s.compiled.image.ste_type_count;
}

void SteShare(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const SteIndex& ste = s.engine->ste();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [a, b] = s.pairs[i++ & (kPairs - 1)];
    benchmark::DoNotOptimize(ste.share(a, b));
  }
  label_counters(state, s);
  state.counters["index_bytes"] = static_cast<double>(ste.memory_bytes());
}

void SteShareChained(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const SteIndex& ste = s.engine->ste();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [a, b] = s.pairs[i & (kPairs - 1)];
    // The next pair depends on this answer, so calls cannot overlap.
    i += 1 + static_cast<std::size_t>(ste.share(a, b));
  }
  benchmark::DoNotOptimize(i);
  label_counters(state, s);
}

void XenShare(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const XenSteMatrix& m = xen(s);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [a, b] = s.pairs[i++ & (kPairs - 1)];
    benchmark::DoNotOptimize(m.common_type(a, b));
  }
  label_counters(state, s);
  state.counters["matrix_bytes"] = static_cast<double>(m.bytes());
}

void SteDominates(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const SteIndex& ste = s.engine->ste();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [a, b] = s.pairs[i++ & (kPairs - 1)];
    benchmark::DoNotOptimize(ste.dominates(a, b));
  }
  label_counters(state, s);
}

void XenDominates(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const XenSteMatrix& m = xen(s);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [a, b] = s.pairs[i++ & (kPairs - 1)];
    benchmark::DoNotOptimize(m.superset(a, b));
  }
  label_counters(state, s);
}

// A tenth of the labels (at most 200 domains) running: what a loaded host sees.
ChineseWallState running_state(Setup& s) {
  ChineseWallState cw = s.engine->new_chinese_wall_state();
  const std::size_t wanted = std::min<std::size_t>(200, s.compiled.image.vm_label_count / 10 + 1);
  std::size_t started = 0;
  for (std::size_t i = 0; i < kPairs && started < wanted; ++i) {
    if (cw.try_start(s.random_labels[i])) ++started;
  }
  return cw;
}

void ChwallAdmissible(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  const ChineseWallState cw = running_state(s);
  std::size_t i = 0;
  std::size_t admitted = 0;
  for (auto _ : state) {
    const bool ok = cw.admissible(s.random_labels[i++ & (kPairs - 1)]);
    admitted += ok;
    benchmark::DoNotOptimize(ok);
  }
  state.counters["admitted_share"] =
      static_cast<double>(admitted) / static_cast<double>(std::max<std::size_t>(1, i));
}

void ChwallStartStop(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  ChineseWallState cw = running_state(s);
  std::vector<std::uint32_t> admissible;
  for (std::uint32_t label : s.random_labels) {
    if (cw.admissible(label)) admissible.push_back(label);
  }
  if (admissible.empty()) {
    state.SkipWithError("no admissible label");
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint32_t label = admissible[i++ % admissible.size()];
    benchmark::DoNotOptimize(cw.try_start(label));
    cw.stop(label);
  }
}

void EngineBuild(benchmark::State& state) {
  Setup& s = setup(static_cast<std::uint32_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    PolicyImage image = s.compiled.image;
    state.ResumeTiming();
    auto engine = PolicyEngine::build(std::move(image));
    benchmark::DoNotOptimize(engine);
  }
  label_counters(state, s);
}

BENCHMARK(SteShare)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(SteShareChained)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(XenShare)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(SteDominates)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(XenDominates)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(ChwallAdmissible)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(ChwallStartStop)->RangeMultiplier(10)->Range(10, 10000);
BENCHMARK(EngineBuild)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shype::acm

BENCHMARK_MAIN();
