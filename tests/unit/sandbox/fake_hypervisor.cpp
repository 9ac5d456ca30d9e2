#include "fake_hypervisor.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shype/console.hpp"
#include "shype/sched.hpp"
#include "shype/shared_info.hpp"

namespace shype::sandbox::testing {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

constexpr std::size_t kConsoleLimit = 4 * 1024 * 1024;

}  // namespace

FakeHypervisor::FakeHypervisor(std::uint32_t domid, std::uint64_t memory_bytes)
    : domid_(domid), memory_bytes_(memory_bytes) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    throw std::runtime_error("socketpair failed");
  }
  channel_ = pair[0];
  guest_channel_ = pair[1];
  memory_fd_ = ::memfd_create("guest-memory", MFD_CLOEXEC);
  shared_info_fd_ = ::memfd_create("shared-info", MFD_CLOEXEC);
  upcall_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (memory_fd_ < 0 || shared_info_fd_ < 0 || upcall_fd_ < 0 || stop_fd_ < 0 ||
      ::ftruncate(memory_fd_, static_cast<off_t>(memory_bytes)) != 0 ||
      ::ftruncate(shared_info_fd_, static_cast<off_t>(abi::kPageSize)) != 0) {
    throw std::runtime_error("fake hypervisor: cannot create the domain's descriptors");
  }
  abi::SharedInfo info{};
  info.magic = abi::kSharedInfoMagic;
  info.domid = domid;
  info.memory_bytes = memory_bytes;
  if (::pwrite(shared_info_fd_, &info, sizeof info, 0) != static_cast<ssize_t>(sizeof info)) {
    throw std::runtime_error("fake hypervisor: cannot write shared_info");
  }
}

void FakeHypervisor::set_resume_count(std::uint32_t count) const {
  constexpr auto kOffset = offsetof(abi::SharedInfo, resume_count);
  if (::pwrite(shared_info_fd_, &count, sizeof count, kOffset) !=
      static_cast<ssize_t>(sizeof count)) {
    throw std::runtime_error("fake hypervisor: cannot write shared_info");
  }
}

FakeHypervisor::~FakeHypervisor() {
  disconnect();
  for (int* fd :
       {&channel_, &guest_channel_, &memory_fd_, &shared_info_fd_, &upcall_fd_, &stop_fd_}) {
    close_fd(*fd);
  }
}

void FakeHypervisor::disconnect() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    (void)::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  close_fd(channel_);
}

void FakeHypervisor::fill(SandboxSpec& spec) const {
  spec.channel_fd = guest_channel_;
  spec.memory_fd = memory_fd_;
  spec.shared_info_fd = shared_info_fd_;
  spec.upcall_fd = upcall_fd_;
  spec.memory_bytes = memory_bytes_;
}

void FakeHypervisor::serve(int pidfd) {
  pidfd_ = pidfd;
  close_fd(guest_channel_);  // the guest holds its own copy now
  thread_ = std::thread([this] { run(); });
}

void FakeHypervisor::run() {
  read_loop();
  {
    std::lock_guard lock(mutex_);
    reader_done_ = true;
  }
  changed_.notify_all();
}

void FakeHypervisor::read_loop() {
  std::vector<std::uint8_t> buffer(abi::kMaxMessageSize + 1);
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * 16)> control{};
  for (;;) {
    std::array<pollfd, 2> fds{{{channel_, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    iovec iov{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(channel_, &message, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the guest is gone
    std::vector<int> received;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          received.push_back(fd);
        }
      }
    }
    // Decode: framing first (STYLE.md rule 5).
    std::string bad;
    abi::MessageHeader header{};
    const auto length = static_cast<std::size_t>(n);
    if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
      bad = "datagram larger than a message";
    } else if (length < sizeof header) {
      bad = "datagram shorter than a header";
    } else {
      std::memcpy(&header, buffer.data(), sizeof header);
      if (header.magic != abi::kMagic) {
        bad = "bad magic";
      } else if (header.version_major != abi::kVersionMajor) {
        bad = "bad version";
      } else if (header.kind != static_cast<std::uint16_t>(abi::MessageKind::request)) {
        bad = "not a request";
      } else if (header.payload_length > abi::kMaxPayload ||
                 header.payload_length != length - sizeof header) {
        bad = "payload_length does not match the datagram";
      } else if (header.fd_count > abi::kMaxFds || header.fd_count != received.size()) {
        bad = "fd_count does not match the descriptors";
      }
    }
    if (!bad.empty()) {
      for (int fd : received)
        ::close(fd);
      destroy(bad);
      return;
    }
    ++requests_;
    handle(header, buffer.data() + sizeof header, received.data(),
           static_cast<std::uint32_t>(received.size()));
  }
}

