// The toolstack's costs (issue: xm create <= 3x the hypervisor's own domain
// create; xm list --label with 500 domains < 100 ms; setpolicy and a
// run-time update with 200 labeled domains running, reported).
//
// Reproduce (default RelWithDebInfo build, as root):
//   cmake -S . -B build -G Ninja && ninja -C build toolstack_bench
//   build/tests/bench/toolstack_bench --domains=500 --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// (--domains=N, default 20 so that the smoke run stays short, is both the
// population `xm list --label` lists and the number of labeled domains
// running during the run-time update.)
//
// One shype-hv and one xend run under a temporary SHYPE_ROOT for the whole
// program; mytest is set through xend first.
//
//  HvCreateToConsole    the baseline: libxenctrl's createdomain of guest_hello
//                       (8 MiB, label A-Bank) straight to the hypervisor, until
//                       the guest's greeting is on its console; then destroy.
//  XendCreateToConsole  the same domain through xend's JSON-RPC domain.create
//                       (config parsing, the label, authorization, Chinese Wall
//                       and disk checks, the record on disk) until the greeting.
//  XmCreateToConsole    the same through the `xm create` program (exec, the
//                       configuration file, RPC) until the greeting.
//  XmListLabel          `xm list --label` (a process run) with --domains
//                       labeled domains running.
//  SetPolicy            `policy.set` of mytest over DEFAULT (each iteration
//                       resets first, untimed).
//  RuntimeUpdate        `policy.set` of mytest_update (1.0 -> 1.1, renames)
//                       with --domains labeled domains running; one run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <regex>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "xm_bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using shype::bench::Clock;
using shype::bench::run;
using shype::rpc::Json;

int g_domains = 20;

std::string read_text(const fs::path& path) { return shype::bench::slurp(path); }

void prepare_root(const fs::path& root) {
  fs::create_directories(root / "boot");
  fs::copy_file(GUEST_HELLO_PATH, root / "boot/vmlinuz-2.6.18.8-xen");
  const fs::path policies = root / "etc/xen/acm-security/policies";
  fs::create_directories(policies);
  for (const char* name : {"mytest-security_policy.xml", "mytest_update-security_policy.xml"}) {
    fs::copy_file(fs::path(SHYPE_SOURCE_DIR) / "policies" / name, policies / name);
  }
  fs::create_directories(root / "root");
}

struct System : shype::bench::XendSystem {
  System() : XendSystem("toolstack", prepare_root) {}

  shype::xc::Connection xc = *shype::xc::Connection::open(hv.root());

  void set_policy(const std::string& name) {
    call("policy.set",
         {{"xml", read_text(hv.root() / "etc/xen/acm-security/policies" /
                            (name + "-security_policy.xml"))},
          {"file", name}});
  }
  // A labeled configuration file under the root; returns its name.
  std::string config(const std::string& name, const std::string& label = "A-Bank") {
    const std::string file = name + ".xm";
    std::ofstream(hv.root() / "root" / file)
        << "kernel = \"/boot/vmlinuz-2.6.18.8-xen\"\nmemory = 8\nname = \"" << name << "\"\n"
        << "access_control = ['policy=mytest,label=" << label << "']\n";
    return file;
  }
  std::string config_text(const std::string& name) {
    return read_text(hv.root() / "root" / config(name));
  }
  // The guest's greeting: on the hypervisor's console for a domain made
  // without devices (HvCreateToConsole), else in its console log (the
  // console daemon writes the console ring there). The greeting names the
  // domain id, so an earlier domain of the same name does not count.
  bool greeted(std::uint16_t domid) {
    if (auto chunk = xc.console_read(domid, 0);
        chunk && chunk->bytes.find("Hello from shype") != std::string::npos) {
      return true;
    }
    auto info = xc.domain_info(domid);
    if (!info) return false;
    const std::string log =
        read_text(hv.root() / "var/log/xen/console" / ("guest-" + info->name + ".log"));
    return log.find("Hello from shype domain " + std::to_string(domid) + " (") !=
           std::string::npos;
  }
  std::uint16_t domid_of(const std::string& name) {
    auto domains = xc.list_domains();
    for (const auto& d : *domains) {
      if (d.name == name) return d.domid;
    }
    throw std::runtime_error("no domain " + name);
  }
  void wait_greeting(std::uint16_t domid) {
    const auto deadline = Clock::now() + 20s;
    while (!greeted(domid)) {
      if (Clock::now() > deadline) throw std::runtime_error("no greeting");
      std::this_thread::sleep_for(100us);
    }
  }
};

// Made on first use, destroyed by main (xend and shype-hv stopped by pid).
std::unique_ptr<System> g_system;

System& sys() {
  if (!g_system) {
    g_system = std::make_unique<System>();
    g_system->set_policy("mytest");
  }
  return *g_system;
}

