#include "rpc/json_rpc.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace shype::rpc {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return std::generic_category().message(err); }

bool fill_address(const std::filesystem::path& path, sockaddr_un& address) {
  address = {};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return true;
}

RpcError transport_error(std::string message) {
  return RpcError{static_cast<int>(ErrorCode::transport), std::move(message), nullptr};
}

}  // namespace

tl::expected<int, std::string> listen_unix(const std::filesystem::path& path, int backlog) {
  sockaddr_un address{};
  if (!fill_address(path, address)) {
    return tl::unexpected("socket path too long: " + path.string());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tl::unexpected("socket: " + errno_text(errno));
  ::unlink(path.c_str());
  // The socket file is created with the umask applied; 0600 is set before
  // listen, so nobody else can connect in between.
  const mode_t old_mask = ::umask(0177);
  // SAFETY: sockaddr_un is a sockaddr for AF_UNIX (the socket API's convention).
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    ::close(fd);
    return tl::unexpected("bind " + path.string() + ": " + errno_text(bind_errno));
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd, backlog) != 0) {
    const int err = errno;
    ::close(fd);
    return tl::unexpected("listen " + path.string() + ": " + errno_text(err));
  }
  return fd;
}

std::optional<PeerCredentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t size = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0 || size != sizeof cred) {
    return std::nullopt;
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

bool peer_allowed(const PeerCredentials& peer, uid_t server_uid) {
  return peer.uid == 0 || peer.uid == server_uid;
}

ServerConnection::ServerConnection(int fd, PeerCredentials peer) : fd_(fd), peer_(peer) {}

ServerConnection::ServerConnection(ServerConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      peer_(other.peer_),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)) {}

ServerConnection& ServerConnection::operator=(ServerConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    peer_ = other.peer_;
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
  }
  return *this;
}

ServerConnection::~ServerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool ServerConnection::read_lines(std::vector<std::string>& lines) {
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got == 0) return false;
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    in_.append(buffer, static_cast<std::size_t>(got));
    std::size_t start = 0;
    for (std::size_t newline = in_.find('\n'); newline != std::string::npos;
         newline = in_.find('\n', start)) {
      lines.emplace_back(in_, start, newline - start);
      start = newline + 1;
    }
    in_.erase(0, start);
    if (in_.size() > kMaxMessageBytes) return false;
  }
  return true;
}

void ServerConnection::send(const Json& message) {
  out_ += message.dump(-1, ' ', false, Json::error_handler_t::replace);
  out_ += '\n';
  (void)flush();
}

bool ServerConnection::flush() {
  while (!out_.empty()) {
    const ssize_t sent = ::send(fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    out_.erase(0, static_cast<std::size_t>(sent));
  }
  return true;
}

Json make_response(const Json& id, const Result<Json>& outcome) {
  Json response = {{"jsonrpc", "2.0"}, {"id", id}};
  if (outcome) {
    response["result"] = *outcome;
  } else {
    Json error = {{"code", outcome.error().code}, {"message", outcome.error().message}};
    if (!outcome.error().data.is_null()) error["data"] = outcome.error().data;
    response["error"] = std::move(error);
  }
  return response;
}

void ClientSet::add_poll_entries(std::vector<pollfd>& fds) const {
  for (const auto& c : clients_) {
    fds.push_back({c.fd(), static_cast<short>(POLLIN | (c.wants_write() ? POLLOUT : 0)), 0});
  }
}

void ClientSet::accept_all(int listener, uid_t server_uid, std::string_view server,
                           const RefusedHandler& refused) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const auto peer = peer_credentials(fd);
    if (!peer || !peer_allowed(*peer, server_uid)) {
      ServerConnection closed(fd, peer.value_or(PeerCredentials{}));
      if (refused) refused(peer);
      closed.send(make_response(nullptr, fail("permission denied: " + std::string(server) +
                                                  " serves only root",
                                              nullptr, ErrorCode::permission)));
      continue;
    }
    clients_.emplace_back(fd, *peer);
  }
}

