// Internal: what the driver domain's backends (blkback, netback) share
// while they scan their xenstore directory for devices.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::guest::detail {

// For device <front>/<devid> found by a scan: nullptr if an entry of
// `table` already serves it (that entry is marked seen) or the table is
// full (the device is served once an entry frees up); otherwise a free
// entry for it. `is_free(entry)` says whether an entry is unused.
template <typename Entry, std::size_t N, typename IsFree>
Entry* entry_for_new_device(Entry (&table)[N], std::uint64_t front, std::uint64_t devid,
                            IsFree is_free) {
  Entry* slot = nullptr;
  for (Entry& e : table) {
    if (is_free(e)) {
      if (slot == nullptr) slot = &e;
    } else if (e.front == front && e.devid == devid) {
      e.seen = true;
      return nullptr;
    }
  }
  return slot;
}

}  // namespace shype::guest::detail
