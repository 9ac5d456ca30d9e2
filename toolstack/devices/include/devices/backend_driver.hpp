// A backend driver (blkback, netback): serves every device of its class
// that the toolstack describes in xenstore under
//   /local/domain/<backend>/backend/<class>/<frontend-domid>/<devid>/
// (shype/io/xenbus.hpp). It watches that directory, creates a backend
// instance for each new device, walks the xenbus handshake with the
// frontend, connects the rings and serves them; when the directory goes
// away or the frontend closes, it disconnects and unmaps.
//
// Drivers run on the device thread (device_loop.hpp). A misbehaving
// frontend (garbage in a ring, bad grants, floods) gets error responses or
// is disconnected; it never stops the driver or the other devices.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "devices/device_host.hpp"
#include "devices/device_loop.hpp"

namespace shype::devices {

struct BackendStats {
  std::uint64_t requests = 0;  // served (blk: requests; net: frames sent by the guest)
  std::uint64_t errors = 0;    // answered with an error
  std::uint64_t delivered = 0; // net: frames delivered to the guest
  std::uint64_t denied = 0;    // net: frames from the guest refused by the policy
  std::uint64_t dropped = 0;   // net: frames for the guest dropped (no rx buffer posted)
};

class BackendDriver {
 public:
  virtual ~BackendDriver() = default;
  // "vbd" or "vif".
  [[nodiscard]] virtual std::string_view device_class() const = 0;
  // Counters of one device, if this driver serves it.
  [[nodiscard]] virtual std::optional<BackendStats> stats(abi::domid_t frontend,
                                                          std::uint32_t devid) const = 0;
  // Drops every device of `domid` (as frontend) at once: the domain is gone.
  virtual void release_frontend(abi::domid_t domid) = 0;
  // The policy or a label changed (xend: setpolicy, run-time update,
  // resetpolicy, relabel): decisions cached by the driver are dropped.
  // netback's bridges cache one per pair of domains.
  virtual void policy_changed() {}
};

// Domain-0's drivers, created by the device host on its thread.
[[nodiscard]] std::unique_ptr<BackendDriver> make_blkback(DeviceLoop& loop);
[[nodiscard]] std::unique_ptr<BackendDriver> make_netback(DeviceLoop& loop);

}  // namespace shype::devices
