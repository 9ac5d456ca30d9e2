#include "hv/sealed_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "hv/errno_text.hpp"

namespace shype::hv {

static_assert(kBulkSeals == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));

namespace {

constexpr unsigned kRequiredSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;

}  // namespace

tl::expected<UniqueFd, std::string> make_sealed_memfd(const char* name,
                                                      std::span<const std::uint8_t> bytes) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return tl::unexpected("memfd_create: " + errno_text(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return tl::unexpected("write to memfd: " + errno_text(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, kBulkSeals) != 0) {
    return tl::unexpected("sealing memfd: " + errno_text(errno));
  }
  return fd;
}

SealedView::SealedView(SealedView&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SealedView& SealedView::operator=(SealedView&& other) noexcept {
  if (this != &other) {
    this->~SealedView();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SealedView::~SealedView() {
  if (data_ != nullptr && size_ > 0) {
    // SAFETY: data_/size_ are exactly what mmap returned in open().
    ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  data_ = nullptr;
  size_ = 0;
}

tl::expected<SealedView, SealedView::Failure> SealedView::open(int fd, std::size_t size) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    return tl::unexpected(Failure{EBADF, "the descriptor is not a memfd (" + errno_text(errno) + ")"});
  }
  if ((static_cast<unsigned>(seals) & kRequiredSeals) != kRequiredSeals) {
    return tl::unexpected(
        Failure{EBADF, "the memfd is not sealed with F_SEAL_WRITE|F_SEAL_GROW|F_SEAL_SHRINK"});
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return tl::unexpected(Failure{errno, "fstat: " + errno_text(errno)});
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) != size) {
    return tl::unexpected(Failure{EINVAL, "the memfd holds " + std::to_string(st.st_size) +
                                              " bytes, the message says " + std::to_string(size)});
  }
  SealedView view;
  if (size == 0) return view;
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) return tl::unexpected(Failure{errno, "mmap: " + errno_text(errno)});
  // SAFETY: mmap returned a readable mapping of `size` bytes; the seals
  // guarantee nobody can change or shrink it while it is mapped.
  view.data_ = static_cast<const std::uint8_t*>(data);
  view.size_ = size;
  return view;
}

}  // namespace shype::hv
