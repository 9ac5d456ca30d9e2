// The domain-facing channel of a vTPM instance (Xen's tpmback): the
// interface the split-device work will connect to guests' tpmfront. It is
// not connected to guests yet; today it carries commands from Domain-0 code
// (and the benchmark) to an instance's worker.
//
// Contract:
//  - transmit() takes one whole TPM 2.0 command frame and returns the whole
//    response frame, or an error; it never returns a partial frame;
//  - the frame is checked before it is sent (check_command_frame): a header
//    of tag, size, code (TPM 2.0 Part 1, 18.2), the size field equal to the
//    frame's length and at most kMaxFrameBytes; a malformed frame is refused
//    without reaching the TPM;
//  - one instance's failure (a crashed worker, a timeout) is reported for
//    that instance only; other instances are unaffected.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "acm/error.hpp"

namespace shype::vtpm {

// Largest command or response frame (swtpm's and Xen tpmif's page-sized buffer).
inline constexpr std::size_t kMaxFrameBytes = 4096;
inline constexpr std::size_t kFrameHeaderBytes = 10;

// Checks a command frame's header. Errors (invalid_argument) name the field.
[[nodiscard]] acm::Status check_command_frame(std::span<const std::uint8_t> frame);
// The same checks for a response frame (tag, size).
[[nodiscard]] acm::Status check_response_frame(std::span<const std::uint8_t> frame);

class TpmBackend {
 public:
  virtual ~TpmBackend() = default;
  [[nodiscard]] virtual acm::Result<std::vector<std::uint8_t>> transmit(
      std::span<const std::uint8_t> command) = 0;
};

// A backend on an instance's data socket (swtpm protocol: raw frames). The
// connection is opened by connect() and kept.
[[nodiscard]] acm::Result<std::unique_ptr<TpmBackend>> connect_instance(
    const std::filesystem::path& tpm_socket, std::chrono::milliseconds timeout);

}  // namespace shype::vtpm
