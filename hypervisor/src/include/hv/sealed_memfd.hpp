// Bulk data beside a message (policies, audit records) travels as a memfd
// sealed against writing, growing and shrinking (docs/hypercall-abi.md
// "Descriptors"): the receiver can map it and trust that the bytes it
// checked are the bytes it uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "hv/unique_fd.hpp"

namespace shype::hv {

inline constexpr unsigned kBulkSeals = 0x0001u /*SEAL_SEAL*/ | 0x0002u /*SHRINK*/ |
                                       0x0004u /*GROW*/ | 0x0008u /*WRITE*/;

// A memfd holding `bytes`, sealed with F_SEAL_WRITE | F_SEAL_GROW |
// F_SEAL_SHRINK | F_SEAL_SEAL. Errors name the failing step and errno.
[[nodiscard]] tl::expected<UniqueFd, std::string> make_sealed_memfd(
    const char* name, std::span<const std::uint8_t> bytes);

// A read-only view of a descriptor that must be a memfd sealed at least
// against write, grow and shrink, holding exactly `size` bytes.
class SealedView {
 public:
  SealedView() = default;
  SealedView(const SealedView&) = delete;
  SealedView& operator=(const SealedView&) = delete;
  SealedView(SealedView&& other) noexcept;
  SealedView& operator=(SealedView&& other) noexcept;
  ~SealedView();

  // errno (positive) and a reason on failure: EBADF not a memfd or not
  // sealed as required, EINVAL the size differs, others from mmap.
  struct Failure {
    int error = 0;
    std::string reason;
  };
  [[nodiscard]] static tl::expected<SealedView, Failure> open(int fd, std::size_t size);

  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace shype::hv
