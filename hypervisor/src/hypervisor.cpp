#include "hv/hypervisor.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acm/ssidref.hpp"
#include "hv/pidfd.hpp"
#include "hv/shared_info_page.hpp"
#include "hv/errno_text.hpp"
#include "sandbox/sandbox.hpp"

namespace shype::hv {
namespace {

// epoll_event.data.u64: the source in the top byte, a key below it
// (connection id, or (domain serial << 16) | domid).
enum class Source : std::uint64_t {
  listener = 1,
  signals = 2,
  control = 3,
  guest_channel = 4,
  guest_process = 5,
};
constexpr std::uint64_t kKeyMask = (std::uint64_t{1} << 56) - 1;

constexpr std::uint64_t tag_of(Source source, std::uint64_t key) {
  return (static_cast<std::uint64_t>(source) << 56) | (key & kKeyMask);
}
std::uint64_t domain_key(const Domain& domain) {
  return (std::uint64_t{domain.serial} << 16) | domain.id;
}

// Messages one dying guest may still have queued; drained before its exit
// is classified (its last console output and shutdown reason).
constexpr unsigned kDrainBudget = 4096;
constexpr std::size_t kMaxConnections = 1024;
constexpr int kMaxEvents = 256;

int send_signal(const Domain& domain, int signal) {
  if (pidfd_send_signal(domain.pidfd.get(), signal) == 0) return 0;
  return errno;
}

const char* reason_name(abi::ShutdownReason reason) {
  switch (reason) {
    case abi::ShutdownReason::poweroff:
      return "poweroff";
    case abi::ShutdownReason::reboot:
      return "reboot";
    case abi::ShutdownReason::suspend:
      return "suspend";
    case abi::ShutdownReason::crash:
      return "crash";
  }
  return "unknown";
}

}  // namespace

std::filesystem::path privcmd_socket_path(const std::filesystem::path& root) {
  return root / "run/shype/privcmd.sock";
}

std::filesystem::path console_log_dir(const std::filesystem::path& root) {
  return root / "var/log/xen/console";
}

acm::Result<UniqueFd> listen_privileged(const std::filesystem::path& socket_path) {
  const std::string path = socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "socket path '" + path + "' is longer than " +
                               std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return acm::make_error(acm::Errc::io_error, "socket: " + errno_text(errno));
  ::unlink(path.c_str());
  // Created 0600 from the start: no window in which others could connect.
  const mode_t old_mask = ::umask(077);
  // SAFETY: sockaddr_un is the sockaddr the AF_UNIX bind expects.
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    return acm::make_error(acm::Errc::io_error, "bind '" + path + "': " + errno_text(bind_errno));
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0) {
    return acm::make_error(acm::Errc::io_error, "listen '" + path + "': " + errno_text(errno));
  }
  return fd;
}

Hypervisor::Hypervisor(HypervisorConfig config, UniqueFd listener, xsm::AuditLog& audit,
                       std::unique_ptr<xsm::Xsm> xsm, Log& log)
    : config_(std::move(config)),
      listener_(std::move(listener)),
      audit_(audit),
      xsm_(std::move(xsm)),
      log_(log),
      buffer_(abi::kMaxMessageSize) {}

acm::Result<std::unique_ptr<Hypervisor>> Hypervisor::create(HypervisorConfig config,
                                                            UniqueFd listener, xsm::AuditLog& audit,
                                                            std::unique_ptr<xsm::Xsm> xsm,
                                                            Log& log) {
  if (config.max_messages_per_turn == 0) config.max_messages_per_turn = 1;
  std::unique_ptr<Hypervisor> hv(
      new Hypervisor(std::move(config), std::move(listener), audit, std::move(xsm), log));
  if (auto status = hv->init(); !status) return tl::unexpected(status.error());
  return hv;
}

