// The only place raw policy bytes are decoded and encoded (STYLE.md rule 6).
//
// ByteReader walks a std::span<const std::uint8_t> and copies every field out
// with an explicit byte order; a read that would pass the end fails (returns
// std::nullopt / false) and leaves the cursor where it was, so a reader can
// name the field and offset that was truncated. Nothing here reinterprets
// memory as a struct: binary policies come from untrusted sources, have no
// alignment guarantee and are big-endian (Xen) or little-endian (shype).
//
// ByteWriter is the mirror image: it appends integers in a stated byte order,
// raw bytes and zero padding to a growing std::vector<std::uint8_t>.
//
// The overflow-checked helpers (checked_mul, checked_add, fits) are what a
// reader uses before it allocates anything sized by a count it read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace shype::acm {

// a * b, or nullopt if the product does not fit in std::size_t.
[[nodiscard]] constexpr std::optional<std::size_t> checked_mul(std::size_t a,
                                                               std::size_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return std::nullopt;
  return a * b;
}

// a + b, or nullopt if the sum does not fit in std::size_t.
[[nodiscard]] constexpr std::optional<std::size_t> checked_add(std::size_t a,
                                                               std::size_t b) noexcept {
  if (b > std::numeric_limits<std::size_t>::max() - a) return std::nullopt;
  return a + b;
}

// Does an array of `count` elements of `size` bytes fit in `available` bytes?
// False (never a wrapped product) when count * size overflows.
[[nodiscard]] constexpr bool fits(std::size_t count, std::size_t size,
                                  std::size_t available) noexcept {
  auto bytes = checked_mul(count, size);
  return bytes && *bytes <= available;
}

// x rounded up to a multiple of `multiple` (a power of two), or nullopt on
// overflow.
[[nodiscard]] constexpr std::optional<std::size_t> round_up(std::size_t x,
                                                            std::size_t multiple) noexcept {
  auto sum = checked_add(x, multiple - 1);
  if (!sum) return std::nullopt;
  return *sum & ~(multiple - 1);
}

static_assert(checked_mul(std::numeric_limits<std::size_t>::max(), 2) == std::nullopt);
static_assert(checked_mul(0, std::numeric_limits<std::size_t>::max()) == 0u);
static_assert(fits(3, 2, 6) && !fits(3, 2, 5));
static_assert(!fits(std::numeric_limits<std::size_t>::max() / 2 + 1, 2, 16));
static_assert(round_up(13, 8) == 16u && round_up(16, 8) == 16u && round_up(0, 8) == 0u);
static_assert(round_up(std::numeric_limits<std::size_t>::max(), 8) == std::nullopt);

// "0x1f": offsets and values in error messages.
[[nodiscard]] std::string format_hex(std::uint64_t value);

// A bounds-checked reading cursor. `base` is the absolute offset of bytes[0]
// in the enclosing file, so a cursor over one section still reports file
// offsets in error messages (absolute_position()).
class ByteReader {
 public:
  explicit constexpr ByteReader(std::span<const std::uint8_t> bytes, std::size_t base = 0) noexcept
      : bytes_(bytes), base_(base) {}

