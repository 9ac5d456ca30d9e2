#include "bridge.hpp"

#include <utility>

namespace shype::devices::net {

Bridge::Bridge(std::string name, std::chrono::seconds ageing, std::size_t max_addresses)
    : name_(std::move(name)), ageing_(ageing), max_addresses_(max_addresses) {}

void Bridge::add_port(PortId id, const BridgePort& port) { ports_[id] = port; }

void Bridge::remove_port(PortId id) {
  ports_.erase(id);
  std::erase_if(table_, [id](const auto& entry) { return entry.second.port == id; });
}

const BridgePort* Bridge::port(PortId id) const {
  const auto it = ports_.find(id);
  return it == ports_.end() ? nullptr : &it->second;
}

void Bridge::learn(const MacAddress& mac, PortId port, Clock::time_point now) {
  if (mac.is_multicast() || mac.is_zero()) return;
  const auto it = table_.find(mac.key());
  if (it != table_.end()) {
    it->second = Learned{port, now};
    return;
  }
  if (table_.size() >= max_addresses_) {
    // Make room from stale entries only; a full table of fresh ones floods.
    std::erase_if(table_, [&](const auto& entry) { return now - entry.second.seen > ageing_; });
    if (table_.size() >= max_addresses_) return;
  }
  table_.emplace(mac.key(), Learned{port, now});
}

std::optional<PortId> Bridge::lookup(const MacAddress& mac, Clock::time_point now) const {
  const auto it = table_.find(mac.key());
  if (it == table_.end() || now - it->second.seen > ageing_) return std::nullopt;
  return it->second.port;
}

std::vector<PortId> Bridge::route(PortId from, const EthernetHeader& header,
                                  Clock::time_point now) {
  std::vector<PortId> out;
  if (!ports_.contains(from)) return out;
  learn(header.source, from, now);
  if (!header.destination.is_multicast()) {
    if (const auto known = lookup(header.destination, now)) {
      if (*known != from && ports_.contains(*known)) out.push_back(*known);
      return out;  // to itself: dropped, as a switch does
    }
  }
  for (const auto& [id, port] : ports_) {
    if (id != from) out.push_back(id);
  }
  return out;
}

}  // namespace shype::devices::net
