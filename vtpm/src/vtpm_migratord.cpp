// vtpm_migratord start [--foreground] [--listen HOST:PORT] | stop | restart | status
// The vTPM migration peer (docs/vtpm.md, "Migration"): the only process of
// the vTPM manager that faces the network. It serves vtpmctl on
// run/vtpm/vtpm_migratord.sock (JSON-RPC, same uid only) and other
// migratords on a TCP port with mutually authenticated TLS 1.3
// (migration_tls.hpp). It never sees an instance's state in the clear: the
// source manager seals it to the destination manager's key
// (migration.hpp), and only the destination manager opens it.
//
// Local methods:
//   migration.info {}                    -> {"listen", "port", "fingerprint", "peers"}
//   migration.identity {}                -> {"certificate": PEM, "fingerprint"}
//   migration.trust_peer {certificate}   -> {"fingerprint", "file"}
//   migration.send {ref, peer}           -> {"instance", "name", "uuid", "peer", "source_instance"}
//
// One connection at a time, each bounded (kPeerTimeout per read or write,
// kMaxPeerMessages messages): enough for an administrator moving instances;
// concurrent migrations would need a worker per connection.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.hpp"
#include "log_file.hpp"
#include "migration_tls.hpp"
#include "rpc/json_rpc.hpp"
#include "vtpm/layout.hpp"
#include "vtpm/migration.hpp"

namespace {

namespace fs = std::filesystem;
using shype::rpc::ErrorCode;
using shype::rpc::Json;
using shype::vtpm::Layout;
using shype::vtpm::MigrationPaths;
using shype::vtpm::TlsChannel;
using shype::vtpm::TlsContext;

constexpr auto kPeerTimeout = std::chrono::milliseconds(15'000);
constexpr auto kManagerTimeout = std::chrono::milliseconds(30'000);
constexpr int kMaxPeerMessages = 8;
constexpr const char* kDefaultListen = "0.0.0.0:7785";

shype::daemon::Identity identity(const MigrationPaths& paths) {
  return {"vtpm_migratord", paths.lock, paths.pid, paths.socket};
}

// A TCP listener on HOST:PORT (port 0: any free port); returns fd and port.
tl::expected<std::pair<int, int>, std::string> listen_tcp(const std::string& host_port) {
  const auto hp = shype::vtpm::split_host_port(host_port);
  if (!hp) return tl::unexpected("'" + host_port + "' is not HOST:PORT");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(hp->first.c_str(), hp->second.c_str(), &hints, &found); rc != 0)
    return tl::unexpected("cannot resolve " + host_port + ": " + ::gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return tl::unexpected("cannot listen on " + host_port + ": " + why);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  char port[NI_MAXSERV] = "0";
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    (void)::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, nullptr, 0, port, sizeof port,
                        NI_NUMERICSERV);
  }
  return std::pair{fd, std::atoi(port)};
}

class Migratord {
 public:
  Migratord(Layout layout, const shype::vtpm::LogFile& log)
      : layout_(std::move(layout)), paths_(layout_), log_(log) {}

  // Answers one local request (vtpmctl).
  shype::rpc::Result<Json> call(const std::string& method, const Json& params) {
    if (method == "migration.info") {
      auto pins = shype::vtpm::pinned_fingerprints(paths_);
      return Json{{"listen", listen_},
                  {"port", port_},
                  {"fingerprint", fingerprint_},
                  {"peers", pins ? pins->size() : 0}};
    }
    if (method == "migration.identity") {
      auto id = shype::vtpm::ensure_tls_identity(paths_);
      if (!id) return shype::rpc::fail(id.error().to_string());
      return Json{{"certificate", id->certificate_pem}, {"fingerprint", id->fingerprint}};
    }
    if (method == "migration.trust_peer") {
      if (!params.is_object() || !params.contains("certificate") ||
          !params["certificate"].is_string()) {
        return shype::rpc::fail("missing parameter 'certificate' (PEM)", nullptr,
                                ErrorCode::invalid_params);
      }
      auto fp = shype::vtpm::pin_peer_certificate(paths_, params["certificate"].get<std::string>());
      if (!fp) return shype::rpc::fail(fp.error().message, nullptr, ErrorCode::invalid_params);
      log_.write("trusting peer certificate " + *fp);
      return Json{{"fingerprint", *fp}, {"file", (paths_.peers / (*fp + ".pem")).string()}};
    }
    if (method == "migration.send") return send(params);
    return shype::rpc::fail("unknown method '" + method + "'", nullptr,
                            ErrorCode::method_not_found);
  }

