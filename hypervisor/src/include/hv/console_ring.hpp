// A domain's console output as Domain-0 reads it (domctl console_read): the
// last kConsoleRingSize bytes, addressed by a 64-bit offset counted from the
// domain's first byte, so a reader that falls behind learns how much it
// lost instead of reading garbled text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shype/console.hpp"

namespace shype::hv {

class ConsoleRing {
 public:
  explicit ConsoleRing(std::size_t capacity = abi::kConsoleRingSize);

  void append(std::string_view bytes);

  struct Chunk {
    std::string bytes;
    std::uint64_t next_offset = 0;  // offset after `bytes`
    std::uint64_t lost = 0;         // bytes overwritten before they were read
  };
  // Up to max_bytes from `offset`. An offset older than the ring starts at
  // the oldest byte kept (and reports the difference as lost); an offset
  // beyond the end returns nothing with next_offset = the end.
  [[nodiscard]] Chunk read(std::uint64_t offset, std::size_t max_bytes) const;

  [[nodiscard]] std::uint64_t end_offset() const noexcept { return written_; }
  [[nodiscard]] std::uint64_t begin_offset() const noexcept {
    return written_ > buffer_.size() ? written_ - buffer_.size() : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.size(); }

 private:
  std::vector<char> buffer_;
  std::uint64_t written_ = 0;  // total bytes ever appended
};

}  // namespace shype::hv
