#include "hv/console_ring.hpp"

#include <algorithm>

namespace shype::hv {

ConsoleRing::ConsoleRing(std::size_t capacity) : buffer_(capacity == 0 ? 1 : capacity) {}

void ConsoleRing::append(std::string_view bytes) {
  const std::size_t size = buffer_.size();
  // Only the last `size` bytes can survive.
  if (bytes.size() > size) {
    written_ += bytes.size() - size;
    bytes.remove_prefix(bytes.size() - size);
  }
  std::size_t at = static_cast<std::size_t>(written_ % size);
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), size - at);
    std::copy_n(bytes.data(), n, buffer_.begin() + static_cast<std::ptrdiff_t>(at));
    bytes.remove_prefix(n);
    written_ += n;
    at = 0;
  }
}

ConsoleRing::Chunk ConsoleRing::read(std::uint64_t offset, std::size_t max_bytes) const {
  Chunk chunk;
  if (offset >= written_) {
    chunk.next_offset = written_;
    return chunk;
  }
  const std::uint64_t begin = begin_offset();
  if (offset < begin) {
    chunk.lost = begin - offset;
    offset = begin;
  }
  const std::size_t size = buffer_.size();
  std::size_t remaining = static_cast<std::size_t>(std::min<std::uint64_t>(written_ - offset, max_bytes));
  chunk.bytes.reserve(remaining);
  std::size_t at = static_cast<std::size_t>(offset % size);
  while (remaining > 0) {
    const std::size_t n = std::min(remaining, size - at);
    chunk.bytes.append(buffer_.data() + at, n);
    remaining -= n;
    at = 0;
  }
  chunk.next_offset = offset + chunk.bytes.size();
  return chunk;
}

}  // namespace shype::hv
