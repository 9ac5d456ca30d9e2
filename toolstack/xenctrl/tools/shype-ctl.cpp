// shype-ctl: a small Domain-0 command line over libxenctrl (connection.hpp)
// until xm exists. Each command is one or a few library calls and prints
// their result; no policy logic lives here.
//
// Exit status: 0 success, 1 error, 2 usage error, 3 refused by the security
// policy (EACCES / EPERM) or a bounded wait that ran out.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "acm/binary_policy.hpp"
#include "acm/file_io.hpp"
#include "acm/map_file.hpp"
#include "xenctrl/connection.hpp"

namespace {

namespace fs = std::filesystem;
using namespace shype;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: shype-ctl [--root DIR] <command> [arguments]
  list                          every domain: name, id, memory, state, CPU time, label
  create KERNEL [name=NAME] [memory=MIB] [ssidref=0xHEX | label=VMLABEL]
                [cmdline=TEXT] [paused]
                                start KERNEL (a guest kernel ELF) as a new domain;
                                prints its domain id
  destroy DOMAIN                destroy a domain (DOMAIN: a name or a domain id)
  console DOMAIN [--wait TEXT] [--timeout SECONDS]
                                print the domain's console so far; with --wait,
                                first wait (bounded, default 10 s) until it shows TEXT
  input DOMAIN TEXT             send TEXT and a newline to the domain's console input
  wait DOMAIN STATE [--timeout SECONDS]
                                wait (bounded, default 10 s) until the domain is
                                running|blocked|paused|shutdown|crashed|gone
  setpolicy FILE                load a binary policy (acmtool compile output)
  audit [--from SEQ]            print the audit records (JSON lines) from SEQ on
SHYPE_ROOT (default /) or --root locates the hypervisor's socket.
exit status: 0 success, 1 error, 2 usage, 3 refused by the policy or timed out
)";

constexpr int kOk = 0;
constexpr int kError = 1;
constexpr int kUsageError = 2;
constexpr int kRefused = 3;

int usage_error(const std::string& why) {
  std::fprintf(stderr, "shype-ctl: %s\n%s", why.c_str(), kUsage);
  return kUsageError;
}

int fail(const xc::Error& error) {
  std::fprintf(stderr, "shype-ctl: %s\n", error.to_string().c_str());
  return error.code == EACCES || error.code == EPERM ? kRefused : kError;
}

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  T value{};
  if (base == 16) {
    if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
      return std::nullopt;
    text.remove_prefix(2);
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A domain id, or the id of the domain with that name.
xc::Result<abi::domid_t> resolve(xc::Connection& xc, std::string_view which) {
  if (const auto id = parse_number<abi::domid_t>(which)) return *id;
  auto domains = xc.list_domains();
  if (!domains) return tl::unexpected(domains.error());
  for (const xc::DomainInfo& info : *domains) {
    if (info.name == which) return info.domid;
  }
  return xc::make_error(ESRCH, "lookup", "no domain named '" + std::string(which) + "'");
}

// The VM label's ssidref in the hypervisor's active policy.
xc::Result<std::uint32_t> label_ssidref(xc::Connection& xc, std::string_view label) {
  auto binary = xc.get_policy();
  if (!binary) return tl::unexpected(binary.error());
  auto image = acm::read_binary_policy(*binary);
  if (!image) return xc::make_error(EINVAL, "getpolicy", image.error().to_string());
  if (!image->names)
    return xc::make_error(
        EINVAL, "label",
        "the active policy carries no label names (a Xen-format binary); use ssidref=");
  auto ssidref = acm::find_label_ssidref(acm::map_labels(*image), label, 'V');
  if (!ssidref) return xc::make_error(ENOENT, "label", ssidref.error().to_string());
  return *ssidref;
}

std::string label_of(xc::Connection& xc, abi::domid_t domid) {
  auto ssid = xc.get_ssid(abi::kAcmGetByDomid, domid);
  if (!ssid) return "-";
  const std::string label(ssid->label, ::strnlen(ssid->label, sizeof ssid->label));
  return label.empty() ? "-" : label;
}

int list(xc::Connection& xc) {
  auto domains = xc.list_domains();
  if (!domains) return fail(domains.error());
  std::printf("%-24s %5s %6s %5s %6s %9s %8s  %s\n", "Name", "ID", "Mem", "VCPUs", "State",
              "Time(s)", "HostPid", "Label");
  for (const xc::DomainInfo& info : *domains) {
    std::printf("%-24s %5u %6llu %5u %6s %9.1f %8d  %s\n", info.name.c_str(),
                static_cast<unsigned>(info.domid),
                static_cast<unsigned long long>(info.memory_kib / 1024), info.vcpus,
                info.state_string().c_str(), static_cast<double>(info.cpu_time_ns) / 1e9,
                static_cast<int>(info.host_pid), label_of(xc, info.domid).c_str());
  }
  return kOk;
}

int create(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.empty()) return usage_error("create needs a kernel");
  xc::DomainSpec spec;
  spec.kernel = fs::path(std::string(args[0]));
  spec.name = fs::path(std::string(args[0])).filename().string();
  std::optional<std::string> label;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "paused") {
      spec.start_paused = true;
      continue;
    }
    const std::size_t equals = arg.find('=');
    if (equals == std::string_view::npos)
      return usage_error("expected key=value, not '" + std::string(arg) + "'");
    const std::string_view key = arg.substr(0, equals);
    const std::string_view value = arg.substr(equals + 1);
    if (key == "name") {
      spec.name = std::string(value);
    } else if (key == "memory") {
      const auto mib = parse_number<std::uint32_t>(value);
      if (!mib || *mib == 0)
        return usage_error("memory wants MiB, not '" + std::string(value) + "'");
      spec.memory_mib = *mib;
    } else if (key == "ssidref") {
      const auto ssidref = parse_number<std::uint32_t>(value, 16);
      if (!ssidref) return usage_error("ssidref wants 0xHEX, not '" + std::string(value) + "'");
      spec.ssidref = *ssidref;
    } else if (key == "label") {
      label = std::string(value);
    } else if (key == "cmdline") {
      spec.cmdline = std::string(value);
    } else {
      return usage_error("unknown create option '" + std::string(key) + "'");
    }
  }
  if (label) {
    auto ssidref = label_ssidref(xc, *label);
    if (!ssidref) return fail(ssidref.error());
    spec.ssidref = *ssidref;
  }
  auto domid = xc.create_domain(spec);
  if (!domid) return fail(domid.error());
  std::printf("%u\n", static_cast<unsigned>(*domid));
  return kOk;
}

