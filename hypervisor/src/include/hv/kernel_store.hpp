// The kernel images of the domains, kept so that a save can carry the
// kernel exactly as it runs (shype/save_image.hpp). createdomain reads the
// kernel Domain-0 passed once, here; the sandbox is then given a sealed copy
// of these bytes, so what runs, what is saved and what was checked are the
// same bytes even if Domain-0's file changes later.
//
// Images are shared: domains started from the same kernel hold one copy
// (keyed by SHA-256), released when the last of them is destroyed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "acm/fingerprint.hpp"
#include "hv/errno.hpp"

namespace shype::hv {

class KernelStore {
 public:
  using Image = std::shared_ptr<const std::vector<std::uint8_t>>;
  struct Failure {
    Errno status = Errno::inval;
    std::string reason;
  };

  // Reads a kernel from a regular file (from offset 0, at most
  // `max_bytes`): badf if it is not a regular file, inval if it is empty or
  // larger, io if it cannot be read.
  [[nodiscard]] tl::expected<Image, Failure> read(int fd, std::uint64_t max_bytes);
  // The shared copy of `bytes` (a restored domain's kernel).
  [[nodiscard]] Image intern(std::vector<std::uint8_t> bytes);
  // Distinct images held (for tests).
  [[nodiscard]] std::size_t size() const noexcept { return images_.size(); }

 private:
  std::map<acm::Sha256Digest, std::weak_ptr<const std::vector<std::uint8_t>>> images_;
};

}  // namespace shype::hv
