// A client for swtpm's control channel (swtpm's "ioctl" protocol over a
// Unix socket): a 4-byte big-endian command code, its payload, and a
// response that starts with a 4-byte big-endian result (0 = success). Only
// the commands the manager uses are here.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "acm/error.hpp"

namespace shype::vtpm {

enum class SwtpmCommand : std::uint32_t {
  get_capability = 0x01,
  init = 0x02,
  shutdown = 0x03,        // the worker terminates
  store_volatile = 0x0a,  // write tpm2-00.volatilestate now
  stop = 0x0e,
};

// Sends one command without payload (init sends flags = 0) and checks the
// result. Errors (io_error) say which command failed and why; every wait is
// bounded by `timeout`.
[[nodiscard]] acm::Status swtpm_control(const std::filesystem::path& ctrl_socket,
                                        SwtpmCommand command, std::chrono::milliseconds timeout);

}  // namespace shype::vtpm