int destroy(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.size() != 1) return usage_error("destroy needs one domain");
  auto domid = resolve(xc, args[0]);
  if (!domid) return fail(domid.error());
  if (auto done = xc.destroy_domain(*domid); !done) return fail(done.error());
  return kOk;
}

std::optional<std::chrono::milliseconds> parse_timeout(std::string_view text) {
  const auto seconds = parse_number<std::uint32_t>(text);
  if (!seconds || *seconds > 3600) return std::nullopt;
  return std::chrono::milliseconds(std::uint64_t{*seconds} * 1000);
}

xc::Result<std::string> whole_console(xc::Connection& xc, abi::domid_t domid) {
  std::string text;
  std::uint64_t offset = 0;
  for (int chunks = 0; chunks < 1024; ++chunks) {
    auto chunk = xc.console_read(domid, offset);
    if (!chunk) return tl::unexpected(chunk.error());
    if (chunk->bytes.empty()) break;
    text += chunk->bytes;
    offset = chunk->next_offset;
  }
  return text;
}

int console(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.empty()) return usage_error("console needs a domain");
  std::optional<std::string> wait_for;
  std::chrono::milliseconds timeout(10'000);
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--wait" && i + 1 < args.size()) {
      wait_for = std::string(args[++i]);
    } else if (args[i] == "--timeout" && i + 1 < args.size()) {
      const auto parsed = parse_timeout(args[++i]);
      if (!parsed) return usage_error("--timeout wants seconds (0..3600)");
      timeout = *parsed;
    } else {
      return usage_error("unknown console option '" + std::string(args[i]) + "'");
    }
  }
  auto domid = resolve(xc, args[0]);
  if (!domid) return fail(domid.error());
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto read = whole_console(xc, *domid);
    if (!read) return fail(read.error());
    const std::string text = std::move(*read);
    const bool found = !wait_for || text.find(*wait_for) != std::string::npos;
    if (found || Clock::now() >= deadline) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      if (found) return kOk;
      std::fprintf(stderr, "shype-ctl: '%s' did not appear on the console within %lld s\n",
                   wait_for->c_str(), static_cast<long long>(timeout.count() / 1000));
      return kRefused;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int input(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.size() != 2) return usage_error("input needs a domain and the text");
  auto domid = resolve(xc, args[0]);
  if (!domid) return fail(domid.error());
  if (auto sent = xc.console_write(*domid, std::string(args[1]) + "\n"); !sent) {
    return fail(sent.error());
  }
  return kOk;
}

