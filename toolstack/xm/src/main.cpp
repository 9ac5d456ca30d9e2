// xm: the console tool of manual chapters 3, 4, 8 and 10. A thin view over
// xend (JSON-RPC on SHYPE_ROOT/run/xend/xend.sock): every command parses
// its arguments, asks xend, and prints the manual's layout (xm/format.hpp)
// or, with --json, xend's answer. Errors go to stderr as "Error: ..." and
// exit with status 1.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acm/file_io.hpp"
#include "acm/policy_model.hpp"
#include "resources/root_fs.hpp"
#include "rpc/base64.hpp"
#include "rpc/json_rpc.hpp"
#include "xm/format.hpp"
#include "xmconfig/config_file.hpp"
#include "xmconfig/label_editing.hpp"

namespace {

namespace fs = std::filesystem;
using shype::rpc::Json;
using Args = std::vector<std::string>;

// An error xm prints as "Error: <message>" (and the usage if asked).
struct Failure {
  std::string message;
  bool show_usage = false;
};

struct Context {
  fs::path root;
  shype::resources::RootFs rootfs;
  std::optional<shype::rpc::Client> client;
  bool json = false;

  Json call(const std::string& method, Json params = Json::object()) {
    if (!client) {
      auto connected = shype::rpc::Client::connect(root / "run/xend/xend.sock",
                                                   std::chrono::seconds(120));
      if (!connected) throw Failure{connected.error().message};
      client = std::move(*connected);
    }
    auto result = client->call(method, std::move(params));
    if (!result) {
      std::string message = result.error().message;
      const Json& data = result.error().data;
      if (data.is_object()) {
        for (const auto& line : data.value("details", Json::array())) {
          message += "\n  " + line.get<std::string>();
        }
      }
      throw Failure{message};
    }
    return *result;
  }

  // The working directory in the root's namespace ("/" when outside it).
  std::string cwd() const {
    auto inside = rootfs.from_host_path(fs::current_path());
    return inside ? *inside : std::string("/");
  }
};

struct Command {
  const char* name;
  const char* args;
  const char* help;
  int (*run)(Context&, const Args&);
  bool common = true;  // shown by `xm help` without --long
};

void print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void print_json(const Json& value) { print(value.dump(2) + "\n"); }

std::string read_file_or_fail(const fs::path& path, const std::string& shown) {
  auto text = shype::acm::read_text_file(path);
  if (!text) throw Failure{"Configuration file '" + shown + "' not found."};
  return *text;
}

// A domain configuration file as xm found it (reference 1.3 step 1): an
// absolute path is inside SHYPE_ROOT; a relative one is tried in the
// working directory, then in /etc/xen under the root.
struct FoundFile {
  fs::path host;
  std::string shown;
};

std::optional<FoundFile> find_config(const Context& ctx, const std::string& name) {
  if (!name.empty() && name.front() == '/') {
    const fs::path host = ctx.rootfs.host_path(name);
    if (fs::exists(host)) return FoundFile{host, name};
    if (fs::exists(name) && ctx.root == "/") return FoundFile{name, name};
    return std::nullopt;
  }
  if (fs::exists(name)) {
    return FoundFile{fs::absolute(name),
                     name.find('/') == std::string::npos ? "./" + name : name};
  }
  const fs::path in_etc = ctx.root / "etc/xen" / name;
  if (fs::exists(in_etc)) return FoundFile{in_etc, "/etc/xen/" + name};
  return std::nullopt;
}

std::string active_policy(Context& ctx) {
  return ctx.call("policy.get").value("name", std::string());
}

bool take_flag(Args& args, std::initializer_list<const char*> names) {
  bool found = false;
  for (auto it = args.begin(); it != args.end();) {
    if (std::find_if(names.begin(), names.end(), [&](const char* n) { return *it == n; }) !=
        names.end()) {
      it = args.erase(it);
      found = true;
    } else {
      ++it;
    }
  }
  return found;
}

std::optional<std::string> take_option(Args& args, std::initializer_list<const char*> names) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    for (const char* n : names) {
      if (*it == n) {
        if (std::next(it) == args.end()) throw Failure{std::string("option ") + n + " needs a value", true};
        std::string value = *std::next(it);
        args.erase(it, it + 2);
        return value;
      }
      const std::string prefix = std::string(n) + "=";
      if (it->rfind(prefix, 0) == 0 && n[1] == '-') {
        std::string value = it->substr(prefix.size());
        args.erase(it);
        return value;
      }
    }
  }
  return std::nullopt;
}

void need(const Args& args, std::size_t min, std::size_t max, const char* what) {
  if (args.size() < min || args.size() > max) throw Failure{what, true};
}

// --- domains -------------------------------------------------------------

int cmd_list(Context& ctx, const Args& in) {
  Args args = in;
  const bool label = take_flag(args, {"--label"});
  const bool longform = take_flag(args, {"-l", "--long"});
  Json result = ctx.call("domain.list", {{"long", longform}});
  if (!args.empty()) {
    Json kept = Json::array();
    for (const auto& d : result["domains"]) {
      for (const auto& wanted : args) {
        if (d.value("name", std::string()) == wanted ||
            std::to_string(d.value("domid", -1)) == wanted) {
          kept.push_back(d);
        }
      }
    }
    if (kept.empty()) throw Failure{"Domain '" + args.front() + "' does not exist."};
    result["domains"] = kept;
  }
  if (ctx.json || longform) {
    print_json(result);
  } else {
    print(shype::xm::format_list(result, label));
  }
  return 0;
}

// ---- the console socket (docs/xm.md "Console") ---------------------------------

// The terminal as it was before `xm console` made it raw. Restored on every
// way out: normal return, exception (RawTerminal's destructor) and the
// signals that end xm (the handler, which only calls tcsetattr: it is
// async-signal-safe).
termios g_saved_terminal{};
volatile std::sig_atomic_t g_terminal_raw = 0;

