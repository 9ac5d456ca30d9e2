#include "xenctrl/connection.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace shype::xc {
namespace {

using Clock = std::chrono::steady_clock;

// Notifications kept for next_notification() (see call()).
constexpr std::size_t kMaxQueuedNotifications = 1024;

// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return true;  // let the I/O call report it
  }
}

// A Domain-0 error response carries the hypervisor's reason as a
// NUL-terminated text payload.
std::string error_text(const std::vector<std::uint8_t>& payload) {
  if (payload.empty() || payload.back() != 0) return {};
  std::string text(payload.begin(), payload.end() - 1);
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') return {};
  }
  return text;
}

}  // namespace

Result<Connection> Connection::open(const std::filesystem::path& shype_root,
                                    std::chrono::milliseconds timeout) {
  return open_socket(shype_root / "run/shype/privcmd.sock", timeout);
}

Result<Connection> Connection::open_socket(const std::filesystem::path& socket_path,
                                           std::chrono::milliseconds timeout) {
  const std::string path = socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return make_error(ENAMETOOLONG, "connect", "socket path '" + path + "' is too long");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  hv::UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return make_error(errno, "connect", "socket: " + errno_text(errno));
  int rc;
  do {
    // SAFETY: sockaddr_un is the sockaddr an AF_UNIX connect expects.
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return make_error(errno, "connect", path);
  return Connection(std::move(fd), timeout);
}

Result<hv::wire::Message> Connection::call(std::string_view op, const hv::wire::Body& body,
                                           std::span<const int> fds) {
  const std::string name(op);
  if (!fd_) return make_error(ENOTCONN, name, "the connection is closed");
  if (fds.size() != hv::wire::fd_count_of(body)) {
    return make_error(EINVAL, name, "wrong number of descriptors for this op");
  }
  const std::uint32_t seq = ++seq_;
  const std::vector<std::uint8_t> request = hv::wire::encode_request(seq, body);
  const auto deadline = Clock::now() + timeout_;
  const auto timed_out = [&] {
    return make_error(ETIMEDOUT, name,
                      "no answer within " + std::to_string(timeout_.count()) + " ms");
  };

  for (;;) {
    int err = 0;
    const auto sent = hv::wire::send_datagram(fd_.get(), request, fds, /*dontwait=*/true, &err);
    if (sent == hv::wire::SendStatus::sent) break;
    if (sent == hv::wire::SendStatus::would_block) {
      if (!wait_for(fd_.get(), POLLOUT, deadline)) return timed_out();
      continue;
    }
    fd_.reset();
    return make_error(err != 0 ? err : EPIPE, name, "sending the request: " + errno_text(err));
  }

  for (;;) {
    if (!wait_for(fd_.get(), POLLIN, deadline)) return timed_out();
    auto received = receive_message(name);
    if (!received) return tl::unexpected(received.error());
    if (!*received) continue;  // nothing after all
    auto& message = *received;
    if (keep_if_notification(*message)) continue;
    // A late answer to an earlier call that timed out: not ours (its
    // descriptors close here).
    if (message->header.seq != seq) continue;
    return std::move(*message);
  }
}

Result<std::optional<hv::wire::Message>> Connection::receive_message(const std::string& name) {
  hv::wire::Received received = hv::wire::receive_datagram(fd_.get(), buffer_, true);
  switch (received.status) {
    case hv::wire::RecvStatus::would_block:
      return std::optional<hv::wire::Message>{};
    case hv::wire::RecvStatus::closed:
      fd_.reset();
      return make_error(ECONNRESET, name, "the hypervisor closed the connection");
    case hv::wire::RecvStatus::error:
      fd_.reset();
      return make_error(received.error, name, "receiving");
    case hv::wire::RecvStatus::violation:
      fd_.reset();
      return make_error(EPROTO, name, "malformed message: " + received.reason);
    case hv::wire::RecvStatus::message:
      break;
  }
  auto message = hv::wire::decode_reply({buffer_.data(), received.size}, std::move(received.fds));
  if (!message) {
    fd_.reset();
    return make_error(EPROTO, name, "malformed message: " + message.error());
  }
  return std::optional<hv::wire::Message>(std::move(*message));
}

bool Connection::keep_if_notification(hv::wire::Message& message) {
  if (message.header.kind != static_cast<std::uint16_t>(abi::MessageKind::notification)) {
    return false;
  }
  // A bounded queue, so a caller that never looks cannot grow it without
  // limit (the newest is dropped, its descriptors closed).
  if (notifications_.size() < kMaxQueuedNotifications) notifications_.push_back(std::move(message));
  return true;
}

Result<hv::wire::Message> Connection::call_ok(std::string_view op, const hv::wire::Body& body,
                                              std::span<const int> fds) {
  auto message = call(op, body, fds);
  if (!message) return message;
  if (message->header.status < 0) {
    return make_error(-message->header.status, std::string(op), error_text(message->payload));
  }
  return message;
}

Result<Version> Connection::version() {
  auto message = call_ok("xen_version", hv::wire::XenVersion{});
  if (!message) return tl::unexpected(message.error());
  const auto info = hv::wire::load_exact<abi::VersionInfo>(message->payload);
  if (!info) return make_error(EPROTO, "xen_version", "response is not a VersionInfo");
  Version version;
  version.major = info->major;
  version.minor = info->minor;
  version.domid = static_cast<abi::domid_t>(info->domid);
  version.extra.assign(info->extra, ::strnlen(info->extra, sizeof info->extra));
  return version;
}

Result<Physinfo> Connection::physinfo() {
  auto message = call_ok("physinfo", hv::wire::Physinfo{});
  if (!message) return tl::unexpected(message.error());
  const auto info = hv::wire::load_exact<abi::SysctlPhysinfo>(message->payload);
  if (!info) return make_error(EPROTO, "physinfo", "response is not a SysctlPhysinfo");
  return Physinfo{info->nr_cpus, info->total_memory_kib, info->free_memory_kib};
}

Result<std::vector<DomainInfo>> Connection::list_domains() {
  std::vector<DomainInfo> domains;
  std::uint32_t first = 0;
  // Each page starts after the last domain of the one before; ids are
  // 16-bit, so this ends.
  while (first <= abi::kDomidMaxGuest) {
    hv::wire::DomainList body;
    body.args.first_domid = static_cast<abi::domid_t>(first);
    body.args.max_domains = abi::kMaxDomainInfoPerMessage;
    auto message = call_ok("getdomaininfolist", body);
    if (!message) return tl::unexpected(message.error());
    const auto& payload = message->payload;
    if (payload.size() < sizeof(abi::SysctlDomainList)) {
      return make_error(EPROTO, "getdomaininfolist", "short response");
    }
    const auto header = hv::wire::load_at<abi::SysctlDomainList>(payload, 0);
    if (header.count > abi::kMaxDomainInfoPerMessage ||
        payload.size() != sizeof header + std::size_t{header.count} * sizeof(abi::DomainInfo)) {
      return make_error(EPROTO, "getdomaininfolist", "response size disagrees with its count");
    }
    for (std::uint32_t i = 0; i < header.count; ++i) {
      const auto info = hv::wire::load_at<abi::DomainInfo>(
          payload, sizeof header + std::size_t{i} * sizeof(abi::DomainInfo));
      domains.push_back(DomainInfo::from_abi(info));
    }
    if (header.count < abi::kMaxDomainInfoPerMessage || domains.empty()) break;
    const std::uint32_t next = std::uint32_t{domains.back().domid} + 1;
    if (next <= first) break;
    first = next;
  }
  return domains;
}

std::string DomainInfo::state_string() const {
  std::string state = "------";
  if (running()) state[0] = 'r';
  if (blocked()) state[1] = 'b';
  if (paused()) state[2] = 'p';
  if (shutdown() && !crashed()) state[3] = 's';
  if (crashed()) state[4] = 'c';
  if (dying()) state[5] = 'd';
  return state;
}

DomainInfo DomainInfo::from_abi(const abi::DomainInfo& info) {
  DomainInfo out;
  out.domid = info.domid;
  out.name.assign(info.name, ::strnlen(info.name, sizeof info.name));
  out.flags = info.flags;
  out.ssidref = info.ssidref;
  out.shutdown_reason = static_cast<abi::ShutdownReason>(info.shutdown_reason);
  out.vcpus = info.vcpus;
  out.host_pid = static_cast<pid_t>(info.host_pid);
  out.memory_kib = info.memory_kib;
  out.cpu_time_ns = info.cpu_time_ns;
  out.start_time_ns = info.start_time_ns;
  out.uptime_ns = info.uptime_ns;
  return out;
}

}  // namespace shype::xc