acm::Status Hypervisor::init() {
  const auto fail = [](const std::string& what) {
    return acm::make_error(acm::Errc::io_error, what + ": " + errno_text(errno));
  };
  // Guests whose launcher exits before them are re-parented to us, so their
  // exits can always be reaped through their pidfds.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return fail("epoll_create1");
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  rlimit files{};
  const rlim_t limit = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                           ? files.rlim_cur
                           : 1024;
  sharing_budget_ = static_cast<std::size_t>(limit / 2);

  std::uint32_t registered = 0;
  set_interest(listener_.get(), tag_of(Source::listener, 0), registered, EPOLLIN);
  if (config_.handle_signals) {
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGTERM);
    ::sigaddset(&set, SIGINT);
    ::sigaddset(&set, SIGCHLD);
    signals_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signals_) return fail("signalfd");
    std::uint32_t signal_events = 0;
    set_interest(signals_.get(), tag_of(Source::signals, 0), signal_events, EPOLLIN);
  }

  // Domain-0: domain 0, no process, admitted through domain_create like
  // every domain (Xen 5.4), with the label the XSM layer booted with.
  auto dom0 = std::make_unique<Domain>(abi::kDomain0, domains_.next_serial(), "Domain-0",
                                       xsm_->domain0_ssidref());
  dom0->mark_started();
  dom0->grants.set_map_limit(abi::kMaxMapsDomain0);
  if (const int rc = xsm_->domain_create(ref(*dom0)); rc != 0) {
    return acm::make_error(
        acm::Errc::invalid_argument,
        "XSM refused Domain-0 (ssidref " + acm::hex32(dom0->ssidref) + "): " + errno_text(-rc));
  }
  domains_.insert(std::move(dom0));
  const auto policy = xsm_->policy_info();
  log_.info("hypervisor started: xsm module " + std::string(xsm_->module_name()) + ", policy '" +
            policy.name + "', Domain-0 label " + acm::hex32(xsm_->domain0_ssidref()) + " (" +
            xsm_->label_of(xsm_->domain0_ssidref()) + "), socket " +
            privcmd_socket_path(config_.root).string());
  return {};
}

Hypervisor::~Hypervisor() {
  shutdown();
}

void Hypervisor::set_interest(int fd, std::uint64_t tag, std::uint32_t& registered,
                              std::uint32_t wanted) {
  if (wanted == registered || fd < 0) return;
  epoll_event event{};
  event.events = wanted;
  event.data.u64 = tag;
  int rc;
  if (wanted == 0) {
    rc = ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  } else if (registered == 0) {
    rc = ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event);
  } else {
    rc = ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event);
  }
  if (rc != 0) {
    log_.error("epoll_ctl on fd " + std::to_string(fd) + ": " + errno_text(errno));
    return;
  }
  registered = wanted;
}

void Hypervisor::run() {
  while (!stop_requested_)
    run_once(-1);
  shutdown();
}

int Hypervisor::next_timeout(int timeout_ms) const {
  if (pending_deadlines_ == 0) return timeout_ms;
  const auto now = Clock::now();
  auto earliest = Clock::time_point::max();
  for (const auto& [id, domain] : domains_.all()) {
    if (domain->kill_deadline) earliest = std::min(earliest, *domain->kill_deadline);
  }
  if (earliest == Clock::time_point::max()) return timeout_ms;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now).count();
  const int wait = static_cast<int>(std::clamp<long long>(left + 1, 0, 60'000));
  return timeout_ms < 0 ? wait : std::min(wait, timeout_ms);
}

void Hypervisor::run_once(int timeout_ms) {
  std::array<epoll_event, kMaxEvents> events{};
  const int count = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, next_timeout(timeout_ms));
  if (count < 0 && errno != EINTR) {
    log_.error("epoll_wait: " + errno_text(errno));
    return;
  }
  for (int i = 0; i < count; ++i) {
    const epoll_event& event = events[static_cast<std::size_t>(i)];
    // Nothing a peer sends may stop the loop: a handler that throws (out of
    // memory) costs that one event, not the hypervisor.
    try {
      handle_event(event.data.u64, event.events);
    } catch (const std::exception& e) {
      log_.error(std::string("event handler failed: ") + e.what());
    } catch (...) {
      log_.error("event handler failed: unknown exception");
    }
  }
  if (pending_deadlines_ > 0) run_deadlines();
}