void restore_terminal() {
  if (g_terminal_raw != 0) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
    g_terminal_raw = 0;
  }
}

extern "C" void restore_terminal_and_die(int signal_number) {
  restore_terminal();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

constexpr int kTerminatingSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Raw mode on a terminal stdin for the life of the object: every byte goes
// to the guest as typed (Ctrl-C included), output keeps its newlines.
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &g_saved_terminal) != 0) return;
    for (const int s : kTerminatingSignals) std::signal(s, restore_terminal_and_die);
    termios raw = g_saved_terminal;
    ::cfmakeraw(&raw);
    raw.c_oflag |= OPOST;
    g_terminal_raw = 1;
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) g_terminal_raw = 0;
    active_ = true;
  }
  ~RawTerminal() {
    if (!active_) return;
    restore_terminal();
    for (const int s : kTerminatingSignals) std::signal(s, SIG_DFL);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  bool active_ = false;
};

// Ignores SIGPIPE while it lives (a reader of xm's output going away must
// end the relay through write's EPIPE, with the terminal restored).
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() : old_(std::signal(SIGPIPE, SIG_IGN)) {}
  ~IgnoreSigpipe() { std::signal(SIGPIPE, old_ == SIG_ERR ? SIG_DFL : old_); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  void (*old_)(int);
};

bool write_all(int fd, const char* data, std::size_t length) {
  while (length > 0) {
    const ssize_t n = ::write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    length -= static_cast<std::size_t>(n);
  }
  return true;
}

// After stdin ends (piped input), output is still relayed until the guest
// has been quiet this long, or at most kConsoleDrainMax.
constexpr auto kConsoleDrainQuiet = std::chrono::milliseconds(1000);
constexpr auto kConsoleDrainMax = std::chrono::seconds(10);
constexpr auto kConsoleDetachMax = std::chrono::seconds(2);  // to send what was typed before
constexpr std::size_t kConsoleInputMax = 4096;  // read from stdin ahead of the socket

// Relays between the terminal (or pipes) and the domain's console socket:
// the socket's bytes to stdout, stdin's bytes to the socket, until the
// socket closes (the domain is gone or saved), Ctrl-] (0x1d) is typed, or
// stdin ends and the output has drained.
int relay_console(const std::string& domain, const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    throw Failure{"the console socket path '" + socket_path + "' is too long for a Unix socket"};
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Failure{std::string("cannot create a socket: ") + std::strerror(errno)};
  // SAFETY: sockaddr_un is a sockaddr for connect, as the socket API requires.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd);
    throw Failure{"cannot connect to the console of domain '" + domain + "' at '" + socket_path +
                  "': " + std::strerror(error)};
  }
  IgnoreSigpipe no_sigpipe;
  RawTerminal terminal;
  using Clock = std::chrono::steady_clock;
  std::string to_guest;
  bool stdin_open = true;
  bool detach = false;
  Clock::time_point stdin_closed{};
  Clock::time_point last_output = Clock::now();
  int status = 0;
  for (;;) {
    if (!stdin_open) {
      // Input is over: what was typed goes out first, then (after end of
      // input, not after a detach) the output drains. Both bounded.
      const auto now = Clock::now();
      if (now >= stdin_closed + (detach ? kConsoleDetachMax : kConsoleDrainMax)) break;
      if (to_guest.empty() &&
          (detach || now >= std::max(stdin_closed, last_output) + kConsoleDrainQuiet)) {
        break;
      }
    }
    pollfd fds[2] = {{fd, static_cast<short>(POLLIN | (to_guest.empty() ? 0 : POLLOUT)), 0},
                     {STDIN_FILENO, POLLIN, 0}};
    const nfds_t count = stdin_open && to_guest.size() < kConsoleInputMax ? 2 : 1;
    const int timeout = stdin_open ? -1 : 100;
    if (::poll(fds, count, timeout) < 0) {
      if (errno == EINTR) continue;
      status = 1;
      break;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) break;  // the console closed: the domain is gone
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      if (n > 0) {
        if (!write_all(STDOUT_FILENO, buffer, static_cast<std::size_t>(n))) break;
        last_output = Clock::now();
      }
    }
    if ((fds[0].revents & POLLOUT) != 0 && !to_guest.empty()) {
      const ssize_t n = ::send(fd, to_guest.data(), to_guest.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
      if (n > 0) to_guest.erase(0, static_cast<std::size_t>(n));
    }
    if (count == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0) {
      char input[512];
      const ssize_t n = ::read(STDIN_FILENO, input, sizeof input);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stdin_open = false;
        stdin_closed = Clock::now();
        continue;
      }
      std::string_view text(input, static_cast<std::size_t>(n));
      const auto escape = text.find('\x1d');  // Ctrl-]
      if (escape != std::string_view::npos) {
        to_guest.append(text.substr(0, escape));
        stdin_open = false;
        detach = true;
        stdin_closed = Clock::now();
      } else {
        to_guest.append(text);
      }
    }
  }
  ::close(fd);
  return status;
}