  // Serves one accepted peer connection to the end (bounded).
  void serve_peer(int fd) {
    auto ctx = TlsContext::make(paths_, true);
    if (!ctx) {
      log_.write("error: " + ctx.error().to_string());
      ::close(fd);
      return;
    }
    auto channel = TlsChannel::accept(*ctx, fd, kPeerTimeout);
    if (!channel) {
      log_.write("refused a peer: " + channel.error().message);
      return;
    }
    log_.write("peer " + channel->peer() + " connected");
    Connection state;
    for (int i = 0; i < kMaxPeerMessages; ++i) {
      auto message = channel->receive();
      if (!message) {
        if (message.error().message.find("closed") == std::string::npos)
          log_.write("peer " + channel->peer() + ": " + message.error().message);
        break;
      }
      Json reply = answer_peer(*message, state);
      if (!channel->send(reply)) break;
    }
  }

 private:
  shype::rpc::Result<Json> manager(const std::string& method, const Json& params) {
    auto client = shype::rpc::Client::connect(layout_.socket, std::chrono::milliseconds(5000));
    if (!client) {
      return shype::rpc::fail("vtpm_managerd is not running (no answer on " +
                              layout_.socket.string() + ")");
    }
    client->set_timeout(kManagerTimeout);
    return client->call(method, params);
  }

  static Json error(const std::string& message) {
    return Json{{"type", "error"}, {"message", message.substr(0, 4000)}};
  }

  // What one peer connection has done so far.
  struct Connection {
    std::optional<std::string> challenge;      // handed out with our key (hello)
    std::optional<std::string> imported_uuid;  // what this connection imported
  };

  Json answer_peer(const Json& message, Connection& state) {
    auto& imported_uuid = state.imported_uuid;
    const std::string type = message["type"];
    if (type == "hello") {
      auto key = manager("vtpm.migration_key", Json::object());
      if (!key) return error(key.error().message);
      auto challenge = shype::vtpm::new_migration_challenge();
      if (!challenge) return error(challenge.error().message);
      state.challenge = shype::vtpm::to_hex(*challenge);
      return Json{{"type", "recipient"},
                  {"public_key", (*key)["public_key"]},
                  {"challenge", *state.challenge}};
    }
    if (type == "import") {
      if (imported_uuid) return error("one import per connection");
      if (!state.challenge) return error("import before hello");
      auto done = manager("vtpm.import",
                          Json{{"package", message["package"]}, {"challenge", *state.challenge}});
      if (!done) {
        log_.write("import refused: " + done.error().message);
        return error(done.error().message);
      }
      imported_uuid = (*done)["uuid"].get<std::string>();
      log_.write("imported instance " + std::to_string((*done)["instance"].get<int>()) + " (" +
                 (*done)["name"].get<std::string>() + "), waiting for the commit");
      return Json{{"type", "imported"},
                  {"instance", (*done)["instance"]},
                  {"name", (*done)["name"]},
                  {"uuid", (*done)["uuid"]}};
    }
    if (type == "commit" || type == "abort") {
      // Only the instance this connection imported.
      if (!imported_uuid || *imported_uuid != message["uuid"])
        return error("no import of " + message["uuid"].get<std::string>() + " on this connection");
      auto done = manager(type == "commit" ? "vtpm.import_commit" : "vtpm.import_abort",
                          Json{{"ref", *imported_uuid}});
      if (!done) return error(done.error().message);
      log_.write("incoming " + *imported_uuid + (type == "commit" ? " committed" : " aborted"));
      return Json{{"type", "done"}, {"uuid", *imported_uuid}};
    }
    return error("unexpected message '" + type + "'");
  }

  // The reply of a peer, which must be of type `expected`.
  static shype::acm::Result<Json> exchange(TlsChannel& channel, const Json& message,
                                           const std::string& expected) {
    if (auto sent = channel.send(message); !sent) return tl::unexpected(sent.error());
    auto reply = channel.receive();
    if (!reply) return reply;
    if ((*reply)["type"] == "error") {
      return shype::acm::make_error(
          shype::acm::Errc::update_rejected,
          channel.peer() + " refused: " + (*reply)["message"].get<std::string>());
    }
    if ((*reply)["type"] != expected) {
      return shype::acm::make_error(shype::acm::Errc::malformed_binary,
                                    channel.peer() + " answered '" +
                                        (*reply)["type"].get<std::string>() + "', not '" +
                                        expected + "'");
    }
    return reply;
  }

