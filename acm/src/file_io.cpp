#include "acm/file_io.hpp"

#include <cerrno>
#include <random>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shype::acm {
namespace {

// std::strerror may share a buffer between threads; the error category's
// message does not.
std::string errno_text(int err) {
  return std::generic_category().message(err);
}

Error io_error(const std::filesystem::path& path, const std::string& what, int err) {
  return Error{
      Errc::io_error, "cannot " + what + " '" + path.string() + "': " + errno_text(err), {}};
}

// Closes a descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, std::span<const std::uint8_t> bytes, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_error(path, "write", errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return tl::unexpected(io_error(path, "open", errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(io_error(path, "stat", errno));
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::io_error, "cannot read '" + path.string() + "': not a regular file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxFileSize) {
    return make_error(Errc::limit_exceeded, "cannot read '" + path.string() + "': larger than " +
                                                std::to_string(kMaxFileSize) + " bytes");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_error(path, "read", errno));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return tl::unexpected(bytes.error());
  return std::string(bytes->begin(), bytes->end());
}

Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                         unsigned mode) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::random_device rd;
  const std::string suffix = ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  const std::filesystem::path tmp = dir / (path.filename().string() + suffix);

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (fd.get() < 0) return tl::unexpected(io_error(tmp, "create", errno));
  auto fail = [&](Error e) -> Status {
    ::unlink(tmp.c_str());
    return tl::unexpected(std::move(e));
  };
  if (auto s = write_all(fd.get(), bytes, tmp); !s) return fail(s.error());
  // The umask may have narrowed the mode; the caller's mode is what it meant.
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    return fail(io_error(tmp, "chmod", errno));
  if (::fsync(fd.get()) != 0) return fail(io_error(tmp, "fsync", errno));
  if (::close(fd.release()) != 0) return fail(io_error(tmp, "close", errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(io_error(path, "rename onto", errno));

  // Make the rename itself durable.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view text, unsigned mode) {
  // SAFETY: char and uint8_t have the same size and representation; the
  // bytes are only read.
  const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
  return write_file_atomic(path, std::span<const std::uint8_t>(data, text.size()), mode);
}

}  // namespace shype::acm
