#include "hv/kernel_store.hpp"

#include <cerrno>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

namespace shype::hv {

tl::expected<KernelStore::Image, KernelStore::Failure> KernelStore::read(int fd,
                                                                         std::uint64_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return tl::unexpected(Failure{Errno::badf, "the kernel descriptor is not a regular file"});
  }
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return tl::unexpected(Failure{Errno::inval, "the kernel is " + std::to_string(st.st_size) +
                                                    " bytes (1.." + std::to_string(max_bytes) +
                                                    ")"});
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return tl::unexpected(
          Failure{Errno::io, "reading the kernel: " + std::generic_category().message(err) +
                                 (n == 0 ? " (it shrank)" : "")});
    }
    done += static_cast<std::size_t>(n);
  }
  return intern(std::move(bytes));
}

KernelStore::Image KernelStore::intern(std::vector<std::uint8_t> bytes) {
  // Forget images no domain holds any more.
  for (auto it = images_.begin(); it != images_.end();) {
    it = it->second.expired() ? images_.erase(it) : std::next(it);
  }
  const acm::Sha256Digest digest = acm::sha256(bytes);
  if (const auto it = images_.find(digest); it != images_.end()) {
    // Compared too: sharing must never hand a domain another kernel.
    if (Image held = it->second.lock(); held && *held == bytes) return held;
  }
  auto image = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
  images_[digest] = image;
  return image;
}

}  // namespace shype::hv
