// xend start [--foreground] | stop | restart | status (manual 4.1).
// SHYPE_ROOT (default "/") locates everything (xend/layout.hpp).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>

#include "daemon/daemon.hpp"
#include "hv/log.hpp"
#include "rpc/json_rpc.hpp"
#include "xend/layout.hpp"
#include "xend/xend.hpp"

namespace {

namespace fs = std::filesystem;
using shype::rpc::Json;

shype::daemon::Identity identity(const shype::xend::Layout& layout) {
  return {"xend", layout.lock, layout.pid, layout.socket};
}

bool answers(const shype::xend::Layout& layout) {
  auto client = shype::rpc::Client::connect(layout.socket, std::chrono::milliseconds(2000));
  return client && client->call("xend.info").has_value();
}

// The server loop: the listening socket, the clients, the domain-event
// doorbell and the signals, all on one thread.
int serve(const shype::xend::Layout& layout, shype::daemon::ReadyReport& report) {
  const auto id = identity(layout);
  auto lock = shype::daemon::InstanceLock::acquire(id);
  if (!lock) return shype::daemon::fail_start(id, report, lock.error().message);
  std::error_code ec;
  fs::create_directories(layout.log.parent_path(), ec);
  fs::create_directories(layout.run_dir, ec);
  shype::hv::Log log(layout.log, report.foreground());
  log.info("starting under " + layout.root.string());
  shype::xend::Xend xend(layout, log);
  const auto failed = [&](const std::string& why) {
    log.error(why);
    return shype::daemon::fail_start(id, report, why);
  };
  if (auto started = xend.start(); !started) return failed(started.error().to_string());
  auto listener = shype::rpc::listen_unix(layout.socket);
  if (!listener) return failed(listener.error());
  const int signal_fd = shype::daemon::stop_signal_fd();
  if (auto written = shype::daemon::write_pid(id); !written) {
    return failed(written.error().to_string());
  }
  log.info("serving xm on " + layout.socket.string());
  shype::daemon::announce_running(id, report);

  shype::rpc::ClientSet clients;
  const uid_t server_uid = ::geteuid();
  bool stopping = false;
  while (!stopping) {
    std::vector<pollfd> fds;
    fds.push_back({*listener, POLLIN, 0});
    fds.push_back({signal_fd, POLLIN, 0});
    fds.push_back({xend.domain_event_fd(), POLLIN, 0});
    clients.add_poll_entries(fds);
    const int ready = ::poll(fds.data(), fds.size(), 500);
    if (ready < 0 && errno != EINTR) {
      log.error("poll failed");
      break;
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == sizeof info) stopping = true;
    }
    if (fds[2].revents != 0 || ready == 0) xend.tick();
    if (fds[0].revents != 0) {
      clients.accept_all(*listener, server_uid, "xend",
                         [&](const std::optional<shype::rpc::PeerCredentials>& peer) {
                           log.warning("refused a client with uid " +
                                       (peer ? std::to_string(peer->uid) : std::string("unknown")) +
                                       " (only uid 0 and " + std::to_string(server_uid) +
                                       " may use xend)");
                         });
    }
    clients.serve(std::span<const pollfd>(fds).subspan(3),
                  [&](const std::string& method, const Json& params) {
                    return xend.call(method, params);
                  });
  }
  log.info("stopping");
  ::close(*listener);
  shype::daemon::remove_run_files(id);
  return 0;
}

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: xend start [--foreground] | stop | restart | status\n"
               "  start     start xend under $SHYPE_ROOT (default /), if not already running\n"
               "  stop      stop xend if it is running\n"
               "  restart   restart xend if running, otherwise start it\n"
               "  status    exit 0 if xend runs and answers, 3 if not\n"
               "log: $SHYPE_ROOT/var/log/xen/xend.log\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const char* env_root = std::getenv("SHYPE_ROOT");
    const fs::path root = env_root != nullptr && *env_root != '\0' ? env_root : "/";
    const shype::xend::Layout layout(root);
    if (argc < 2) return usage(2);
    const std::string_view command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") return usage(0);
    bool foreground = false;
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--foreground" && command == "start") {
        foreground = true;
      } else {
        std::fprintf(stderr, "xend: unknown option '%s'\n", argv[i]);
        return usage(2);
      }
    }
    const auto id = identity(layout);
    shype::daemon::StartOptions options;
    options.foreground = foreground;
    options.answers = [&] { return answers(layout); };
    const auto run = [&](shype::daemon::ReadyReport& report) { return serve(layout, report); };
    const auto probe = [&]() -> shype::acm::Result<std::string> {
      auto client = shype::rpc::Client::connect(layout.socket, std::chrono::milliseconds(2000));
      if (!client) return shype::acm::make_error(shype::acm::Errc::io_error, client.error().message);
      auto info = client->call("xend.info");
      if (!info) return shype::acm::make_error(shype::acm::Errc::io_error, info.error().message);
      return "policy " + info->value("policy", std::string("?"));
    };
    if (const auto status = shype::daemon::run_command(command, id, options, run, probe)) {
      return *status;
    }
    std::fprintf(stderr, "xend: unknown command '%s'\n", argv[1]);
    return usage(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xend: %s\n", e.what());
    return 1;
  }
}
