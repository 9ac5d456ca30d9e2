#include "vtpm/tpmback.hpp"

#include <utility>

#include <unistd.h>

#include "unix_io.hpp"

namespace shype::vtpm {

using acm::Errc;
using acm::make_error;

namespace {

// TPM 2.0 Part 2, 6.9: TPM_ST_NO_SESSIONS and TPM_ST_SESSIONS; TPM 1.2
// responses from a TPM 2.0 answer TPM_ST_RSP_COMMAND (0x00c4) for bad tags.
constexpr std::uint16_t kNoSessions = 0x8001;
constexpr std::uint16_t kSessions = 0x8002;
constexpr std::uint16_t kRspCommand = 0x00c4;

std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

acm::Status check_frame(std::span<const std::uint8_t> frame, bool response) {
  const char* kind = response ? "response" : "command";
  if (frame.size() < kFrameHeaderBytes) {
    return make_error(Errc::invalid_argument, std::string("TPM ") + kind + " frame is " +
                                                  std::to_string(frame.size()) +
                                                  " bytes, shorter than its 10-byte header");
  }
  if (frame.size() > kMaxFrameBytes) {
    return make_error(Errc::invalid_argument,
                      std::string("TPM ") + kind + " frame is " + std::to_string(frame.size()) +
                          " bytes, more than " + std::to_string(kMaxFrameBytes));
  }
  const std::uint16_t tag = load_be16(frame.data());
  if (tag != kNoSessions && tag != kSessions && !(response && tag == kRspCommand)) {
    return make_error(Errc::invalid_argument,
                      std::string("TPM ") + kind + " frame: tag " + std::to_string(tag) +
                          " is neither TPM_ST_NO_SESSIONS nor TPM_ST_SESSIONS");
  }
  const std::uint32_t size = detail::load_be32(frame.data() + 2);
  if (size != frame.size()) {
    return make_error(Errc::invalid_argument, std::string("TPM ") + kind + " frame: size field " +
                                                  std::to_string(size) + " but the frame has " +
                                                  std::to_string(frame.size()) + " bytes");
  }
  return {};
}

class SocketBackend final : public TpmBackend {
 public:
  SocketBackend(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;
  ~SocketBackend() override { ::close(fd_); }

  acm::Result<std::vector<std::uint8_t>> transmit(std::span<const std::uint8_t> command) override {
    if (auto ok = check_command_frame(command); !ok) return tl::unexpected(ok.error());
    const auto deadline = detail::Clock::now() + timeout_;
    if (auto ok = detail::write_all(fd_, command.data(), command.size(), deadline, "vTPM command");
        !ok) {
      return tl::unexpected(ok.error());
    }
    std::vector<std::uint8_t> response(kFrameHeaderBytes);
    if (auto ok =
            detail::read_exact(fd_, response.data(), response.size(), deadline, "vTPM response");
        !ok) {
      return tl::unexpected(ok.error());
    }
    const std::uint32_t size = detail::load_be32(response.data() + 2);
    if (size < kFrameHeaderBytes || size > kMaxFrameBytes) {
      return make_error(Errc::io_error,
                        "vTPM response announces " + std::to_string(size) + " bytes");
    }
    response.resize(size);
    if (auto ok = detail::read_exact(fd_, response.data() + kFrameHeaderBytes,
                                     size - kFrameHeaderBytes, deadline, "vTPM response");
        !ok) {
      return tl::unexpected(ok.error());
    }
    if (auto ok = check_response_frame(response); !ok) return tl::unexpected(ok.error());
    return response;
  }

 private:
  int fd_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

acm::Status check_command_frame(std::span<const std::uint8_t> frame) {
  return check_frame(frame, false);
}

acm::Status check_response_frame(std::span<const std::uint8_t> frame) {
  return check_frame(frame, true);
}

acm::Result<std::unique_ptr<TpmBackend>> connect_instance(const std::filesystem::path& tpm_socket,
                                                          std::chrono::milliseconds timeout) {
  auto fd = detail::connect_unix(tpm_socket);
  if (!fd) return tl::unexpected(fd.error());
  return std::unique_ptr<TpmBackend>(std::make_unique<SocketBackend>(*fd, timeout));
}

}  // namespace shype::vtpm
