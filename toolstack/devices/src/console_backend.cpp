// The console daemon of one domain (console_backend.hpp).
#include "console_backend.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shype/io/console.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::devices {
namespace {

using abi::io::ConsoleInterface;
using abi::io::kConsoleInSize;
using abi::io::kConsoleOutSize;

constexpr std::size_t kClientPendingMax = 256 * 1024;  // a client this far behind is dropped
constexpr std::size_t kInputPendingMax = 4096;          // typed ahead of the guest
constexpr std::size_t kMaxClients = 8;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

acm::Result<std::unique_ptr<ConsoleBackend>> ConsoleBackend::create(
    DeviceLoop& loop, abi::domid_t domid, const std::filesystem::path& log_path,
    const std::filesystem::path& socket_path, xc::Connection::EventChannelBinding port) {
  std::unique_ptr<ConsoleBackend> c(new ConsoleBackend(loop, domid));
  c->port_ = std::move(port);
  std::error_code ec;
  std::filesystem::create_directories(log_path.parent_path(), ec);
  c->log_.reset(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!c->log_) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot open console log '" + log_path.string() + "': " + errno_text());
  }
  std::filesystem::create_directories(socket_path.parent_path(), ec);
  ::chmod(socket_path.parent_path().c_str(), 0700);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = socket_path.string();
  if (text.size() >= sizeof address.sun_path) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "console socket path '" + text + "' is too long for a Unix socket");
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  ::unlink(text.c_str());
  c->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  // SAFETY: sockaddr_un is a sockaddr for bind, as the socket API requires.
  if (!c->listener_ ||
      ::bind(c->listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::chmod(text.c_str(), 0600) != 0 || ::listen(c->listener_.get(), 4) != 0) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot listen on console socket '" + text + "': " + errno_text());
  }
  c->socket_path_ = socket_path;
  ConsoleBackend* self = c.get();
  loop.add_fd(c->listener_.get(), [self] { self->on_accept(); });
  loop.add_fd(c->port_.own.get(), [self] { self->on_doorbell(); });
  return c;
}

ConsoleBackend::~ConsoleBackend() {
  *alive_ = false;
  for (auto& [fd, client] : clients_)
    loop_.remove_fd(fd);
  clients_.clear();
  if (listener_) loop_.remove_fd(listener_.get());
  if (port_.own) loop_.remove_fd(port_.own.get());
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
  page_.reset();
}

void ConsoleBackend::disconnect(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  if (port_.own) loop_.remove_fd(port_.own.get());
  if (page_) service();  // what the guest wrote last
  page_.reset();
  loop_.log().info("console of domain " + std::to_string(domid_) + " disconnected: " + why);
}

void ConsoleBackend::on_doorbell() {
  std::uint64_t counter = 0;
  (void)!::read(port_.own.get(), &counter, sizeof counter);
  if (dead_) return;
  if (!page_) {
    auto mapped = MappedPage::map(loop_.hv(), domid_, abi::io::kGrantRefConsole, false);
    if (!mapped) {
      loop_.log().warning("console of domain " + std::to_string(domid_) +
                          ": cannot map its console page (grant " +
                          std::to_string(abi::io::kGrantRefConsole) +
                          "): " + mapped.error().to_string());
      return;
    }
    page_ = std::move(*mapped);
    // SAFETY: the mapping is one page, ConsoleInterface fits in it.
    auto* ring = static_cast<ConsoleInterface*>(page_->data());
    out_cons_ = __atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE);
    in_prod_ = __atomic_load_n(&ring->in_prod, __ATOMIC_ACQUIRE);
  }
  service();
}

// Bounded work per wake-up: at most one ring of output, so a guest that
// floods its console gets one turn like every other descriptor.
void ConsoleBackend::service() {
  if (!page_) return;
  // SAFETY: one mapped page holding a ConsoleInterface; every index the
  // guest wrote is checked before use and every byte copied out first.
  auto* ring = static_cast<ConsoleInterface*>(page_->data());
  const std::uint32_t prod = __atomic_load_n(&ring->out_prod, __ATOMIC_ACQUIRE);
  const std::uint32_t avail = prod - out_cons_;
  bool notify = false;
  if (avail > kConsoleOutSize) {
    loop_.log().warning("console of domain " + std::to_string(domid_) +
                        ": output index moved by " + std::to_string(avail) +
                        " bytes, more than the ring holds; skipping to it");
    out_cons_ = prod;
    __atomic_store_n(&ring->out_cons, out_cons_, __ATOMIC_RELEASE);
    notify = true;
  } else if (avail > 0) {
    char bytes[kConsoleOutSize];
    for (std::uint32_t i = 0; i < avail; ++i)
      bytes[i] = ring->out[(out_cons_ + i) % kConsoleOutSize];
    out_cons_ += avail;
    __atomic_store_n(&ring->out_cons, out_cons_, __ATOMIC_RELEASE);
    notify = true;
    output(bytes, avail);
  }
  push_input();
  if (notify) (void)xc::Connection::notify_doorbell(port_.peer.get());
}