  [[nodiscard]] constexpr std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] constexpr std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] constexpr std::size_t absolute_position() const noexcept { return base_ + pos_; }
  [[nodiscard]] constexpr std::size_t base() const noexcept { return base_; }
  [[nodiscard]] constexpr std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] constexpr bool at_end() const noexcept { return pos_ == bytes_.size(); }

  // Does an array of count elements of size bytes fit in what remains?
  [[nodiscard]] constexpr bool can_read(std::size_t count, std::size_t size) const noexcept {
    return fits(count, size, remaining());
  }

  [[nodiscard]] constexpr std::optional<std::uint8_t> read_u8() noexcept {
    if (remaining() < 1) return std::nullopt;
    return bytes_[pos_++];
  }
  [[nodiscard]] constexpr std::optional<std::uint16_t> read_u16_be() noexcept {
    return read_uint<std::uint16_t, 2, true>();
  }
  [[nodiscard]] constexpr std::optional<std::uint32_t> read_u32_be() noexcept {
    return read_uint<std::uint32_t, 4, true>();
  }
  [[nodiscard]] constexpr std::optional<std::uint16_t> read_u16_le() noexcept {
    return read_uint<std::uint16_t, 2, false>();
  }
  [[nodiscard]] constexpr std::optional<std::uint32_t> read_u32_le() noexcept {
    return read_uint<std::uint32_t, 4, false>();
  }
  [[nodiscard]] constexpr std::optional<std::uint64_t> read_u64_le() noexcept {
    return read_uint<std::uint64_t, 8, false>();
  }

  // The next n bytes as a view into the input (no copy), or nullopt.
  [[nodiscard]] constexpr std::optional<std::span<const std::uint8_t>> read_bytes(
      std::size_t n) noexcept {
    if (remaining() < n) return std::nullopt;
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // Moves forward n bytes; false (cursor unchanged) if fewer remain.
  [[nodiscard]] constexpr bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }

  // Moves to position p (relative to this cursor's bytes); false if p > size().
  [[nodiscard]] constexpr bool seek(std::size_t p) noexcept {
    if (p > bytes_.size()) return false;
    pos_ = p;
    return true;
  }

  // A cursor over [offset, offset + length) of this cursor's bytes, reporting
  // absolute offsets; nullopt if the range is not inside.
  [[nodiscard]] constexpr std::optional<ByteReader> sub(std::size_t offset,
                                                        std::size_t length) const noexcept {
    if (offset > bytes_.size() || length > bytes_.size() - offset) return std::nullopt;
    return ByteReader(bytes_.subspan(offset, length), base_ + offset);
  }

  // Are all remaining bytes zero? (Padding checks.)
  [[nodiscard]] constexpr bool rest_is_zero() const noexcept {
    for (std::size_t i = pos_; i < bytes_.size(); ++i) {
      if (bytes_[i] != 0) return false;
    }
    return true;
  }

 private:
  template <typename T, std::size_t N, bool BigEndian>
  [[nodiscard]] constexpr std::optional<T> read_uint() noexcept {
    static_assert(sizeof(T) == N);
    if (remaining() < N) return std::nullopt;
    T value = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const std::size_t shift = BigEndian ? 8 * (N - 1 - i) : 8 * i;
      value = static_cast<T>(value | static_cast<T>(static_cast<T>(bytes_[pos_ + i]) << shift));
    }
    pos_ += N;
    return value;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
};

// Appends fields with an explicit byte order. Positions are byte offsets from
// the start of the buffer; patch_* overwrite a field written earlier (for
// lengths and digests known only at the end).
class ByteWriter {
 public:
  ByteWriter() = default;

  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  void reserve(std::size_t n) { bytes_.reserve(n); }

  void put_u8(std::uint8_t v) { bytes_.push_back(v); }
  void put_u16_be(std::uint16_t v);
  void put_u32_be(std::uint32_t v);
  void put_u16_le(std::uint16_t v);
  void put_u32_le(std::uint32_t v);
  void put_u64_le(std::uint64_t v);
  void put_bytes(std::span<const std::uint8_t> b);
  void put_zeros(std::size_t n);
  // Appends zero bytes until (size() - from) is a multiple of `multiple`.
  void pad_to_multiple(std::size_t multiple, std::size_t from = 0);

  // Overwrite previously written fields. Precondition: pos + width <= size().
  void patch_u16_be(std::size_t pos, std::uint16_t v);
  void patch_u32_be(std::size_t pos, std::uint32_t v);
  void patch_u32_le(std::size_t pos, std::uint32_t v);
  void patch_u64_le(std::size_t pos, std::uint64_t v);
  void patch_bytes(std::size_t pos, std::span<const std::uint8_t> b);

  [[nodiscard]] const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::vector<std::uint8_t> take() && { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace shype::acm
