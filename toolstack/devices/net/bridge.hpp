// The software bridge of netback (one per bridge name, "xenbr0" by
// default): a learning switch between the vifs attached to it. A frame
// from one port goes to the port that last sent from its destination MAC;
// broadcast, multicast and unknown destinations are flooded to every other
// port. Label control is not the bridge's business: netback passes each
// (source, destination) pair the bridge names through the LabelFilter
// (label_filter.hpp) before it delivers.
//
// Pure logic (no I/O, time passed in), so it is unit tested on its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mac_address.hpp"
#include "netif_frame.hpp"
#include "shype/abi.hpp"

namespace shype::devices::net {

using PortId = std::uint32_t;

struct BridgePort {
  abi::domid_t domid = 0;
  std::uint32_t devid = 0;
  MacAddress mac;  // the vif's configured address
};

class Bridge {
 public:
  using Clock = std::chrono::steady_clock;
  // Learned addresses expire after `ageing` (Linux bridges: 300 s); at most
  // `max_addresses` are kept (beyond that new ones are flooded to, not
  // learned, so a guest inventing source addresses cannot grow memory).
  explicit Bridge(std::string name, std::chrono::seconds ageing = std::chrono::seconds{300},
                  std::size_t max_addresses = 4096);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  void add_port(PortId id, const BridgePort& port);
  // Forgets the port and every address learned on it.
  void remove_port(PortId id);
  [[nodiscard]] const BridgePort* port(PortId id) const;
  [[nodiscard]] std::size_t port_count() const noexcept { return ports_.size(); }
  [[nodiscard]] bool empty() const noexcept { return ports_.empty(); }

  // Learns where `header.source` lives (unicast sources only) and returns the
  // ports the frame goes to, ascending, never `from`. A frame from a port the
  // bridge does not know goes nowhere.
  [[nodiscard]] std::vector<PortId> route(PortId from, const EthernetHeader& header,
                                          Clock::time_point now);

  // The port `mac` was learned on, if it is still fresh.
  [[nodiscard]] std::optional<PortId> lookup(const MacAddress& mac, Clock::time_point now) const;
  [[nodiscard]] std::size_t learned_count() const noexcept { return table_.size(); }

 private:
  struct Learned {
    PortId port = 0;
    Clock::time_point seen;
  };
  void learn(const MacAddress& mac, PortId port, Clock::time_point now);

  std::string name_;
  std::chrono::seconds ageing_;
  std::size_t max_addresses_;
  std::map<PortId, BridgePort> ports_;
  std::unordered_map<std::uint64_t, Learned> table_;  // MacAddress::key()
};

}  // namespace shype::devices::net