void ClientSet::serve(std::span<const pollfd> entries, const Handler& handler) {
  std::size_t index = 0;
  for (auto it = clients_.begin(); it != clients_.end(); ++index) {
    const short revents = index < entries.size() ? entries[index].revents : 0;
    bool keep = true;
    if ((revents & POLLOUT) != 0) keep = it->flush();
    if (keep && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      std::vector<std::string> lines;
      keep = it->read_lines(lines);
      for (const auto& line : lines) {
        Json request = Json::parse(line, nullptr, false);
        if (request.is_discarded() || !request.is_object() || !request.contains("method") ||
            !request["method"].is_string()) {
          it->send(make_response(request.is_object() ? request.value("id", Json()) : Json(),
                                 fail("malformed request", nullptr,
                                      request.is_discarded() ? ErrorCode::parse_error
                                                             : ErrorCode::invalid_request)));
          continue;
        }
        const Json params = request.value("params", Json::object());
        auto outcome = handler(request["method"].get<std::string>(), params);
        if (request.contains("id")) it->send(make_response(request["id"], outcome));
      }
    }
    it = keep ? std::next(it) : clients_.erase(it);
  }
}

Result<Client> Client::connect(const std::filesystem::path& socket,
                               std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  if (!fill_address(socket, address)) {
    return tl::unexpected(transport_error("socket path too long: " + socket.string()));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tl::unexpected(transport_error("socket: " + errno_text(errno)));
  // SAFETY: sockaddr_un is a sockaddr for AF_UNIX.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return tl::unexpected(
          transport_error("xend is not running (no answer on " + socket.string() + ")"));
    }
    return tl::unexpected(transport_error("connect " + socket.string() + ": " + errno_text(err)));
  }
  return Client(fd, timeout);
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      next_id_(other.next_id_),
      in_(std::move(other.in_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    next_id_ = other.next_id_;
    in_ = std::move(other.in_);
  }
  return *this;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Json> Client::call(std::string_view method, Json params) {
  if (fd_ < 0) return tl::unexpected(transport_error("not connected to xend"));
  const std::int64_t id = next_id_++;
  const Json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}, {"params", std::move(params)}};
  std::string text = request.dump(-1, ' ', false, Json::error_handler_t::replace);
  text += '\n';
  const auto deadline = Clock::now() + timeout_;
  const auto wait_for = [&](short events) -> bool {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
  };
  std::size_t offset = 0;
  while (offset < text.size()) {
    if (!wait_for(POLLOUT)) return tl::unexpected(transport_error("timed out sending to xend"));
    const ssize_t sent = ::send(fd_, text.data() + offset, text.size() - offset, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return tl::unexpected(transport_error("lost the connection to xend: " + errno_text(errno)));
    }
    offset += static_cast<std::size_t>(sent);
  }
  for (;;) {
    const std::size_t newline = in_.find('\n');
    if (newline != std::string::npos) {
      const std::string line = in_.substr(0, newline);
      in_.erase(0, newline + 1);
      Json response = Json::parse(line, nullptr, false);
      if (response.is_discarded() || !response.is_object()) {
        return tl::unexpected(transport_error("xend sent a malformed response"));
      }
      if (response.value("id", Json()) != Json(id)) continue;  // not ours
      if (const auto error = response.find("error"); error != response.end()) {
        RpcError failure;
        if (error->is_object()) {
          failure.code = error->value("code", static_cast<int>(ErrorCode::failed));
          failure.message = error->value("message", std::string("unknown error"));
          failure.data = error->value("data", Json());
        } else {
          failure.message = "xend sent a malformed error";
        }
        return tl::unexpected(std::move(failure));
      }
      return response.value("result", Json());
    }
    if (in_.size() > kMaxMessageBytes) {
      return tl::unexpected(transport_error("xend sent an oversized response"));
    }
    if (!wait_for(POLLIN)) {
      return tl::unexpected(transport_error("timed out waiting for xend's answer"));
    }
    char buffer[65536];
    const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got == 0) return tl::unexpected(transport_error("xend closed the connection"));
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return tl::unexpected(transport_error("lost the connection to xend: " + errno_text(errno)));
    }
    in_.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace shype::rpc