  shype::rpc::Result<Json> send(const Json& params) {
    if (!params.is_object() || !params.contains("ref") || !params["ref"].is_string() ||
        !params.contains("peer") || !params["peer"].is_string()) {
      return shype::rpc::fail("missing parameters 'ref' (the instance) and 'peer' (HOST:PORT)",
                              nullptr, ErrorCode::invalid_params);
    }
    const std::string ref = params["ref"];
    const std::string peer = params["peer"];
    if (!shype::vtpm::split_host_port(peer)) {
      return shype::rpc::fail("'" + peer + "' is not HOST:PORT", nullptr,
                              ErrorCode::invalid_params);
    }
    // An unknown instance is refused before anything leaves this host.
    if (auto known = manager("vtpm.tcti", Json{{"ref", ref}}); !known)
      return tl::unexpected(known.error());
    // Nothing changes here until the destination has answered with its key.
    auto ctx = TlsContext::make(paths_, false);
    if (!ctx) return shype::rpc::fail(ctx.error().to_string());
    auto channel = TlsChannel::connect(*ctx, peer, kPeerTimeout);
    if (!channel) {
      return shype::rpc::fail(channel.error().message + "; instance " + ref + " is unchanged");
    }
    auto recipient = exchange(*channel, Json{{"type", "hello"}}, "recipient");
    if (!recipient) {
      return shype::rpc::fail(recipient.error().message + "; instance " + ref + " is unchanged");
    }
    auto exported = manager("vtpm.export_begin", Json{{"ref", ref},
                                                      {"recipient_key", (*recipient)["public_key"]},
                                                      {"challenge", (*recipient)["challenge"]}});
    if (!exported) return tl::unexpected(exported.error());
    const Json source_ref = (*exported)["instance"];
    const std::string uuid = (*exported)["uuid"];
    const auto abort_source = [&](const std::string& why) {
      auto aborted = manager("vtpm.export_abort", Json{{"ref", source_ref}});
      log_.write("migration of " + ref + " to " + peer + " failed: " + why);
      return shype::rpc::fail(
          "migration of vTPM instance " + ref + " to " + peer + " failed: " + why +
          (aborted ? "; the instance stays here"
                   : "; and it could not be restored here: " + aborted.error().message));
    };
    auto imported = exchange(
        *channel, Json{{"type", "import"}, {"package", (*exported)["package"]}}, "imported");
    if (!imported) return abort_source(imported.error().message);
    if ((*imported)["uuid"] != uuid)
      return abort_source(peer + " imported another domain (" +
                          (*imported)["uuid"].get<std::string>() + ")");
    // The destination holds the state durably: the source copy goes.
    auto committed = manager("vtpm.export_commit", Json{{"ref", source_ref}});
    if (!committed) {
      (void)exchange(*channel, Json{{"type", "abort"}, {"uuid", uuid}}, "done");
      return abort_source("cannot delete the source copy: " + committed.error().message);
    }
    auto done = exchange(*channel, Json{{"type", "commit"}, {"uuid", uuid}}, "done");
    if (!done) {
      log_.write("migration of " + ref + " to " + peer +
                 ": the commit was not confirmed: " + done.error().message);
      return shype::rpc::fail("vTPM instance " + ref + " moved to " + peer +
                              " and was deleted here, but the destination did not confirm the "
                              "commit (" +
                              done.error().message + "); run 'vtpmctl import-commit " + uuid +
                              "' there");
    }
    log_.write("instance " + ref + " (" + uuid + ") migrated to " + peer + " as instance " +
               std::to_string((*imported)["instance"].get<int>()));
    return Json{{"instance", (*imported)["instance"]},
                {"name", (*imported)["name"]},
                {"uuid", uuid},
                {"peer", peer},
                {"source_instance", source_ref}};
  }

 public:
  std::string listen_;
  int port_ = 0;
  std::string fingerprint_;

