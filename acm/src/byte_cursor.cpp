#include "acm/byte_cursor.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>

namespace shype::acm {
namespace {

template <typename T>
void store(std::uint8_t* out, T v, bool big_endian) {
  constexpr std::size_t n = sizeof(T);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t shift = big_endian ? 8 * (n - 1 - i) : 8 * i;
    out[i] = static_cast<std::uint8_t>((v >> shift) & 0xffu);
  }
}

template <typename T>
void append(std::vector<std::uint8_t>& bytes, T v, bool big_endian) {
  const std::size_t at = bytes.size();
  bytes.resize(at + sizeof(T));
  store(bytes.data() + at, v, big_endian);
}

}  // namespace

std::string format_hex(std::uint64_t value) {
  char buf[2 + 16];
  buf[0] = '0';
  buf[1] = 'x';
  auto [end, ec] = std::to_chars(buf + 2, buf + sizeof buf, value, 16);
  (void)ec;  // 16 hex digits always fit
  return std::string(buf, end);
}

void ByteWriter::put_u16_be(std::uint16_t v) {
  append(bytes_, v, true);
}
void ByteWriter::put_u32_be(std::uint32_t v) {
  append(bytes_, v, true);
}
void ByteWriter::put_u16_le(std::uint16_t v) {
  append(bytes_, v, false);
}
void ByteWriter::put_u32_le(std::uint32_t v) {
  append(bytes_, v, false);
}
void ByteWriter::put_u64_le(std::uint64_t v) {
  append(bytes_, v, false);
}

void ByteWriter::put_bytes(std::span<const std::uint8_t> b) {
  bytes_.insert(bytes_.end(), b.begin(), b.end());
}

void ByteWriter::put_zeros(std::size_t n) {
  bytes_.resize(bytes_.size() + n, 0);
}

void ByteWriter::pad_to_multiple(std::size_t multiple, std::size_t from) {
  assert(multiple > 0 && from <= bytes_.size());
  const std::size_t rem = (bytes_.size() - from) % multiple;
  if (rem != 0) put_zeros(multiple - rem);
}

void ByteWriter::patch_u16_be(std::size_t pos, std::uint16_t v) {
  assert(pos + 2 <= bytes_.size());
  store(bytes_.data() + pos, v, true);
}

void ByteWriter::patch_u32_be(std::size_t pos, std::uint32_t v) {
  assert(pos + 4 <= bytes_.size());
  store(bytes_.data() + pos, v, true);
}

void ByteWriter::patch_u32_le(std::size_t pos, std::uint32_t v) {
  assert(pos + 4 <= bytes_.size());
  store(bytes_.data() + pos, v, false);
}

void ByteWriter::patch_u64_le(std::size_t pos, std::uint64_t v) {
  assert(pos + 8 <= bytes_.size());
  store(bytes_.data() + pos, v, false);
}

void ByteWriter::patch_bytes(std::size_t pos, std::span<const std::uint8_t> b) {
  assert(pos + b.size() <= bytes_.size());
  std::copy(b.begin(), b.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(pos));
}

}  // namespace shype::acm