Domain* Hypervisor::domain_for_tag(std::uint64_t key) const {
  Domain* domain = domains_.find(static_cast<abi::domid_t>(key & 0xffff));
  if (domain == nullptr || domain->serial != static_cast<std::uint32_t>(key >> 16)) return nullptr;
  return domain;
}

void Hypervisor::handle_event(std::uint64_t tag, std::uint32_t events) {
  const auto source = static_cast<Source>(tag >> 56);
  const std::uint64_t key = tag & kKeyMask;
  switch (source) {
    case Source::listener:
      accept_connections();
      return;
    case Source::signals:
      read_signals();
      return;
    case Source::control:
      on_control_event(key, events);
      return;
    case Source::guest_channel:
      if (Domain* domain = domain_for_tag(key)) on_channel_event(*domain, events);
      return;
    case Source::guest_process:
      if (Domain* domain = domain_for_tag(key)) on_process_exit(*domain);
      return;
  }
}

// --- Domain-0 connections --------------------------------------------------

void Hypervisor::accept_connections() {
  for (int i = 0; i < 16; ++i) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd_) {
        // Out of descriptors: accept with the reserve and drop the
        // connection, or the listener stays readable and the loop spins.
        reserve_fd_.reset();
        UniqueFd dropped(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        dropped.reset();
        reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        log_.error("out of file descriptors: dropped a Domain-0 connection");
      }
      return;
    }
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
      log_.warning("SO_PEERCRED failed: " + errno_text(errno) + "; connection closed");
      continue;
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
      log_.warning("refused a Domain-0 connection from uid " + std::to_string(peer.uid) + " (pid " +
                   std::to_string(peer.pid) + ")");
      continue;
    }
    if (connections_.size() >= kMaxConnections) {
      log_.warning("refused a Domain-0 connection: " + std::to_string(kMaxConnections) +
                   " already open");
      continue;
    }
    auto connection = std::make_unique<ControlConnection>();
    connection->id = next_connection_id_++;
    connection->channel = Channel(std::move(fd));
    connection->peer_pid = peer.pid;
    connection->peer_uid = peer.uid;
    ControlConnection& stored = *connection;
    connections_.emplace(stored.id, std::move(connection));
    update_interest(stored);
  }
}

void Hypervisor::update_interest(ControlConnection& connection) {
  const std::uint32_t wanted = connection.channel.has_backlog() ? EPOLLOUT : EPOLLIN;
  set_interest(connection.channel.fd(), tag_of(Source::control, connection.id), connection.events,
               wanted);
}

void Hypervisor::close_connection(std::uint64_t id, const std::string& why) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ControlConnection& connection = *it->second;
  if (!why.empty()) {
    log_.warning("closed Domain-0 connection of pid " + std::to_string(connection.peer_pid) + ": " +
                 why);
  }
  set_interest(connection.channel.fd(), 0, connection.events, 0);
  if (current_connection_ == &connection) current_connection_ = nullptr;
  connections_.erase(it);
  release_connection_ports(id);
  release_connection_grants(id);
}

void Hypervisor::on_control_event(std::uint64_t id, std::uint32_t events) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ControlConnection& connection = *it->second;
  if ((events & EPOLLOUT) != 0 && connection.channel.flush() == Channel::Flush::gone) {
    close_connection(id, {});
    return;
  }
  if ((events & EPOLLIN) != 0) {
    serve_control(connection);  // may close the connection
    if (connections_.count(id) == 0) return;
  } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    close_connection(id, {});
    return;
  }
  update_interest(connection);
}

