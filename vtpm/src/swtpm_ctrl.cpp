#include "vtpm/swtpm_ctrl.hpp"

#include <array>
#include <cstdio>

#include <unistd.h>

#include "unix_io.hpp"

namespace shype::vtpm {

namespace {

const char* command_name(SwtpmCommand c) {
  switch (c) {
    case SwtpmCommand::get_capability:
      return "GET_CAPABILITY";
    case SwtpmCommand::init:
      return "INIT";
    case SwtpmCommand::shutdown:
      return "SHUTDOWN";
    case SwtpmCommand::store_volatile:
      return "STORE_VOLATILE";
    case SwtpmCommand::stop:
      return "STOP";
  }
  return "?";
}

}  // namespace

acm::Status swtpm_control(const std::filesystem::path& ctrl_socket, SwtpmCommand command,
                          std::chrono::milliseconds timeout) {
  const auto deadline = detail::Clock::now() + timeout;
  const std::string what = std::string("swtpm control ") + command_name(command);
  auto fd = detail::connect_unix(ctrl_socket);
  if (!fd) return acm::make_error(acm::Errc::io_error, what + ": " + fd.error().message);
  std::array<std::uint8_t, 8> request{};
  detail::store_be32(request.data(), static_cast<std::uint32_t>(command));
  // INIT carries 4 bytes of flags (0: keep the volatile state).
  const std::size_t length = command == SwtpmCommand::init ? 8 : 4;
  auto status = detail::write_all(*fd, request.data(), length, deadline, what);
  std::array<std::uint8_t, 4> result{};
  if (status) {
    // GET_CAPABILITY answers result + capability bits; only the result matters.
    status = detail::read_exact(*fd, result.data(), result.size(), deadline, what);
  }
  ::close(*fd);
  if (!status) return status;
  const std::uint32_t code = detail::load_be32(result.data());
  if (code != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", code);
    return acm::make_error(acm::Errc::io_error, what + " failed with TPM result " + hex);
  }
  return {};
}

}  // namespace shype::vtpm
