// Small helpers over system calls shared by the sandbox's sources.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <sys/types.h>
#include <unistd.h>

namespace shype::sandbox {

// One owner per descriptor, so that no error path leaks one.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// strerror text without strerror's shared buffer.
[[nodiscard]] std::string errno_text(int err);

// pread until `length` bytes have been read; false on error or end of file.
[[nodiscard]] bool read_exact_at(int fd, void* buffer, std::size_t length, off_t offset);

// Writes all of `text` to the file at `path` (open, write, close); returns 0
// or an errno value.
[[nodiscard]] int write_file(const std::string& path, std::string_view text);

// Reads a whole (small, /proc or /sys) file; nullopt-like: false on error.
[[nodiscard]] bool read_file(const std::string& path, std::string& out);

}  // namespace shype::sandbox