void Hypervisor::serve_control(ControlConnection& connection) {
  const std::uint64_t id = connection.id;
  for (unsigned served = 0; served < config_.max_messages_per_turn; ++served) {
    if (connection.channel.has_backlog()) return;
    wire::Received received =
        wire::receive_datagram(connection.channel.fd(), buffer_, /*dontwait=*/true);
    switch (received.status) {
      case wire::RecvStatus::would_block:
        return;
      case wire::RecvStatus::closed:
      case wire::RecvStatus::error:
        close_connection(id, {});
        return;
      case wire::RecvStatus::violation:
        close_connection(id, "protocol violation: " + received.reason);
        return;
      case wire::RecvStatus::message:
        break;
    }
    const std::span<const std::uint8_t> datagram(buffer_.data(), received.size);
    auto decoded = wire::decode_request(datagram, std::move(received.fds), wire::Caller::domain0);
    if (!decoded) {
      const wire::Rejection& rejection = decoded.error();
      if (rejection.protocol_violation || !rejection.header) {
        close_connection(id, "protocol violation: " + rejection.reason);
        return;
      }
      respond(domain0(), &connection, *rejection.header,
              Reply::error(rejection.status, rejection.reason));
    } else {
      current_connection_ = &connection;
      Reply reply = dispatch(domain0(), *decoded);
      current_connection_ = nullptr;
      respond(domain0(), &connection, decoded->header, std::move(reply));
    }
    if (connections_.count(id) == 0) return;  // the reply found the peer gone
  }
}

// --- guests ----------------------------------------------------------------

void Hypervisor::update_interest(Domain& domain) {
  std::uint32_t wanted = 0;
  if (domain.channel.open() && domain.active()) {
    wanted = domain.channel.has_backlog() ? EPOLLOUT : EPOLLIN;
  }
  set_interest(domain.channel.fd(), tag_of(Source::guest_channel, domain_key(domain)),
               domain.channel_events, wanted);
}

void Hypervisor::watch_process(Domain& domain) {
  set_interest(domain.pidfd.get(), tag_of(Source::guest_process, domain_key(domain)),
               domain.pidfd_events, EPOLLIN);
}

void Hypervisor::on_channel_event(Domain& domain, std::uint32_t events) {
  if ((events & EPOLLOUT) != 0 && domain.channel.flush() == Channel::Flush::gone) {
    channel_closed(domain);
    return;
  }
  if ((events & EPOLLIN) != 0) {
    serve_guest(domain, config_.max_messages_per_turn);
  } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    channel_closed(domain);
    return;
  }
  update_interest(domain);
}

void Hypervisor::serve_guest(Domain& domain, unsigned budget) {
  for (unsigned served = 0; served < budget; ++served) {
    if (!domain.channel.open() || domain.channel.has_backlog() || domain.shut_down ||
        domain.crashed || domain.dying) {
      return;
    }
    wire::Received received = wire::receive_datagram(domain.channel.fd(), buffer_, true);
    switch (received.status) {
      case wire::RecvStatus::would_block:
        return;
      case wire::RecvStatus::closed:
      case wire::RecvStatus::error:
        channel_closed(domain);
        return;
      case wire::RecvStatus::violation:
        crash_domain(domain, "protocol violation: " + received.reason);
        return;
      case wire::RecvStatus::message:
        break;
    }
    const std::span<const std::uint8_t> datagram(buffer_.data(), received.size);
    auto decoded = wire::decode_request(datagram, std::move(received.fds), wire::Caller::guest);
    if (!decoded) {
      const wire::Rejection& rejection = decoded.error();
      if (rejection.protocol_violation || !rejection.header) {
        crash_domain(domain, "protocol violation: " + rejection.reason);
        return;
      }
      log_rejection(&domain, rejection);
      respond(domain, nullptr, *rejection.header, Reply::error(rejection.status));
      continue;
    }
    Reply reply = dispatch(domain, *decoded);
    respond(domain, nullptr, decoded->header, std::move(reply));
  }
}

void Hypervisor::log_rejection(Domain* guest, const wire::Rejection& rejection) {
  if (guest == nullptr) return;
  // A misbehaving guest must not be able to flood the log.
  const std::uint64_t n = ++guest->rejected_requests;
  if (n <= 10 || n % 1000 == 0) {
    log_.warning(describe(*guest) + ": refused request (" + errno_name(rejection.status) +
                 "): " + rejection.reason + (n > 10 ? " [" + std::to_string(n) + " so far]" : ""));
  }
}

