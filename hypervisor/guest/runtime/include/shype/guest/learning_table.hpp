// The address table of a driver domain's bridge (netback.hpp): which port
// (client vif) a unicast MAC address was last seen sending from. Fixed
// size, no heap, time passed in: freestanding, and unit tested on the host
// (tests/unit/devices/net_guest_learning_table_test.cpp).
//
// Rules (those of Domain-0's bridge, toolstack/devices/net/bridge.hpp):
//  - only unicast sources are learned (a multicast source is a lie);
//  - an entry expires `ageing_ns` after it was last refreshed;
//  - when every slot holds a fresh entry, a new address is not learned:
//    frames to it are flooded instead, so a client inventing source
//    addresses cannot push the others' addresses out;
//  - a port that goes away takes its addresses with it.
// Flooding never widens what a frame may reach: the bridge asks the
// hypervisor about every destination anyway.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::guest::netback {

inline constexpr std::uint32_t kNoPort = 0xffffffffu;

[[nodiscard]] constexpr bool is_multicast_mac(const std::uint8_t* mac) {
  return (mac[0] & 1u) != 0;
}

template <std::size_t Capacity>
class LearningTable {
 public:
  constexpr explicit LearningTable(std::uint64_t ageing_ns) : ageing_ns_(ageing_ns) {}

  // `mac` (6 bytes) was seen sending from `port` at `now_ns`.
  constexpr void learn(const std::uint8_t* mac, std::uint32_t port, std::uint64_t now_ns) {
    if (is_multicast_mac(mac) || port == kNoPort) return;
    Entry* free_slot = nullptr;
    for (Entry& e : entries_) {
      if (e.used && same(e.mac, mac)) {
        e.port = port;
        e.seen_ns = now_ns;
        return;
      }
      if (free_slot == nullptr && (!e.used || expired(e, now_ns))) free_slot = &e;
    }
    if (free_slot == nullptr) return;  // full of fresh entries: flood instead
    free_slot->used = true;
    for (int i = 0; i < 6; ++i) free_slot->mac[i] = mac[i];
    free_slot->port = port;
    free_slot->seen_ns = now_ns;
  }

  // The port `mac` was learned on, or kNoPort (unknown, expired, multicast).
  [[nodiscard]] constexpr std::uint32_t lookup(const std::uint8_t* mac,
                                               std::uint64_t now_ns) const {
    if (is_multicast_mac(mac)) return kNoPort;
    for (const Entry& e : entries_) {
      if (e.used && same(e.mac, mac)) return expired(e, now_ns) ? kNoPort : e.port;
    }
    return kNoPort;
  }

  // Forgets every address learned on `port`.
  constexpr void forget_port(std::uint32_t port) {
    for (Entry& e : entries_) {
      if (e.used && e.port == port) e.used = false;
    }
  }

  // Entries held, fresh or not (for tests and statistics).
  [[nodiscard]] constexpr std::size_t size() const {
    std::size_t n = 0;
    for (const Entry& e : entries_) n += e.used ? 1 : 0;
    return n;
  }
  [[nodiscard]] static constexpr std::size_t capacity() { return Capacity; }

 private:
  struct Entry {
    bool used = false;
    std::uint8_t mac[6] = {};
    std::uint32_t port = kNoPort;
    std::uint64_t seen_ns = 0;
  };
  static constexpr bool same(const std::uint8_t* a, const std::uint8_t* b) {
    for (int i = 0; i < 6; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  constexpr bool expired(const Entry& e, std::uint64_t now_ns) const {
    return now_ns >= e.seen_ns && now_ns - e.seen_ns >= ageing_ns_;
  }

  std::uint64_t ageing_ns_;
  Entry entries_[Capacity] = {};
};

}  // namespace shype::guest::netback
