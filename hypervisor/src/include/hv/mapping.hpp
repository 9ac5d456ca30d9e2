// The hypervisor's own shared mapping of a memfd it gives a guest (guest
// memory, shared_info): needed to write shared_info and, in later stages,
// to copy grant frames and save memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace shype::hv {

class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      base_ = std::exchange(other.base_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }

  // MAP_SHARED, read-write, of `size` bytes of `fd` from offset 0
  // (MAP_NORESERVE: guest memory is backed only where it is touched).
  [[nodiscard]] static tl::expected<Mapping, int> map_shared(int fd, std::size_t size);

  [[nodiscard]] std::uint8_t* data() const noexcept { return static_cast<std::uint8_t*>(base_); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool valid() const noexcept { return base_ != nullptr; }
  void reset() noexcept;

 private:
  void* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace shype::hv