void Hypervisor::channel_closed(Domain& domain) {
  if (!domain.channel.open()) return;
  set_interest(domain.channel.fd(), 0, domain.channel_events, 0);
  domain.channel.close();
  if (domain.active()) {
    log_.warning(describe(domain) + " closed its hypercall channel");
  }
}

Errno Hypervisor::notify(Domain& domain, abi::Op op, std::uint32_t subop,
                         std::span<const std::uint8_t> payload) {
  if (!domain.channel.open()) return Errno::srch;
  if (domain.guest.shared_info.valid()) publish_time(domain.guest.shared_info);
  const Channel::Push pushed = domain.channel.push(wire::encode_notification(op, subop, payload));
  update_interest(domain);
  switch (pushed) {
    case Channel::Push::sent:
    case Channel::Push::queued:
      return Errno::ok;
    case Channel::Push::overflow:
      return Errno::again;
    case Channel::Push::gone:
      return Errno::srch;
  }
  return Errno::io;
}

Errno Hypervisor::notify_with_fds(Domain& domain, std::uint64_t connection_id, abi::Op op,
                                  std::uint32_t subop, std::span<const std::uint8_t> payload,
                                  std::vector<UniqueFd> fds) {
  const auto fd_count = static_cast<std::uint32_t>(fds.size());
  std::vector<std::uint8_t> bytes = wire::encode_notification(op, subop, payload, fd_count);
  Channel::Push pushed = Channel::Push::gone;
  if (domain.is_domain0()) {
    const auto it = connections_.find(connection_id);
    if (it == connections_.end()) return Errno::srch;
    pushed = it->second->channel.push(std::move(bytes), std::move(fds));
    update_interest(*it->second);
  } else {
    if (!domain.channel.open()) return Errno::srch;
    if (domain.guest.shared_info.valid()) publish_time(domain.guest.shared_info);
    pushed = domain.channel.push(std::move(bytes), std::move(fds));
    update_interest(domain);
  }
  switch (pushed) {
    case Channel::Push::sent:
    case Channel::Push::queued:
      return Errno::ok;
    case Channel::Push::overflow:
      return Errno::again;
    case Channel::Push::gone:
      return Errno::srch;
  }
  return Errno::io;
}

void Hypervisor::flush_console_input(Domain& domain) {
  while (!domain.console_input.empty()) {
    const std::size_t n = std::min(domain.console_input.size(), abi::kMaxPayload);
    // SAFETY: char and uint8_t have the same size and alignment; read only.
    const std::span<const std::uint8_t> chunk(
        reinterpret_cast<const std::uint8_t*>(domain.console_input.data()), n);
    if (notify(domain, abi::Op::console_io, wire::sub(abi::ConsoleIoOp::read), chunk) !=
        Errno::ok) {
      return;  // stays queued; the guest can fetch it with CONSOLEIO_read
    }
    domain.console_input.erase(0, n);
  }
  send_virq(domain, abi::Virq::console);
}

bool Hypervisor::reap(Domain& domain, siginfo_t* info) {
  if (!domain.process_alive) return true;
  siginfo_t local{};
  siginfo_t& status = info != nullptr ? *info : local;
  status.si_pid = 0;
  const int rc =
      ::waitid(P_PIDFD, static_cast<id_t>(domain.pidfd.get()), &status, WEXITED | WNOHANG);
  if (rc == 0 && status.si_pid == 0) return false;  // still running
  if (rc != 0) {
    // Not our child (ECHILD): the pidfd said it exited; its status is unknown.
    status.si_code = 0;
    status.si_status = -1;
  }
  // Keep its last CPU time: /proc/<pid> is gone now.
  (void)domain.info();
  domain.process_alive = false;
  set_interest(domain.pidfd.get(), 0, domain.pidfd_events, 0);
  domain.pidfd.reset();
  if (!domain.cgroup.empty()) {
    sandbox::release_cgroup(domain.cgroup);
    domain.cgroup.clear();
  }
  if (domain.kill_deadline) {
    domain.kill_deadline.reset();
    --pending_deadlines_;
  }
  return true;
}

