// sched_op (Op::sched_op): yield, and shutdown with a reason, as Xen's
// SCHEDOP_*. Blocking is done by the guest itself, waiting on its upcall
// eventfd and doorbells.
#pragma once

#include <cstdint>

namespace shype::abi {

enum class SchedOp : std::uint32_t {
  yield = 0,     // SCHEDOP_yield
  block = 1,     // SCHEDOP_block: returns at once (the guest polls its fds)
  shutdown = 2,  // SCHEDOP_shutdown: payload SchedShutdown; no response
};

enum class ShutdownReason : std::uint32_t {
  poweroff = 0,  // SHUTDOWN_poweroff
  reboot = 1,    // SHUTDOWN_reboot
  suspend = 2,   // SHUTDOWN_suspend: memory saved, domain kept for restore
  crash = 3,     // SHUTDOWN_crash
};

struct SchedShutdown {
  std::uint32_t reason;  // ShutdownReason
};
static_assert(sizeof(SchedShutdown) == 4);

}  // namespace shype::abi