int wait_state(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.size() < 2) return usage_error("wait needs a domain and a state");
  const std::string_view wanted = args[1];
  std::chrono::milliseconds timeout(10'000);
  if (args.size() == 4 && args[2] == "--timeout") {
    const auto parsed = parse_timeout(args[3]);
    if (!parsed) return usage_error("--timeout wants seconds (0..3600)");
    timeout = *parsed;
  } else if (args.size() != 2) {
    return usage_error("wait DOMAIN STATE [--timeout SECONDS]");
  }
  if (wanted != "running" && wanted != "blocked" && wanted != "paused" && wanted != "shutdown" &&
      wanted != "crashed" && wanted != "gone") {
    return usage_error("unknown state '" + std::string(wanted) + "'");
  }
  auto domid = resolve(xc, args[0]);
  if (!domid) return fail(domid.error());
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto info = xc.domain_info(*domid);
    bool reached = false;
    if (!info) {
      if (info.error().code != ESRCH) return fail(info.error());
      reached = wanted == "gone";
    } else if (wanted == "running") {
      reached = info->running() || info->blocked();  // alive and not paused
    } else if (wanted == "blocked") {
      reached = info->blocked();
    } else if (wanted == "paused") {
      reached = info->paused();
    } else if (wanted == "shutdown") {
      reached = info->shutdown();
    } else if (wanted == "crashed") {
      reached = info->crashed();
    }
    if (reached) {
      std::printf("domain %u: %s\n", static_cast<unsigned>(*domid), std::string(wanted).c_str());
      return kOk;
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "shype-ctl: domain %u not %s within %lld s\n",
                   static_cast<unsigned>(*domid), std::string(wanted).c_str(),
                   static_cast<long long>(timeout.count() / 1000));
      return kRefused;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int setpolicy(xc::Connection& xc, const std::vector<std::string_view>& args) {
  if (args.size() != 1) return usage_error("setpolicy needs one binary policy file");
  auto bytes = acm::read_file(fs::path(std::string(args[0])));
  if (!bytes) {
    std::fprintf(stderr, "shype-ctl: %s\n", bytes.error().to_string().c_str());
    return kError;
  }
  auto outcome = xc.set_policy(*bytes);
  if (!outcome) return fail(outcome.error());
  auto ssid = xc.get_ssid(abi::kAcmGetByDomid, 0);
  if (ssid) {
    std::printf("policy '%s' %u.%u loaded; Domain-0 is '%s'\n", ssid->policy_name,
                ssid->version_major, ssid->version_minor, ssid->label);
  }
  if (!outcome->message.empty()) std::printf("%s\n", outcome->message.c_str());
  return kOk;
}

int audit(xc::Connection& xc, const std::vector<std::string_view>& args) {
  std::uint64_t from = 1;
  if (args.size() == 2 && args[0] == "--from") {
    const auto seq = parse_number<std::uint64_t>(args[1]);
    if (!seq) return usage_error("--from wants a sequence number");
    from = *seq;
  } else if (!args.empty()) {
    return usage_error("audit [--from SEQ]");
  }
  for (int pages = 0; pages < 100000; ++pages) {
    auto chunk = xc.audit_read(from);
    if (!chunk) return fail(chunk.error());
    for (const std::string& record : chunk->records)
      std::printf("%s\n", record.c_str());
    if (chunk->records.empty() || chunk->next_seq <= from) break;
    from = chunk->next_seq;
  }
  return kOk;
}

int run(int argc, char** argv) {
  // Read once, before anything else runs: no other thread exists.
  const char* env_root = std::getenv("SHYPE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  fs::path root = env_root != nullptr && *env_root != '\0' ? env_root : "/";
  int first = 1;
  if (argc > 2 && std::string_view(argv[1]) == "--root") {
    root = argv[2];
    first = 3;
  }
  if (argc <= first) return usage_error("no command");
  const std::string_view command = argv[first];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return kOk;
  }
  const std::vector<std::string_view> args(argv + first + 1, argv + argc);
  const auto known = {"list",  "create",    "destroy", "console",
                      "input", "setpolicy", "wait",    "audit"};
  if (std::find(known.begin(), known.end(), command) == known.end()) {
    return usage_error("unknown command '" + std::string(command) + "'");
  }
  auto connection = xc::Connection::open(root);
  if (!connection) return fail(connection.error());
  xc::Connection& xc = *connection;
  if (command == "list") return args.empty() ? list(xc) : usage_error("list takes no arguments");
  if (command == "create") return create(xc, args);
  if (command == "destroy") return destroy(xc, args);
  if (command == "console") return console(xc, args);
  if (command == "input") return input(xc, args);
  if (command == "wait") return wait_state(xc, args);
  if (command == "setpolicy") return setpolicy(xc, args);
  return audit(xc, args);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shype-ctl: %s\n", e.what());
    return kError;
  }
}