void Hypervisor::on_process_exit(Domain& domain) {
  if (!domain.process_alive) return;
  // Its last messages first: console output and the shutdown reason it sent
  // just before exiting.
  if (domain.channel.open() && domain.active()) serve_guest(domain, kDrainBudget);
  siginfo_t info{};
  if (!reap(domain, &info)) return;
  channel_closed(domain);
  release_event_channels(domain);
  release_grants(domain, false);
  domain.guest.upcall_fd.reset();
  send_virq(domain0(), abi::Virq::dom_exc);  // Xen: a domain shut down or died
  if (domain.dying) {
    finish_destroy(domain);  // `domain` is gone after this
    return;
  }
  if (domain.crashed) {
    log_.info(describe(domain) + " ended");
  } else if (domain.shut_down) {
    log_.info(describe(domain) + " shut down (" + reason_name(domain.shutdown_reason) + ")");
  } else {
    domain.crashed = true;
    std::string how;
    if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
      const char* name = ::sigabbrev_np(info.si_status);
      how =
          std::string("killed by SIG") + (name != nullptr ? name : std::to_string(info.si_status));
      if (info.si_status == SIGSYS) how += " (sandbox violation)";
    } else if (info.si_code == CLD_EXITED) {
      how = "exited with status " + std::to_string(info.si_status) + " without SCHEDOP_shutdown";
    } else {
      how = "exited (status unknown) without SCHEDOP_shutdown";
    }
    log_.warning(describe(domain) + " crashed: " + how);
  }
}

void Hypervisor::crash_domain(Domain& domain, const std::string& why) {
  if (domain.crashed || domain.dying || domain.is_domain0()) return;
  domain.crashed = true;
  log_.warning(describe(domain) + " crashed: " + why);
  channel_closed(domain);
  if (domain.process_alive) {
    if (const int err = send_signal(domain, SIGKILL); err != 0 && err != ESRCH) {
      log_.error(describe(domain) + ": SIGKILL failed: " + errno_text(err));
    }
  }
}

void Hypervisor::destroy_domain(Domain& domain) {
  if (domain.dying) return;
  domain.dying = true;
  channel_closed(domain);
  if (domain.process_alive) {
    if (const int err = send_signal(domain, SIGKILL); err != 0 && err != ESRCH) {
      log_.error(describe(domain) + ": SIGKILL failed: " + errno_text(err));
    }
    // Bounded wait: a killed process normally exits within milliseconds.
    pollfd p{domain.pidfd.get(), POLLIN, 0};
    const auto deadline = Clock::now() + config_.destroy_wait;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 1)));
      if (ready != 0 && !(ready < 0 && errno == EINTR)) break;
    }
    reap(domain, nullptr);
  }
  if (domain.process_alive) {
    log_.warning(describe(domain) + " is still dying; it is released when it exits");
    return;
  }
  finish_destroy(domain);
}

void Hypervisor::finish_destroy(Domain& domain) {
  release_event_channels(domain);
  release_grants(domain, true);
  xsm_->domain_destroyed(ref(domain));
  log_.info(describe(domain) + " destroyed");
  const abi::domid_t id = domain.id;
  domains_.erase(id);                        // releases memory, shared_info, console log
  send_virq(domain0(), abi::Virq::dom_exc);  // Xen: a domain was destroyed
}

void Hypervisor::run_deadlines() {
  const auto now = Clock::now();
  for (const auto& [id, domain] : domains_.all()) {
    if (!domain->kill_deadline || *domain->kill_deadline > now) continue;
    domain->kill_deadline.reset();
    --pending_deadlines_;
    if (domain->process_alive) {
      log_.warning(describe(*domain) + " still running after SCHEDOP_shutdown; killed");
      (void)send_signal(*domain, SIGKILL);
    }
  }
}

