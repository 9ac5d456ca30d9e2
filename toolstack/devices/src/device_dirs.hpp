// What the device host's disk and network parts share about a split
// device's two xenstore directories (shype/io/xenbus.hpp):
//
//   frontend /local/domain/<front>/device/<class>/<devid>/         owner front, backend reads
//   backend  /local/domain/<back>/backend/<class>/<front>/<devid>/  owner back, front reads
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "device_host_impl.hpp"
#include "devices/store_client.hpp"
#include "devices/xenstore.hpp"  // domain_home
#include "shype/io/xenbus.hpp"

namespace shype::devices {

// A whole decimal number of type T; nullopt for anything else.
template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The frontend directory of device `devid` of class `kind` ("vbd", "vif").
std::string frontend_dir(std::string_view kind, abi::domid_t front, std::uint32_t devid);
// The backend directory in `back`'s tree for that device.
std::string backend_dir(std::string_view kind, abi::domid_t back, abi::domid_t front,
                        std::uint32_t devid);

// The state node of `dir` as a number (0 if absent or not a number).
std::uint32_t read_state(StoreClient& store, const std::string& dir);
// The node at `path` as a number (-1 if absent or not a number).
std::int64_t read_number(StoreClient& store, const std::string& path);
// A state as it is written to a state node.
std::string state_text(abi::io::XenbusState state);
// An I/O error for a failed store request (`code` a positive errno).
acm::Error store_error(const std::string& what, int code);

using DeviceNodes = std::vector<std::pair<std::string, std::string>>;

// Writes both directories of a new device, each node with its directory's
// permissions (the frontend's owned by `front` and readable by `back`, the
// backend's the other way round), the frontend first. On failure both
// directories are removed and the error names the one that failed.
Status write_device_dirs(StoreClient& store, abi::domid_t front, const std::string& fe,
                         const DeviceNodes& fe_nodes, abi::domid_t back, const std::string& be,
                         const DeviceNodes& be_nodes);

// Detaches the device whose frontend directory is `fe`, from the caller's
// thread: if the frontend is active (state from `first_active` to
// Connected) its backend is set Closing and the frontend waited for
// (bounded by `wait`; `late` logged as a warning when time runs out; the
// device thread keeps serving meanwhile); then both directories are
// removed. `missing` is the error when `fe` has no backend.
Status detach_device(DeviceHostImpl& host, hv::Log& log, const std::string& what,
                     const std::string& fe, abi::io::XenbusState first_active,
                     const std::string& missing, const std::string& late,
                     std::chrono::milliseconds wait);

}  // namespace shype::devices