// The hypervisor's console of a domain without a console socket (started
// without the device host): polled through xend until the domain stops or
// the user detaches (Ctrl-]).
int poll_console(Context& ctx, const std::string& domain) {
  std::uint64_t offset = 0;
  RawTerminal terminal;
  bool stdin_open = true;
  try {
    for (;;) {
      Json chunk = ctx.call("domain.console_read", {{"domain", domain}, {"offset", offset}});
      auto bytes = shype::rpc::base64_decode(chunk.value("data", std::string()));
      if (bytes && !bytes->empty()) {
        std::fwrite(bytes->data(), 1, bytes->size(), stdout);
        std::fflush(stdout);
      }
      offset = chunk.value("next", offset);
      const std::string state = chunk.value("state", std::string());
      if (state.find('s') != std::string::npos || state.find('c') != std::string::npos) break;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (stdin_open && ::poll(&p, 1, 50) > 0) {
        char input[512];
        const ssize_t got = ::read(STDIN_FILENO, input, sizeof input);
        if (got <= 0) {
          stdin_open = false;
          continue;
        }
        std::string text(input, static_cast<std::size_t>(got));
        const auto detach = text.find('\x1d');  // Ctrl-]
        if (detach != std::string::npos) text.resize(detach);
        if (!text.empty()) {
          ctx.call("domain.console_write",
                   {{"domain", domain}, {"data", shype::rpc::base64_encode(text)}});
        }
        if (detach != std::string::npos) break;
      } else if (!stdin_open) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  } catch (const Failure& f) {
    if (f.message.find("does not exist") != std::string::npos) return 0;  // the domain ended
    throw;
  }
  return 0;
}

// Attaches to a domain's console: its console socket when the device host
// serves it, else the hypervisor's console (polled through xend).
int attach_console(Context& ctx, const std::string& domain) {
  Json where = ctx.call("domain.console_path", {{"domain", domain}});
  if (where.contains("socket") && where["socket"].is_string()) {
    return relay_console(domain, where["socket"].get<std::string>());
  }
  ctx.call("domain.console_read", {{"domain", domain}, {"offset", 0}});
  return poll_console(ctx, domain);
}

Json config_params(Context& ctx, Args& args, const char* what) {
  if (args.empty()) throw Failure{std::string(what) + " needs a configuration file", true};
  const std::string name = args.front();
  args.erase(args.begin());
  const auto found = find_config(ctx, name);
  if (!found) throw Failure{"Configuration file '" + name + "' not found."};
  Json overrides = Json::array();
  for (const auto& a : args) {
    if (a.find('=') == std::string::npos) throw Failure{"Unexpected argument '" + a + "'", true};
    overrides.push_back(a);
  }
  return Json{{"config", read_file_or_fail(found->host, name)},
              {"file", found->shown},
              {"overrides", overrides},
              {"cwd", ctx.cwd()}};
}

int cmd_create(Context& ctx, const Args& in) {
  Args args = in;
  const bool console = take_flag(args, {"-c"});
  const bool paused = take_flag(args, {"-p", "--paused"});
  Json params = config_params(ctx, args, "create");
  std::printf("Using config file \"%s\".\n", params["file"].get<std::string>().c_str());
  std::fflush(stdout);
  params["paused"] = paused;
  Json started = ctx.call("domain.create", params);
  std::printf("Started domain %s\n", started.value("name", std::string()).c_str());
  std::fflush(stdout);
  if (console) return attach_console(ctx, started.value("name", std::string()));
  return 0;
}

int cmd_new(Context& ctx, const Args& in) {
  Args args = in;
  Json params = config_params(ctx, args, "new");
  ctx.call("domain.new", params);
  return 0;
}

int cmd_start(Context& ctx, const Args& in) {
  Args args = in;
  const bool paused = take_flag(args, {"-p", "--paused"});
  need(args, 1, 1, "start needs a domain name");
  ctx.call("domain.start", {{"domain", args[0]}, {"paused", paused}});
  return 0;
}

int cmd_delete(Context& ctx, const Args& args) {
  need(args, 1, 1, "delete needs a domain name");
  ctx.call("domain.delete", {{"domain", args[0]}});
  return 0;
}

bool domain_exists(Context& ctx, const std::string& name) {
  Json list = ctx.call("domain.list");
  for (const auto& d : list["domains"]) {
    if (d.value("domid", -1) >= 0 &&
        (d.value("name", std::string()) == name || std::to_string(d.value("domid", -1)) == name)) {
      return true;
    }
  }
  return false;
}

int cmd_shutdown(Context& ctx, const Args& in) {
  Args args = in;
  const bool wait = take_flag(args, {"-w", "--wait"});
  const bool reboot = take_flag(args, {"-R", "--reboot"});
  (void)take_flag(args, {"-H", "--halt"});
  need(args, 1, 1, "shutdown needs a domain name");
  ctx.call("domain.shutdown", {{"domain", args[0]}, {"reason", reboot ? "reboot" : "poweroff"}});
  if (wait && !reboot) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (domain_exists(ctx, args[0])) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw Failure{"Domain '" + args[0] + "' did not shut down within 60 s"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return 0;
}

int cmd_destroy(Context& ctx, const Args& args) {
  need(args, 1, 1, "destroy needs a domain name");
  ctx.call("domain.destroy", {{"domain", args[0]}});
  return 0;
}

int cmd_pause(Context& ctx, const Args& args) {
  need(args, 1, 1, "pause needs a domain name");
  ctx.call("domain.pause", {{"domain", args[0]}});
  return 0;
}

int cmd_unpause(Context& ctx, const Args& args) {
  need(args, 1, 1, "unpause needs a domain name");
  ctx.call("domain.unpause", {{"domain", args[0]}});
  return 0;
}

int cmd_uptime(Context& ctx, const Args& args) {
  Json result = ctx.call("domain.uptime", {{"domains", args}});
  if (ctx.json) {
    print_json(result);
  } else {
    print(shype::xm::format_uptime(result, static_cast<long long>(std::time(nullptr))));
  }
  return 0;
}

int cmd_console(Context& ctx, const Args& args) {
  need(args, 1, 1, "console needs a domain name");
  return attach_console(ctx, args[0]);
}

int cmd_save(Context& ctx, const Args& args) {
  need(args, 2, 2, "save needs a domain and a file");
  ctx.call("domain.save", {{"domain", args[0]}, {"file", args[1]}, {"cwd", ctx.cwd()}});
  return 0;
}

int cmd_restore(Context& ctx, const Args& in) {
  Args args = in;
  const bool paused = take_flag(args, {"-p", "--paused"});
  need(args, 1, 1, "restore needs a file");
  ctx.call("domain.restore", {{"file", args[0]}, {"cwd", ctx.cwd()}, {"paused", paused}});
  return 0;
}

int cmd_sched_credit(Context& ctx, const Args& in) {
  Args args = in;
  const auto domain = take_option(args, {"-d", "--domain"});
  const auto weight = take_option(args, {"-w", "--weight"});
  const auto cap = take_option(args, {"-c", "--cap"});
  if (!args.empty()) throw Failure{"Unexpected argument '" + args[0] + "'", true};
  Json params = Json::object();
  if (domain) params["domain"] = *domain;
  try {
    if (weight) params["weight"] = std::stoul(*weight);
    if (cap) params["cap"] = std::stoul(*cap);
  } catch (const std::exception&) {
    throw Failure{"weight and cap must be numbers", true};
  }
  Json result = ctx.call("domain.sched_credit", params);
  if (weight || cap) return 0;
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  std::printf("%-32s %5s %6s %4s\n", "Name", "ID", "Weight", "Cap");
  for (const auto& d : result["domains"]) {
    std::printf("%-32s %5d %6u %4u\n", d.value("name", std::string()).c_str(), d.value("domid", 0),
                d.value("weight", 256u), d.value("cap", 0u));
  }
  return 0;
}

int cmd_vcpu_pin(Context& ctx, const Args& args) {
  need(args, 3, 3, "vcpu-pin needs a domain, a vcpu (or all) and a CPU list");
  ctx.call("domain.vcpu_pin", {{"domain", args[0]}, {"vcpu", args[1]}, {"cpus", args[2]}});
  return 0;
}

int cmd_vcpu_list(Context& ctx, const Args& args) {
  Json result = ctx.call("domain.vcpu_list", {{"domains", args}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  std::printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
              "CPU Affinity");
  for (const auto& v : result["vcpus"]) {
    std::printf("%-32s %5d %5d %5s %5s %9.1f %s\n", v.value("name", std::string()).c_str(),
                v.value("domid", 0), v.value("vcpu", 0), v.value("cpu", std::string("-")).c_str(),
                v.value("state", std::string("-")).c_str(), v.value("cpu_time", 0.0),
                v.value("affinity", std::string("any cpu")).c_str());
  }
  return 0;
}

int cmd_dry_run(Context& ctx, const Args& in) {
  Args args = in;
  Json params = config_params(ctx, args, "dry-run");
  Json report = ctx.call("domain.dry_run", params);
  if (ctx.json) {
    print_json(report);
  } else {
    print(shype::xm::format_dry_run(report));
  }
  return report.value("passed", false) ? 0 : 1;
}

int cmd_audit(Context& ctx, const Args& in) {
  Args args = in;
  const auto from = take_option(args, {"--from"});
  Json result = ctx.call("audit.read", {{"from", from ? std::stoull(*from) : 1ULL}});
  if (ctx.json) {
    print_json(result);
  } else {
    print(shype::xm::format_audit(result));
  }
  return 0;
}

// --- policies ------------------------------------------------------------

int cmd_getpolicy(Context& ctx, const Args& in) {
  Args args = in;
  const bool dumpxml = take_flag(args, {"--dumpxml"});
  if (!args.empty()) throw Failure{"Unexpected argument '" + args[0] + "'", true};
  Json policy = ctx.call("policy.get", {{"xml", dumpxml}});
  if (ctx.json) {
    print_json(policy);
    return 0;
  }
  print(shype::xm::format_policy(policy));
  if (dumpxml) print("\n" + policy.value("xml", std::string()));
  return 0;
}

int cmd_setpolicy(Context& ctx, const Args& args) {
  if (args.size() < 2) throw Failure{"Need at least 3 arguments.", true};
  std::string type = args[0];
  std::transform(type.begin(), type.end(), type.begin(), ::toupper);
  if (type != "ACM") throw Failure{"Unsupported policytype '" + args[0] + "'."};
  const std::string relative = shype::acm::policy_file_path(args[1]);
  std::optional<std::string> xml;
  std::string file;
  // Errors name the file as the user knows it: relative to the working
  // directory, or in the root's policy directory.
  const std::pair<fs::path, std::string> candidates[] = {
      {fs::path(relative), relative},
      {ctx.root / "etc/xen/acm-security/policies" / relative,
       "/etc/xen/acm-security/policies/" + relative}};
  for (const auto& [candidate, shown] : candidates) {
    if (auto text = shype::acm::read_text_file(candidate)) {
      xml = std::move(*text);
      file = shown;
      break;
    }
  }
  if (!xml) {
    throw Failure{"Could not read policy file from current directory or "
                  "'/etc/xen/acm-security/policies'."};
  }
  Json result;
  try {
    result = ctx.call("policy.set", {{"type", "ACM"}, {"xml", *xml}, {"file", file}});
  } catch (const Failure& f) {
    // "<XSERR text>." then one indented line per reason (reference 1.7).
    const auto newline = f.message.find('\n');
    const std::string head = f.message.substr(0, newline);
    const std::string rest = newline == std::string::npos ? "" : f.message.substr(newline);
    throw Failure{"An error occurred trying to set the policy: " + head +
                  (head.empty() || head.back() == '.' ? "" : ".") + rest};
  }
  std::printf("Successfully set the new policy.\n");
  print(shype::xm::format_policy(result["policy"]));
  for (const auto& w : result.value("warnings", Json::array())) {
    std::fprintf(stderr, "Warning: %s\n", w.get<std::string>().c_str());
  }
  return 0;
}

int cmd_resetpolicy(Context& ctx, const Args& args) {
  if (!args.empty()) throw Failure{"No arguments expected.", true};
  Json result = ctx.call("policy.reset");
  std::printf("Successfully reset the system's policy.\n");
  if (result.contains("note")) std::printf("%s\n", result["note"].get<std::string>().c_str());
  return 0;
}

int cmd_dumppolicy(Context& ctx, const Args& args) {
  if (!args.empty()) throw Failure{"No arguments required", true};
  Json result = ctx.call("policy.dump");
  if (ctx.json) {
    print_json(result);
  } else {
    print(result.value("text", std::string()));
  }
  return 0;
}

int cmd_makepolicy(Context& ctx, const Args& args) {
  if (args.size() != 1) throw Failure{"No XML policy file specified", true};
  Json result = ctx.call("policy.make", {{"policy", args[0]}});
  std::printf("Policy '%s' compiled: /%s, /%s\n", args[0].c_str(),
              result.value("binary", std::string()).c_str(),
              result.value("map", std::string()).c_str());
  return 0;
}

int cmd_loadpolicy(Context& ctx, const Args& args) {
  if (args.size() != 1) throw Failure{"No policy specified", true};
  ctx.call("policy.load", {{"policy", args[0]}});
  return 0;
}

int cmd_cfgbootpolicy(Context& ctx, const Args& args) {
  if (args.empty() || args.size() > 2) throw Failure{"No policy specified", true};
  Json result = ctx.call("policy.cfgboot", {{"policy", args[0]}});
  std::printf("Boot entry '%s' extended and '%s' copied to /boot\n",
              result.value("title", std::string()).c_str(),
              result.value("binary", std::string()).c_str());
  return 0;
}

// --- labels --------------------------------------------------------------

int cmd_labels(Context& ctx, const Args& args) {
  std::string policy;
  std::string type;
  for (const auto& a : args) {
    if (a.rfind("type=", 0) == 0) {
      if (!type.empty()) throw Failure{"type is defined twice", true};
      type = a.substr(5);
      std::transform(type.begin(), type.end(), type.begin(), ::tolower);
    } else if (a.find('=') != std::string::npos) {
      throw Failure{"Unrecognised option: " + a, true};
    } else {
      if (!policy.empty()) throw Failure{"policy is defined twice", true};
      policy = a;
    }
  }
  Json result = ctx.call("policy.labels", {{"policy", policy}, {"type", type.empty() ? "dom" : type}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  for (const auto& l : result["labels"]) std::printf("%s\n", l.get<std::string>().c_str());
  return 0;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  return text;
}

int cmd_addlabel(Context& ctx, const Args& args) {
  if (args.size() < 3 || args.size() > 4) throw Failure{"Needs either 2 or 3 arguments", true};
  const std::string& label = args[0];
  const std::string kind = lower(args[1]);
  const std::string& object = args[2];
  const std::string policy = args.size() == 4 ? args[3] : std::string();
  if (kind == "dom") {
    const std::string name = policy.empty() ? active_policy(ctx) : policy;
    const auto found = find_config(ctx, object);
    ctx.call("label.check", {{"label", label}, {"policy", name}, {"type", "dom"}});
    if (!found) throw Failure{"Configuration file '" + object + "' not found."};
    const std::string text = read_file_or_fail(found->host, object);
    if (auto sane = shype::xmconfig::check_config_sanity(text, found->shown); !sane) {
      std::printf("Invalid configuration file.\n");
      throw Failure{"Invalid config file"};
    }
    if (shype::xmconfig::is_labeled(text)) {
      throw Failure{"Config file '" + object + "' is already labeled."};
    }
    auto labeled = shype::xmconfig::add_label_line(text, name, label);
    if (!labeled) throw Failure{labeled.error().message};
    if (auto w = shype::acm::write_file_atomic(found->host, *labeled, 0644); !w) {
      throw Failure{w.error().to_string()};
    }
    return 0;
  }
  if (kind == "res") {
    ctx.call("resource.label",
             {{"resource", object}, {"label", label}, {"policy", policy}, {"cwd", ctx.cwd()}});
    return 0;
  }
  if (kind == "mgt") {
    Json result = ctx.call("domain.set_label", {{"domain", object}, {"label", label}, {"policy", policy}});
    if (result.value("running", false)) {
      std::printf("Successfully set the label of domain '%s' to '%s'.\n\n", object.c_str(),
                  label.c_str());
    } else {
      std::printf("Successfully set the label of the dormant domain '%s' to '%s'.\n",
                  object.c_str(), label.c_str());
    }
    return 0;
  }
  throw Failure{"Need to specify either \"dom\", \"mgt\" or \"res\" as object to add label to.",
                true};
}

int cmd_rmlabel(Context& ctx, const Args& args) {
  if (args.size() != 2) throw Failure{"Requires 2 arguments", true};
  const std::string kind = lower(args[0]);
  const std::string& object = args[1];
  if (kind == "dom") {
    const auto found = find_config(ctx, object);
    if (!found) throw Failure{"Configuration file '" + object + "' not found."};
    const std::string text = read_file_or_fail(found->host, object);
    auto unlabeled = shype::xmconfig::comment_out_label(text);
    if (!unlabeled) throw Failure{"'" + unlabeled.error().message + "'"};
    if (auto w = shype::acm::write_file_atomic(found->host, *unlabeled, 0644); !w) {
      throw Failure{w.error().to_string()};
    }
    return 0;
  }
  if (kind == "res") {
    ctx.call("resource.unlabel", {{"resource", object}, {"cwd", ctx.cwd()}});
    return 0;
  }
  if (kind == "mgt") {
    ctx.call("domain.remove_label", {{"domain", object}});
    std::printf("Successfully removed label from domain %s.\n", object.c_str());
    return 0;
  }
  throw Failure{"Unrecognised type argument: " + args[0], true};
}

int cmd_getlabel(Context& ctx, const Args& args) {
  if (args.size() != 2) throw Failure{"Requires 2 arguments", true};
  const std::string kind = lower(args[0]);
  const std::string& object = args[1];
  if (kind == "dom") {
    const auto found = find_config(ctx, object);
    if (!found) throw Failure{"Configuration file '" + object + "' not found."};
    auto label = shype::xmconfig::get_label(read_file_or_fail(found->host, object));
    if (!label) throw Failure{"'" + label.error().message + "'"};
    std::printf("%s\n", label->c_str());
    return 0;
  }
  if (kind == "res") {
    Json result = ctx.call("resource.get", {{"resource", object}, {"cwd", ctx.cwd()}});
    if (ctx.json) {
      print_json(result);
    } else {
      std::printf("%s\n", result.value("label", std::string()).c_str());
    }
    return 0;
  }
  if (kind == "mgt") {
    Json result = ctx.call("domain.get_label", {{"domain", object}});
    std::printf("%s\n", result.value("label", std::string()).c_str());
    return 0;
  }
  throw Failure{"First subcommand argument must be \"dom\", \"mgt\" or \"res\"", true};
}

int cmd_resources(Context& ctx, const Args& args) {
  if (!args.empty()) throw Failure{"No arguments required", true};
  Json result = ctx.call("resource.list");
  if (ctx.json) {
    print_json(result);
  } else {
    print(shype::xm::format_resources(result));
  }
  return 0;
}

// ---- block devices (docs/devices-block.md) ----------------------------------

// xm block-list <Domain>: Xen's columns.
int cmd_block_list(Context& ctx, const Args& args) {
  need(args, 1, 1, "block-list needs a domain");
  Json result = ctx.call("block.list", {{"domain", args[0]}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  std::printf("%-5s %-3s %-6s %-5s %-6s %-8s %s\n", "Vdev", "BE", "handle", "state", "evt-ch",
              "ring-ref", "BE-path");
  for (const auto& d : result.value("devices", Json::array())) {
    std::printf("%-5u %-3u %-6u %-5u %-6lld %-8lld %s\n", d.value("devid", 0u),
                d.value("backend", 0u), 0u, d.value("backend_state", 0u),
                d.value("event_channel", -1LL), d.value("ring_ref", -1LL),
                d.value("backend_path", std::string()).c_str());
  }
  return 0;
}

// xm block-attach <Domain> <BackDev> <FrontDev> <Mode> [BackDomain]
int cmd_block_attach(Context& ctx, const Args& args) {
  need(args, 4, 5, "block-attach needs a domain, a resource, a virtual device and a mode");
  Json params = {{"domain", args[0]}, {"uname", args[1]}, {"vdev", args[2]},
                 {"mode", args[3]},   {"cwd", ctx.cwd()}};
  if (args.size() == 5) params["backend"] = args[4];
  ctx.call("block.attach", params);
  return 0;
}

// xm block-detach <Domain> <DevId|vdev>
int cmd_block_detach(Context& ctx, const Args& in) {
  Args args = in;
  const bool force = take_flag(args, {"-f", "--force"});
  need(args, 2, 2, "block-detach needs a domain and a device");
  ctx.call("block.detach", {{"domain", args[0]}, {"device", args[1]}, {"force", force}});
  return 0;
}

// ---- network interfaces (docs/devices-net.md) -------------------------------

// xm network-list <Domain>: Xen's columns, then the bridge and the frame
// counters (TX/RX: frames from / delivered to the guest; Denied: frames the
// label policy kept from another domain; Dropped: frames for the guest that
// found no rx buffer; Errors: tx requests refused as malformed).
int cmd_network_list(Context& ctx, const Args& args) {
  need(args, 1, 1, "network-list needs a domain");
  Json result = ctx.call("network.list", {{"domain", args[0]}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  std::printf("%-3s %-3s %-17s %-6s %-5s %-6s %-15s %-40s %-8s %-8s %-8s %-6s %-7s %s\n", "Idx",
              "BE", "MAC Addr.", "handle", "state", "evt-ch", "tx-/rx-ring-ref", "BE-path",
              "Bridge", "TX", "RX", "Denied", "Dropped", "Errors");
  for (const auto& v : result.value("devices", Json::array())) {
    const std::string rings = std::to_string(v.value("tx_ring_ref", -1LL)) + "/" +
                              std::to_string(v.value("rx_ring_ref", -1LL));
    std::printf("%-3u %-3u %-17s %-6u %-5u %-6lld %-15s %-40s %-8s %-8llu %-8llu %-8llu %-6llu %-7llu\n",
                v.value("devid", 0u), v.value("backend", 0u),
                v.value("mac", std::string()).c_str(), v.value("devid", 0u),
                v.value("backend_state", 0u), v.value("event_channel", -1LL), rings.c_str(),
                v.value("backend_path", std::string()).c_str(),
                v.value("bridge", std::string()).c_str(), v.value("tx_frames", 0ULL),
                v.value("rx_frames", 0ULL), v.value("denied_frames", 0ULL),
                v.value("dropped_frames", 0ULL), v.value("errors", 0ULL));
  }
  return 0;
}

// ---- vTPMs (docs/vtpm.md) ----------------------------------------------------

// xm vtpm-list <Domain>: the domain's vTPM instance as vtpm_managerd has it
// (Xen's Idx and BE columns, then the instance, its state, the domain it is
// attached to, its label and Domain-0's TCTI to it).
int cmd_vtpm_list(Context& ctx, const Args& args) {
  need(args, 1, 1, "vtpm-list needs a domain");
  Json result = ctx.call("vtpm.list", {{"domain", args[0]}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  std::printf("%-3s %-3s %-8s %-8s %-6s %-28s %s\n", "Idx", "BE", "Instance", "State", "Domid",
              "Label", "TCTI");
  for (const auto& v : result.value("devices", Json::array())) {
    const std::string domid = v.contains("domid") && v["domid"].is_number()
                                  ? std::to_string(v["domid"].get<long long>())
                                  : "-";
    const std::string label = v.value("label", std::string());
    std::printf("%-3u %-3u %-8u %-8s %-6s %-28s %s\n", v.value("idx", 0u), v.value("backend", 0u),
                v.value("instance", 0u), v.value("status", std::string()).c_str(), domid.c_str(),
                label.empty() ? "-" : label.c_str(), v.value("tcti", std::string()).c_str());
  }
  return 0;
}

// xm network-attach <Domain> [mac=<mac>] [bridge=<bridge>] [backend=<BackDomain>]
int cmd_network_attach(Context& ctx, const Args& args) {
  need(args, 1, 4, "network-attach needs a domain");
  Json params = {{"domain", args[0]}};
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    const std::string key = eq == std::string::npos ? args[i] : args[i].substr(0, eq);
    if (eq == std::string::npos || (key != "mac" && key != "bridge" && key != "backend")) {
      throw Failure{"Unexpected argument '" + args[i] + "' (expected mac=, bridge= or backend=)",
                    true};
    }
    params[key] = args[i].substr(eq + 1);
  }
  Json result = ctx.call("network.attach", params);
  if (ctx.json) print_json(result);
  return 0;
}

// xm network-detach <Domain> <DevId>
int cmd_network_detach(Context& ctx, const Args& in) {
  Args args = in;
  const bool force = take_flag(args, {"-f", "--force"});
  need(args, 2, 2, "network-detach needs a domain and a device id");
  ctx.call("network.detach", {{"domain", args[0]}, {"devid", args[1]}, {"force", force}});
  return 0;
}

// ---- xenstore (docs/xm.md "xenstore") -----------------------------------------

// A value as Xen's xenstore-ls shows it: printable ASCII as is, quotes and
// backslashes escaped, anything else as \xNN.
std::string xenstore_printable(const std::string& value) {
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  }
  return out;
}

// xm xenstore-ls [-p] [path]: the tree below `path` (default /), one node a
// line, indented one space per level: `name = "value"` (-p: and its
// permissions).
int cmd_xenstore_ls(Context& ctx, const Args& in) {
  Args args = in;
  const bool perms = take_flag(args, {"-p"});
  need(args, 0, 1, "xenstore-ls takes at most one path");
  const std::string path = args.empty() ? "/" : args[0];
  Json result = ctx.call("xenstore.ls", {{"path", path}});
  if (ctx.json) {
    print_json(result);
    return 0;
  }
  const Json& nodes = result["nodes"];
  if (nodes.empty()) return 0;
  const std::string top = nodes[0].value("path", std::string());
  const auto depth_of = [](const std::string& p) {
    return static_cast<std::size_t>(std::count(p.begin(), p.end(), '/'));
  };
  const std::size_t top_depth = top == "/" ? 0 : depth_of(top);
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    const std::string p = nodes[i].value("path", std::string());
    const std::size_t depth = depth_of(p) - top_depth - 1;
    std::string line(depth, ' ');
    line += p.substr(p.rfind('/') + 1) + " = \"" +
            xenstore_printable(nodes[i].value("value", std::string())) + "\"";
    if (perms) line += "  (" + nodes[i].value("perms", std::string()) + ")";
    print(line + "\n");
  }
  if (result.value("truncated", false)) std::fprintf(stderr, "(listing truncated)\n");
  return 0;
}

int cmd_xenstore_read(Context& ctx, const Args& args) {
  if (args.empty()) throw Failure{"xenstore-read needs a path", true};
  for (const auto& path : args) {
    Json result = ctx.call("xenstore.read", {{"path", path}});
    print(result.value("value", std::string()) + "\n");
  }
  return 0;
}

int cmd_xenstore_write(Context& ctx, const Args& args) {
  if (args.empty() || args.size() % 2 != 0) {
    throw Failure{"xenstore-write needs path and value pairs", true};
  }
  for (std::size_t i = 0; i < args.size(); i += 2) {
    ctx.call("xenstore.write", {{"path", args[i]}, {"value", args[i + 1]}});
  }
  return 0;
}

int cmd_xenstore_chmod(Context& ctx, const Args& args) {
  if (args.size() < 2) throw Failure{"xenstore-chmod needs a path and permissions", true};
  ctx.call("xenstore.chmod", {{"path", args[0]}, {"perms", Args(args.begin() + 1, args.end())}});
  return 0;
}

int cmd_help(Context& ctx, const Args& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"console", "<Domain>", "Attach to <Domain>'s console (detach with Ctrl-]).", cmd_console},
      {"create", "<ConfigFile> [options] [vars]",
       "Create a domain based on <ConfigFile> (-c: attach to its console; -p: paused; var=value "
       "overrides).",
       cmd_create},
      {"new", "<ConfigFile> [vars]", "Add a domain to xend's domain management.", cmd_new},
      {"delete", "<Domain>", "Remove a domain from xend's domain management.", cmd_delete},
      {"destroy", "<Domain>", "Terminate a domain immediately.", cmd_destroy},
      {"list", "[options] [Domain, ...]",
       "List information about all or some domains (--label: with security labels; -l: long).",
       cmd_list},
      {"pause", "<Domain>", "Pause execution of a domain.", cmd_pause},
      {"restore", "<CheckpointFile> [-p]", "Restore a domain from a saved state.", cmd_restore},
      {"save", "<Domain> <CheckpointFile>", "Save a domain state to restore later.", cmd_save},
      {"shutdown", "<Domain> [-w][-R|-H]", "Shutdown a domain (-w: wait until it is gone).",
       cmd_shutdown},
      {"start", "<Domain> [-p]", "Start a xend-managed domain.", cmd_start},
      {"unpause", "<Domain>", "Unpause a paused domain.", cmd_unpause},
      {"uptime", "[Domain, ...]", "Print uptime for all or some domains.", cmd_uptime},
      {"sched-credit", "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]",
       "Get/set credit scheduler parameters (weight 1..65535, cap in % of one CPU; 0 = none).",
       cmd_sched_credit},
      {"vcpu-list", "[Domain, ...]", "List the VCPUs for all or some domains.", cmd_vcpu_list,
       false},
      {"vcpu-pin", "<Domain> <VCPU|all> <CPUs|all>", "Set which CPUs a VCPU can use.",
       cmd_vcpu_pin, false},
      {"dry-run", "<ConfigFile>", "Test if a domain can access its resources.", cmd_dry_run},
      {"block-attach", "<Domain> <BackDev> <FrontDev> <Mode> [BackDomain]",
       "Create a new virtual block device.", cmd_block_attach},
      {"block-detach", "<Domain> <DevId>", "Destroy a domain's virtual block device.",
       cmd_block_detach},
      {"block-list", "<Domain>", "List virtual block devices for a domain.",
       cmd_block_list},
      {"network-attach", "<Domain> [mac=<mac>] [bridge=<bridge>]",
       "Create a new virtual network device.", cmd_network_attach},
      {"network-detach", "<Domain> <DevId> [-f]", "Destroy a domain's virtual network device.",
       cmd_network_detach},
      {"network-list", "<Domain>", "List virtual network interfaces for a domain.",
       cmd_network_list},
      {"vtpm-list", "<Domain>", "List virtual TPM devices.", cmd_vtpm_list},
      {"addlabel",
       "<label> {dom <ConfigFile>|res <resource>|mgt <managed domain>}\n                    [<policy>]",
       "Add security label to domain.", cmd_addlabel},
      {"rmlabel", "{dom <ConfigFile>|res <Resource>|mgt <managed domain>}",
       "Remove a security label from domain.", cmd_rmlabel},
      {"getlabel", "{dom <ConfigFile>|res <Resource>|mgt <managed domain>}",
       "Show security label for domain or resource.", cmd_getlabel},
      {"resources", "", "Show info for each labeled resource.", cmd_resources},
      {"dumppolicy", "", "Print hypervisor ACM state information.", cmd_dumppolicy},
      {"setpolicy", "<policytype> <policyfile> [options]", "Set the policy of the system.",
       cmd_setpolicy},
      {"resetpolicy", "", "Set the policy of the system to the default policy.", cmd_resetpolicy},
      {"getpolicy", "[options]", "Get the policy of the system (--dumpxml: with its XML).",
       cmd_getpolicy},
      {"labels", "[policy] [type=dom|res|any]", "List <type> labels for (active) policy.",
       cmd_labels},
      {"makepolicy", "<policy>", "Build a policy's binary and map (3.0/3.1 style).",
       cmd_makepolicy, false},
      {"loadpolicy", "<policy>", "Load a built policy into the hypervisor (3.0/3.1 style).",
       cmd_loadpolicy, false},
      {"cfgbootpolicy", "<policy> [boot-title]",
       "Install a built policy for the next boot (3.0/3.1 style).", cmd_cfgbootpolicy, false},
      {"audit", "[--from N]", "Show the hypervisor's access-control audit records.", cmd_audit},
      {"xenstore-ls", "[-p] [Path]", "List xenstore below <Path> (-p: with permissions).",
       cmd_xenstore_ls, false},
      {"xenstore-read", "<Path>...", "Print xenstore values.", cmd_xenstore_read, false},
      {"xenstore-write", "<Path> <Value>...", "Write xenstore values (as Domain-0).",
       cmd_xenstore_write, false},
      {"xenstore-chmod", "<Path> <Perm>...",
       "Set a node's permissions (n/r/w/b and a domain id; the first is the owner).",
       cmd_xenstore_chmod, false},
      {"help", "[--long] [<command>]", "Display this message or help on a command.", cmd_help},
  };
  return table;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

void print_usage(const Command& c, FILE* to) {
  std::fprintf(to, "Usage: xm %s %s\n\n%s\n", c.name, c.args, c.help);
}

int cmd_help(Context&, const Args& in) {
  Args args = in;
  const bool longform = take_flag(args, {"--long"});
  if (!args.empty()) {
    const Command* c = find_command(args[0]);
    if (c == nullptr) throw Failure{"Unknown command '" + args[0] + "'"};
    print_usage(*c, stdout);
    if (std::string(c->name) == "list") std::printf("\n  --label   Include security labels\n");
    return 0;
  }
  std::printf("Usage: xm <subcommand> [args]\n\n%s subcommands:\n",
              longform ? "Xend" : "Common 'xm'");
  for (const auto& c : commands()) {
    if (!longform && !c.common) continue;
    std::printf(" %-18s %s\n", c.name, c.help);
  }
  std::printf("\n<Domain> can either be the Domain Name or Id.\n"
              "For more help on 'xm' see the xm(1) man page.\n"
              "For more help on 'xm create' see the xmdomain.cfg(5) man page.\n"
              "Listing commands take --json for scripts and audits.\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_root = std::getenv("SHYPE_ROOT");
  const fs::path root = env_root != nullptr && *env_root != '\0' ? env_root : "/";
  Context ctx{root, shype::resources::RootFs(root), std::nullopt, false};
  Args args(argv + 1, argv + argc);
  ctx.json = take_flag(args, {"--json"});
  if (args.empty()) args.emplace_back("help");
  const std::string name = args.front();
  args.erase(args.begin());
  const Command* command = find_command(name == "-h" || name == "--help" ? "help" : name);
  if (command == nullptr) {
    std::fprintf(stderr, "Error: Subcommand %s not found!\n", name.c_str());
    return 1;
  }
  try {
    return command->run(ctx, args);
  } catch (const Failure& failure) {
    std::fflush(stdout);
    std::fprintf(stderr, "Error: %s\n", failure.message.c_str());
    if (failure.show_usage) print_usage(*command, stderr);
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}