// --- signals and children ----------------------------------------------------

void Hypervisor::read_signals() {
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t got = ::read(signals_.get(), &info, sizeof info);
    if (got != static_cast<ssize_t>(sizeof info)) return;
    switch (info.ssi_signo) {
      case SIGTERM:
      case SIGINT:
        if (!stop_requested_) {
          log_.info(std::string("received SIG") + ::sigabbrev_np(static_cast<int>(info.ssi_signo)) +
                    ": stopping");
        }
        stop_requested_ = true;
        break;
      case SIGCHLD:
        reap_children();
        break;
      default:
        break;
    }
  }
}

void Hypervisor::reap_children() {
  // Look before reaping (WNOWAIT): a domain's process is reaped by its
  // domain, so that its exit status is classified; anything else (a
  // launcher's intermediate process) is reaped here.
  pid_t previous = 0;
  for (int i = 0; i < 4096; ++i) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    if (info.si_pid == previous) return;  // could not be reaped: do not spin
    previous = info.si_pid;
    if (Domain* domain = domains_.find_by_pid(info.si_pid)) {
      on_process_exit(*domain);
    } else {
      siginfo_t ignored{};
      ::waitid(P_PID, static_cast<id_t>(info.si_pid), &ignored, WEXITED | WNOHANG);
    }
  }
}

// --- shutdown ------------------------------------------------------------------

void Hypervisor::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  std::vector<abi::domid_t> guests;
  for (const auto& [id, domain] : domains_.all()) {
    if (!domain->is_domain0()) guests.push_back(id);
  }
  for (abi::domid_t id : guests) {
    Domain* domain = domains_.find(id);
    if (domain == nullptr) continue;
    domain->dying = true;
    channel_closed(*domain);
    if (domain->process_alive) (void)send_signal(*domain, SIGKILL);
  }
  // One bounded wait for all of them.
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  for (abi::domid_t id : guests) {
    Domain* domain = domains_.find(id);
    if (domain == nullptr) continue;
    while (domain->process_alive && Clock::now() < deadline) {
      if (!reap(*domain, nullptr)) {
        pollfd p{domain->pidfd.get(), POLLIN, 0};
        (void)::poll(&p, 1, 10);
      }
    }
    if (domain->process_alive) {
      log_.error(describe(*domain) + " did not exit after SIGKILL");
    }
    finish_destroy(*domain);
  }
  while (!connections_.empty())
    close_connection(connections_.begin()->first, {});
  if (listener_) {
    listener_.reset();
    ::unlink(privcmd_socket_path(config_.root).c_str());
  }
  log_.info("hypervisor stopped");
}

// --- helpers ---------------------------------------------------------------------

xsm::DomainRef Hypervisor::ref(const Domain& domain) const {
  return xsm::DomainRef{domain.id, domain.ssidref, domain.name};
}

xsm::LiveState Hypervisor::live_state() const {
  xsm::LiveState live;
  live.domains.reserve(domains_.size());
  for (const auto& [id, domain] : domains_.all())
    live.domains.push_back(ref(*domain));
  append_event_channel_sharings(live);
  append_grant_sharings(live);
  return live;
}

Errno Hypervisor::check_sharing_budget(const Domain& domain, std::size_t count) const {
  const auto held = [](const Domain& d) -> std::size_t {
    return d.grants.grant_count() + d.event_channels.doorbells_held();
  };
  std::size_t total = 0;
  for (const auto& [id, other] : domains_.all())
    total += held(*other);
  const std::size_t share = std::max(kMinSharingShare, sharing_budget_ / domains_.size());
  if (total + count > sharing_budget_ || held(domain) + count > share) return Errno::nospc;
  return Errno::ok;
}

std::string Hypervisor::describe(const Domain& domain) const {
  return "domain " + std::to_string(domain.id) + " (" + domain.name + ")";
}

Domain& Hypervisor::domain0() const {
  return *domains_.find(abi::kDomain0);  // inserted by init(), never erased
}

}  // namespace shype::hv
