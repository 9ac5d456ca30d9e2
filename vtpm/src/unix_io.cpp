#include "unix_io.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace shype::vtpm::detail {

using acm::Errc;
using acm::make_error;

acm::Result<int> connect_unix(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof address.sun_path) {
    return make_error(Errc::invalid_argument, "socket path too long: " + text);
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io_error, "socket: " + std::string(std::strerror(errno)));
  // SAFETY: sockaddr_un is a sockaddr by the sockets API's definition.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int saved = errno;
    ::close(fd);
    return make_error(Errc::io_error, "cannot connect to " + text + ": " + std::strerror(saved));
  }
  return fd;
}

namespace {

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

acm::Status write_all(int fd, const std::uint8_t* data, std::size_t size,
                      Clock::time_point deadline, const std::string& what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        return make_error(Errc::io_error, what + ": timed out sending");
      }
      continue;
    }
    return make_error(Errc::io_error, what + ": send failed: " + std::strerror(errno));
  }
  return {};
}

acm::Status read_exact(int fd, std::uint8_t* data, std::size_t size, Clock::time_point deadline,
                       const std::string& what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::recv(fd, data + done, size - done, MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return make_error(Errc::io_error, what + ": the peer closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd, POLLIN, deadline)) {
        return make_error(Errc::io_error, what + ": timed out waiting for the answer");
      }
      continue;
    }
    return make_error(Errc::io_error, what + ": receive failed: " + std::strerror(errno));
  }
  return {};
}

}  // namespace shype::vtpm::detail