 private:
  Layout layout_;
  MigrationPaths paths_;
  const shype::vtpm::LogFile& log_;
};

int serve(const Layout& layout, const std::string& listen, shype::daemon::ReadyReport& report) {
  const MigrationPaths paths(layout);
  const auto id = identity(paths);
  std::error_code ec;
  fs::create_directories(layout.run_dir, ec);
  auto lock = shype::daemon::InstanceLock::acquire(id);
  const auto failed = [&](const std::string& why) {
    return shype::daemon::fail_start(id, report, why);
  };
  if (!lock) return failed(lock.error().message);
  shype::vtpm::LogFile log(paths.log, report.foreground());
  log.write("starting under " + layout.root.string());
  const int signal_fd = shype::daemon::stop_signal_fd();

  fs::create_directories(paths.dir, ec);
  ::chmod(paths.dir.c_str(), 0700);
  auto tls_identity = shype::vtpm::ensure_tls_identity(paths);
  if (!tls_identity) return failed(tls_identity.error().to_string());
  auto tcp = listen_tcp(listen);
  if (!tcp) return failed(tcp.error());
  auto local = shype::rpc::listen_unix(paths.socket);
  if (!local) return failed(local.error());
  if (auto written = shype::daemon::write_pid(id); !written)
    return failed(written.error().to_string());
  Migratord peerd(layout, log);
  peerd.listen_ = listen;
  peerd.port_ = tcp->second;
  peerd.fingerprint_ = tls_identity->fingerprint;
  log.write("listening for peers on " + listen + " (port " + std::to_string(tcp->second) +
            "), certificate " + tls_identity->fingerprint);
  shype::daemon::announce_running(id, report);

  shype::rpc::ClientSet clients;
  const uid_t server_uid = ::geteuid();
  bool stopping = false;
  while (!stopping) {
    std::vector<pollfd> fds;
    fds.push_back({*local, POLLIN, 0});
    fds.push_back({tcp->first, POLLIN, 0});
    fds.push_back({signal_fd, POLLIN, 0});
    clients.add_poll_entries(fds);
    const int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) break;
    if (fds[2].revents != 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == sizeof info)
        stopping = true;
    }
    if (fds[1].revents != 0) {
      const int peer = ::accept4(tcp->first, nullptr, nullptr, SOCK_CLOEXEC);
      if (peer >= 0) peerd.serve_peer(peer);
    }
    if (fds[0].revents != 0) clients.accept_all(*local, server_uid, "vtpm_migratord");
    clients.serve(
        std::span<const pollfd>(fds).subspan(3),
        [&](const std::string& method, const Json& params) { return peerd.call(method, params); });
  }
  ::close(tcp->first);
  ::close(*local);
  shype::daemon::remove_run_files(id);
  log.write("stopped");
  return 0;
}

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: vtpm_migratord start [--foreground] [--listen HOST:PORT] | stop | restart "
               "| status\n"
               "  start     start the vTPM migration peer under $SHYPE_ROOT (default /);\n"
               "            --listen is where peers connect (default %s; port 0: any)\n"
               "  stop      stop it\n"
               "  restart   stop, then start\n"
               "  status    exit 0 if it runs and answers, 3 if not\n"
               "log: $SHYPE_ROOT/var/log/vtpm/vtpm_migratord.log\n",
               kDefaultListen);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Layout layout(shype::vtpm::root_from_environment());
    const MigrationPaths paths(layout);
    if (argc < 2) return usage(2);
    const std::string_view command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") return usage(0);
    bool foreground = false;
    std::string listen = kDefaultListen;
    for (int i = 2; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const bool starts = command == "start" || command == "restart";
      if (arg == "--foreground" && command == "start") {
        foreground = true;
      } else if (arg == "--listen" && starts && i + 1 < argc) {
        listen = argv[++i];
        if (!shype::vtpm::split_host_port(listen)) {
          std::fprintf(stderr, "vtpm_migratord: --listen '%s' is not HOST:PORT\n", listen.c_str());
          return 2;
        }
      } else {
        std::fprintf(stderr, "vtpm_migratord: unknown option '%s'\n", argv[i]);
        return usage(2);
      }
    }
    const auto id = identity(paths);
    std::error_code ec;
    fs::create_directories(layout.run_dir, ec);
    const auto probe = [&]() -> shype::acm::Result<std::string> {
      auto client = shype::rpc::Client::connect(paths.socket, std::chrono::milliseconds(2000));
      if (!client)
        return shype::acm::make_error(shype::acm::Errc::io_error, client.error().message);
      auto info = client->call("migration.info");
      if (!info) return shype::acm::make_error(shype::acm::Errc::io_error, info.error().message);
      return "listening on port " + std::to_string(info->value("port", 0)) + ", " +
             std::to_string(info->value("peers", 0)) + " trusted peers";
    };
    shype::daemon::StartOptions options;
    options.foreground = foreground;
    options.answers = [&] { return probe().has_value(); };
    const auto run = [&](shype::daemon::ReadyReport& report) {
      return serve(layout, listen, report);
    };
    if (const auto status = shype::daemon::run_command(command, id, options, run, probe)) {
      return *status;
    }
    std::fprintf(stderr, "vtpm_migratord: unknown command '%s'\n", argv[1]);
    return usage(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vtpm_migratord: %s\n", e.what());
    return 1;
  }
}
