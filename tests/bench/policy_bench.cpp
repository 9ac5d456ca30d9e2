// Compiling and loading policies at scale, each next to a baseline measured
// in the same run.
//
// Reproduce (default RelWithDebInfo build, -O2):
//   cmake -S . -B build -G Ninja && ninja -C build policy_bench
//   build/tests/bench/policy_bench --benchmark_min_time=0.5
// The policies are testing::scaled_policy(n, n, 42) written as XML
// (shype-genpolicy --types n --labels n --seed 42 writes the same file).
//
//  CompileXml/n/format  XML text -> binary (wall time: schema validation runs
//                       on a second thread): well-formedness (libxml2), schema
//                       validation (Xerces-C++), model, semantic checks,
//                       numbering, compilation and the binary writer: all of
//                       `acmtool compile` but the file writes.
//  ParseXmlOnly/n       baseline: libxml2 merely parsing the same text into
//                       a tree (what any XML tool pays before doing anything).
//  LoadBinary/n/format  strict read + validate pass of the binary
//                       (read_binary_policy), what the hypervisor runs on
//                       every policy it is given.
//  LoadAndBuild/n/fmt   the same plus PolicyEngine::build (ready to decide).
//  Sha256Binary/n/fmt   baseline: one SHA-256 pass over the same bytes (the
//                       fingerprint every loader computes anyway).
// Counters: bytes = size of the XML or binary input.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <libxml/parser.h>

#include "acm/binary_policy.hpp"
#include "acm/compiler.hpp"
#include "acm/decision_engine.hpp"
#include "acm/fingerprint.hpp"
#include "acm/xml/policy_loader.hpp"
#include "acm/xml/policy_writer.hpp"
#include "policy_generator.hpp"

namespace shype::acm {
namespace {

const std::string& policy_xml(std::uint32_t n) {
  static std::map<std::uint32_t, std::string> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    it = cache.emplace(n, xml::write_policy(testing::scaled_policy(n, n, 42))).first;
  }
  return it->second;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  // SAFETY: char and uint8_t have the same size and representation; read only.
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

BinaryFormat format_of(std::int64_t arg) {
  return arg == 0 ? BinaryFormat::xen : BinaryFormat::compact;
}

const std::vector<std::uint8_t>& policy_binary(std::uint32_t n, BinaryFormat format) {
  static std::map<std::pair<std::uint32_t, BinaryFormat>, std::vector<std::uint8_t>> cache;
  auto key = std::make_pair(n, format);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const std::string& text = policy_xml(n);
    auto loaded = xml::load_policy_text(text, "generated.xml");
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    auto compiled = compile_policy(loaded->model, as_bytes(text));
    if (!compiled) throw std::runtime_error(compiled.error().to_string());
    it = cache.emplace(key, write_binary_policy(compiled->image, format)).first;
  }
  return it->second;
}

void CompileXml(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const BinaryFormat format = format_of(state.range(1));
  const std::string& text = policy_xml(n);
  for (auto _ : state) {
    auto loaded = xml::load_policy_text(text, "generated.xml");
    if (!loaded) state.SkipWithError(loaded.error().to_string().c_str());
    auto compiled = compile_policy(loaded->model, as_bytes(text));
    if (!compiled) state.SkipWithError(compiled.error().to_string().c_str());
    auto binary = write_binary_policy(compiled->image, format);
    benchmark::DoNotOptimize(binary.data());
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  state.SetLabel(binary_format_name(format));
}

void ParseXmlOnly(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const std::string& text = policy_xml(n);
  for (auto _ : state) {
    xmlDocPtr doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "generated.xml",
                                  nullptr, XML_PARSE_NONET);
    benchmark::DoNotOptimize(doc);
    xmlFreeDoc(doc);
  }
  state.counters["bytes"] = static_cast<double>(text.size());
}

void LoadBinary(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const BinaryFormat format = format_of(state.range(1));
  const auto& bytes = policy_binary(n, format);
  for (auto _ : state) {
    auto image = read_binary_policy(bytes);
    if (!image) state.SkipWithError(image.error().to_string().c_str());
    benchmark::DoNotOptimize(image->ste_labels.entries());
  }
  state.counters["bytes"] = static_cast<double>(bytes.size());
  state.SetLabel(binary_format_name(format));
}

void LoadAndBuild(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const BinaryFormat format = format_of(state.range(1));
  const auto& bytes = policy_binary(n, format);
  for (auto _ : state) {
    auto image = read_binary_policy(bytes);
    if (!image) state.SkipWithError(image.error().to_string().c_str());
    auto engine = PolicyEngine::build(std::move(*image));
    if (!engine) state.SkipWithError(engine.error().to_string().c_str());
    benchmark::DoNotOptimize(engine->image().vm_label_count);
  }
  state.counters["bytes"] = static_cast<double>(bytes.size());
  state.SetLabel(binary_format_name(format));
}

void Sha256Binary(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const BinaryFormat format = format_of(state.range(1));
  const auto& bytes = policy_binary(n, format);
  for (auto _ : state)
    benchmark::DoNotOptimize(sha256(bytes));
  state.counters["bytes"] = static_cast<double>(bytes.size());
  state.SetLabel(binary_format_name(format));
}

// Format argument: 0 = Xen's format, 1 = compact. Xen's format is not run at
// 10,000 (its dense matrices are 400 MB there; that is what the compact
// format is for).
void formats(benchmark::internal::Benchmark* b) {
  b->Args({1000, 0})->Args({1000, 1})->Args({10000, 1});
}

BENCHMARK(CompileXml)->Apply(formats)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ParseXmlOnly)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(LoadBinary)->Apply(formats)->Unit(benchmark::kMillisecond);
BENCHMARK(LoadAndBuild)->Apply(formats)->Unit(benchmark::kMillisecond);
BENCHMARK(Sha256Binary)->Apply(formats)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shype::acm

BENCHMARK_MAIN();
