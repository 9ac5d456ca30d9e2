#include "acm/fingerprint.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace shype::acm {
namespace {

// EVP_Digest only fails on allocation failure or a broken OpenSSL; there is
// no meaningful way for a caller to recover, so this is treated as fatal.
template <std::size_t N>
std::array<std::uint8_t, N> digest(const EVP_MD* md, std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    throw std::runtime_error("OpenSSL digest failed");
  }
  return out;
}

}  // namespace

Sha1Digest sha1(std::span<const std::uint8_t> data) {
  return digest<20>(EVP_sha1(), data);
}

Sha256Digest sha256(std::span<const std::uint8_t> data) {
  return digest<32>(EVP_sha256(), data);
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace shype::acm