void HvCreateToConsole(benchmark::State& state) {
  System& s = sys();
  for (auto _ : state) {
    shype::xc::DomainSpec spec;
    spec.name = "hv" + std::to_string(++s.serial);
    spec.kernel = s.hv.root() / "boot/vmlinuz-2.6.18.8-xen";
    spec.memory_mib = 8;
    spec.ssidref = 0x00020002;  // A-Bank in mytest
    const auto start = Clock::now();
    auto domid = s.xc.create_domain(spec);
    if (!domid) throw std::runtime_error(domid.error().to_string());
    s.wait_greeting(*domid);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    (void)s.xc.destroy_domain(*domid);
  }
}
BENCHMARK(HvCreateToConsole)->UseManualTime()->Unit(benchmark::kMillisecond);

void XendCreateToConsole(benchmark::State& state) {
  System& s = sys();
  for (auto _ : state) {
    const std::string name = "rpc" + std::to_string(++s.serial);
    const std::string text = s.config_text(name);
    const auto start = Clock::now();
    const Json started = s.call("domain.create", {{"config", text}, {"file", name + ".xm"}});
    const auto domid = started["domid"].get<std::uint16_t>();
    s.wait_greeting(domid);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    s.call("domain.destroy", {{"domain", name}});
  }
}
BENCHMARK(XendCreateToConsole)->UseManualTime()->Unit(benchmark::kMillisecond);

void XmCreateToConsole(benchmark::State& state) {
  System& s = sys();
  for (auto _ : state) {
    const std::string name = "xm" + std::to_string(++s.serial);
    const std::string file = s.config(name);
    const auto start = Clock::now();
    if (run({XM_PATH, "create", file}, s.hv.root(), s.hv.root() / "root") != 0) {
      throw std::runtime_error("xm create failed");
    }
    s.wait_greeting(s.domid_of(name));
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    s.call("domain.destroy", {{"domain", name}});
  }
}
BENCHMARK(XmCreateToConsole)->UseManualTime()->Unit(benchmark::kMillisecond);

// --domains labeled domains, started once through xend.
void populate() {
  static bool done = false;
  if (done) return;
  System& s = sys();
  for (int i = 0; i < g_domains; ++i) {
    const std::string name = "pop" + std::to_string(i);
    s.call("domain.create", {{"config", s.config_text(name)}, {"file", name + ".xm"}});
  }
  done = true;
}

void XmListLabel(benchmark::State& state) {
  populate();
  System& s = sys();
  for (auto _ : state) {
    if (run({XM_PATH, "list", "--label"}, s.hv.root(), s.hv.root() / "root") != 0) {
      throw std::runtime_error("xm list --label failed");
    }
  }
  state.counters["domains"] = g_domains;
}
BENCHMARK(XmListLabel)->Unit(benchmark::kMillisecond)->UseRealTime();

// The k-th update of the run: mytest_update itself first (1.0 -> 1.1, with
// its renames), then the same policy without `from` attributes as 1.1 ->
// 1.2, 1.2 -> 1.3, ... so that every repetition is a real run-time update.
std::string update_xml(int k) {
  const std::string original =
      read_text(fs::path(SHYPE_SOURCE_DIR) / "policies/mytest_update-security_policy.xml");
  if (k == 0) return original;
  std::string xml = std::regex_replace(original, std::regex(R"( from="[^"]*")"), "");
  xml = std::regex_replace(xml, std::regex("<Version>1\\.1</Version>"),
                           "<Version>1." + std::to_string(k + 1) + "</Version>");
  return std::regex_replace(xml, std::regex("<Version>1\\.0</Version>"),
                            "<Version>1." + std::to_string(k) + "</Version>");
}

void RuntimeUpdate(benchmark::State& state) {
  populate();
  System& s = sys();
  static int updates = 0;
  for (auto _ : state) {
    const std::string xml = update_xml(updates++);
    const auto start = Clock::now();
    s.call("policy.set", {{"xml", xml}, {"file", "mytest_update"}});
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
  state.counters["domains"] = g_domains;
}
BENCHMARK(RuntimeUpdate)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

void SetPolicy(benchmark::State& state) {
  System& s = sys();
  // Runs last: the labeled domains go, so that DEFAULT can come back (once:
  // the library may call this function more than once).
  static bool emptied = false;
  for (int i = 0; !emptied && i < g_domains; ++i) {
    s.call("domain.destroy", {{"domain", "pop" + std::to_string(i)}});
  }
  emptied = true;
  for (auto _ : state) {
    state.PauseTiming();
    s.call("policy.reset");
    state.ResumeTiming();
    s.set_policy("mytest");
  }
}
BENCHMARK(SetPolicy)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// --domains=N, removed from argv before Google Benchmark sees it.
int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--domains=", 0) == 0) {
      g_domains = std::stoi(arg.substr(10));
    } else {
      args.push_back(argv[i]);
    }
  }
  return shype::bench::run_benchmarks("toolstack_bench", std::move(args), [] { g_system.reset(); });
}