void ConsoleBackend::output(const char* bytes, std::size_t length) {
  if (log_ && ::write(log_.get(), bytes, length) < 0) {
    loop_.log().warning("console of domain " + std::to_string(domid_) +
                        ": cannot write the log: " + errno_text());
  }
  history_.append(bytes, length);
  if (history_.size() > kConsoleHistoryBytes) {
    history_.erase(0, history_.size() - kConsoleHistoryBytes);
  }
  std::vector<int> fds;
  for (auto& [fd, client] : clients_) {
    client.pending.append(bytes, length);
    fds.push_back(fd);
  }
  for (const int fd : fds)
    flush_client(fd);
}

void ConsoleBackend::push_input() {
  if (!page_ || input_.empty()) return;
  // SAFETY: as in service().
  auto* ring = static_cast<ConsoleInterface*>(page_->data());
  const std::uint32_t cons = __atomic_load_n(&ring->in_cons, __ATOMIC_ACQUIRE);
  const std::uint32_t used = in_prod_ - cons;
  if (used > kConsoleInSize) return;  // a lying guest gets no input
  const std::size_t n = std::min<std::size_t>(kConsoleInSize - used, input_.size());
  if (n == 0) return;
  for (std::size_t i = 0; i < n; ++i)
    ring->in[(in_prod_ + i) % kConsoleInSize] = input_[i];
  in_prod_ += static_cast<std::uint32_t>(n);
  __atomic_store_n(&ring->in_prod, in_prod_, __ATOMIC_RELEASE);
  input_.erase(0, n);
  (void)xc::Connection::notify_doorbell(port_.peer.get());
  // Room again for clients that were paused.
  for (auto& [fd, client] : clients_) {
    if (!client.reading && input_.size() < kInputPendingMax) {
      client.reading = true;
      const int client_fd = fd;
      loop_.add_fd(client_fd, [this, client_fd] { on_client(client_fd); });
    }
  }
}

void ConsoleBackend::on_accept() {
  hv::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!fd) return;
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
      (peer.uid != 0 && peer.uid != ::geteuid())) {
    loop_.log().warning("console of domain " + std::to_string(domid_) +
                        ": refused a client of uid " + std::to_string(peer.uid));
    return;
  }
  if (clients_.size() >= kMaxClients) return;
  const int raw = fd.get();
  Client client;
  client.fd = std::move(fd);
  client.pending = history_;
  clients_.emplace(raw, std::move(client));
  loop_.add_fd(raw, [this, raw] { on_client(raw); });
  flush_client(raw);
}

void ConsoleBackend::on_client(int fd) {
  const auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  char buffer[1024];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    drop_client(fd);
    return;
  }
  if (n < 0) return;
  input_.append(buffer, static_cast<std::size_t>(n));
  if (input_.size() >= kInputPendingMax) {
    // The guest is not reading: stop reading this client until it does.
    it->second.reading = false;
    loop_.remove_fd(fd);
  }
  push_input();
}

void ConsoleBackend::flush_client(int fd) {
  const auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = it->second;
  while (!client.pending.empty()) {
    const ssize_t n = ::send(fd, client.pending.data(), client.pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      drop_client(fd);
      return;
    }
    client.pending.erase(0, static_cast<std::size_t>(n));
  }
  if (client.pending.size() > kClientPendingMax) {
    drop_client(fd);
    return;
  }
  if (!client.pending.empty() && !retry_scheduled_) {
    retry_scheduled_ = true;
        loop_.defer(
        [this, alive = alive_] {
          if (!*alive) return;
          retry_scheduled_ = false;
          std::vector<int> fds;
          for (auto& [client_fd, c] : clients_) fds.push_back(client_fd);
          for (const int client_fd : fds) flush_client(client_fd);
        },
        std::chrono::milliseconds(20));
  }
}

void ConsoleBackend::drop_client(int fd) {
  loop_.remove_fd(fd);
  clients_.erase(fd);
}

}  // namespace shype::devices
