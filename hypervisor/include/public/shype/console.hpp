// console_io (Op::console_io): a guest's console. Output goes to a ring the
// hypervisor keeps per domain (Domain-0 reads it with domctl console_read);
// input written by Domain-0 (domctl console_write) reaches the guest as
// notifications.
#pragma once

#include <cstdint>

namespace shype::abi {

enum class ConsoleIoOp : std::uint32_t {
  write = 0,  // CONSOLEIO_write: payload = the bytes (1 .. kMaxPayload)
  read = 1,   // CONSOLEIO_read: response payload = pending input bytes (maybe none)
};

// Notification (op console_io, subop read) sent to a guest when Domain-0
// typed into its console: payload = the bytes.

// Size of the per-domain console output ring kept by the hypervisor.
inline constexpr std::uint32_t kConsoleRingSize = 64 * 1024;

}  // namespace shype::abi