void FakeHypervisor::handle(const abi::MessageHeader& header, const std::uint8_t* payload, int* fds,
                            std::uint32_t fd_count) {
  // No op a guest may call takes descriptors.
  if (fd_count > 0) {
    for (std::uint32_t i = 0; i < fd_count; ++i)
      ::close(fds[i]);
    respond(header, -EINVAL, nullptr, 0);
    return;
  }
  switch (static_cast<abi::Op>(header.op)) {
    case abi::Op::xen_version: {
      abi::VersionInfo info{};
      info.major = abi::kVersionMajor;
      info.minor = abi::kVersionMinor;
      info.domid = domid_;
      std::strncpy(info.extra, "fake-hypervisor", sizeof info.extra - 1);
      respond(header, 0, &info, sizeof info);
      return;
    }
    case abi::Op::console_io:
      if (header.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::write) &&
          header.payload_length > 0) {
        {
          std::lock_guard lock(mutex_);
          console_.append(reinterpret_cast<const char*>(payload), header.payload_length);
          if (console_.size() > kConsoleLimit) console_.erase(0, console_.size() - kConsoleLimit);
        }
        changed_.notify_all();
        respond(header, 0, nullptr, 0);
      } else if (header.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::read)) {
        respond(header, 0, nullptr, 0);
      } else {
        respond(header, -EINVAL, nullptr, 0);
      }
      return;
    case abi::Op::sched_op:
      if (header.subop == static_cast<std::uint32_t>(abi::SchedOp::shutdown)) {
        abi::SchedShutdown request{};
        if (header.payload_length == sizeof request) {
          std::memcpy(&request, payload, sizeof request);
          {
            std::lock_guard lock(mutex_);
            shutdown_reason_ = request.reason;
          }
          changed_.notify_all();
          return;  // no response
        }
        respond(header, -EINVAL, nullptr, 0);
        return;
      }
      respond(header, 0, nullptr, 0);
      return;
    case abi::Op::domctl:
    case abi::Op::sysctl:
    case abi::Op::xsm_op:
      respond(header, -EPERM, nullptr, 0);
      return;
    default:
      respond(header, -ENOSYS, nullptr, 0);
      return;
  }
}

void FakeHypervisor::respond(const abi::MessageHeader& request, std::int32_t status,
                             const void* payload, std::size_t length) const {
  abi::MessageHeader header = request;
  header.kind = static_cast<std::uint16_t>(abi::MessageKind::response);
  header.status = status;
  header.payload_length = static_cast<std::uint32_t>(length);
  header.fd_count = 0;
  std::vector<std::uint8_t> datagram(sizeof header + length);
  std::memcpy(datagram.data(), &header, sizeof header);
  if (length > 0) std::memcpy(datagram.data() + sizeof header, payload, length);
  (void)::send(channel_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
}

void FakeHypervisor::send_notification(abi::Op op, std::uint32_t subop, const void* payload,
                                       std::size_t length) const {
  abi::MessageHeader header{};
  header.magic = abi::kMagic;
  header.version_major = abi::kVersionMajor;
  header.kind = static_cast<std::uint16_t>(abi::MessageKind::notification);
  header.op = static_cast<std::uint32_t>(op);
  header.subop = subop;
  header.payload_length = static_cast<std::uint32_t>(length);
  std::vector<std::uint8_t> datagram(sizeof header + length);
  std::memcpy(datagram.data(), &header, sizeof header);
  if (length > 0) std::memcpy(datagram.data() + sizeof header, payload, length);
  (void)::send(channel_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
}

void FakeHypervisor::signal_upcall() const {
  const std::uint64_t one = 1;
  (void)::write(upcall_fd_, &one, sizeof one);
}

void FakeHypervisor::destroy(std::string why) {
  {
    std::lock_guard lock(mutex_);
    framing_error_ = std::move(why);
  }
  (void)::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
  changed_.notify_all();
}

std::string FakeHypervisor::console() const {
  std::lock_guard lock(mutex_);
  return console_;
}

bool FakeHypervisor::wait_for_console(std::string_view text,
                                      std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return console_.find(text) != std::string::npos; });
}

std::optional<std::uint32_t> FakeHypervisor::shutdown_reason() const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::seconds(5),
                    [&] { return reader_done_ || shutdown_reason_.has_value(); });
  return shutdown_reason_;
}

std::string FakeHypervisor::framing_error() const {
  std::lock_guard lock(mutex_);
  return framing_error_;
}

std::uint64_t FakeHypervisor::requests() const {
  return requests_.load();
}

}  // namespace shype::sandbox::testing
