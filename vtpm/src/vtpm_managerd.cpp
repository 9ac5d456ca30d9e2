// vtpm_managerd start [--foreground] | stop | restart | status
// The vTPM manager daemon under $SHYPE_ROOT (layout.hpp): serves vtpmctl on
// run/vtpm/vtpm_managerd.sock with shype's JSON-RPC (toolstack/rpc) and has
// the life cycle every shype daemon shares (hypervisor/daemon).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.hpp"
#include "log_file.hpp"
#include "rpc/json_rpc.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/manager.hpp"

namespace {

namespace fs = std::filesystem;
using shype::rpc::Json;

shype::daemon::Identity identity(const shype::vtpm::Layout& layout) {
  return {"vtpm_managerd", layout.lock, layout.pid, layout.socket};
}

bool answers(const shype::vtpm::Layout& layout) {
  auto client = shype::rpc::Client::connect(layout.socket, std::chrono::milliseconds(2000));
  return client && client->call("vtpm.info").has_value();
}

int serve(const shype::vtpm::Layout& layout, shype::daemon::ReadyReport& report) {
  const auto id = identity(layout);
  std::error_code ec;
  fs::create_directories(layout.run_dir, ec);
  auto lock = shype::daemon::InstanceLock::acquire(id);
  if (!lock) return shype::daemon::fail_start(id, report, lock.error().message);
  shype::vtpm::LogFile log(layout.log, report.foreground());
  log.write("starting under " + layout.root.string());
  // SIGCHLD (a worker exited) and the stop signals arrive on one descriptor.
  const int signal_fd = shype::daemon::stop_signal_fd(true);

  shype::vtpm::Manager manager(layout, [&log](std::string_view text) { log.write(text); });
  const auto failed = [&](const std::string& why) {
    log.write("error: " + why);
    return shype::daemon::fail_start(id, report, why);
  };
  if (auto opened = manager.open(); !opened) return failed(opened.error().to_string());
  auto listener = shype::rpc::listen_unix(layout.socket);
  if (!listener) return failed(listener.error());
  if (auto written = shype::daemon::write_pid(id); !written) {
    return failed(written.error().to_string());
  }
  log.write("serving vtpmctl on " + layout.socket.string());
  shype::daemon::announce_running(id, report);

  shype::rpc::ClientSet clients;
  const uid_t server_uid = ::geteuid();
  bool stopping = false;
  while (!stopping) {
    std::vector<pollfd> fds;
    fds.push_back({*listener, POLLIN, 0});
    fds.push_back({signal_fd, POLLIN, 0});
    clients.add_poll_entries(fds);
    const int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo != SIGCHLD) stopping = true;
      }
      manager.reap();
    }
    if (fds[0].revents != 0) clients.accept_all(*listener, server_uid, "vtpm_managerd");
    clients.serve(std::span<const pollfd>(fds).subspan(2),
                  [&](const std::string& method, const Json& params) {
                    return manager.call(method, params);
                  });
  }
  log.write("stopping: saving and stopping the running instances");
  manager.shutdown();
  ::close(*listener);
  shype::daemon::remove_run_files(id);
  log.write("stopped");
  return 0;
}

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: vtpm_managerd start [--foreground] | stop | restart | status\n"
               "  start     start the vTPM manager under $SHYPE_ROOT (default /)\n"
               "  stop      save and stop every running instance, then stop the manager\n"
               "  restart   stop, then start (running instances start again)\n"
               "  status    exit 0 if the manager runs and answers, 3 if not\n"
               "log: $SHYPE_ROOT/var/log/vtpm/vtpm_managerd.log\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const shype::vtpm::Layout layout(shype::vtpm::root_from_environment());
    if (argc < 2) return usage(2);
    const std::string_view command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") return usage(0);
    bool foreground = false;
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--foreground" && command == "start") {
        foreground = true;
      } else {
        std::fprintf(stderr, "vtpm_managerd: unknown option '%s'\n", argv[i]);
        return usage(2);
      }
    }
    const auto id = identity(layout);
    std::error_code ec;
    fs::create_directories(layout.run_dir, ec);
    shype::daemon::StartOptions options;
    options.foreground = foreground;
    options.answers = [&] { return answers(layout); };
    const auto run = [&](shype::daemon::ReadyReport& report) { return serve(layout, report); };
    const auto probe = [&]() -> shype::acm::Result<std::string> {
      auto client = shype::rpc::Client::connect(layout.socket, std::chrono::milliseconds(2000));
      if (!client)
        return shype::acm::make_error(shype::acm::Errc::io_error, client.error().message);
      auto info = client->call("vtpm.info");
      if (!info) return shype::acm::make_error(shype::acm::Errc::io_error, info.error().message);
      return std::to_string(info->value("running", 0)) + " of " +
             std::to_string(info->value("instances", 0)) + " instances running";
    };
    if (const auto status = shype::daemon::run_command(command, id, options, run, probe)) {
      return *status;
    }
    std::fprintf(stderr, "vtpm_managerd: unknown command '%s'\n", argv[1]);
    return usage(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vtpm_managerd: %s\n", e.what());
    return 1;
  }
}
