#include "hv/mapping.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace shype::hv {

tl::expected<Mapping, int> Mapping::map_shared(int fd, std::size_t size) {
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) return tl::unexpected(errno);
  Mapping mapping;
  mapping.base_ = base;
  mapping.size_ = size;
  return mapping;
}

void Mapping::reset() noexcept {
  // SAFETY: base_/size_ are exactly what mmap returned.
  if (base_ != nullptr) ::munmap(base_, size_);
  base_ = nullptr;
  size_ = 0;
}

}  // namespace shype::hv
