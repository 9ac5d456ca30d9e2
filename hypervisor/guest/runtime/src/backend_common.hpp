// Internal: what the driver domain's backends (blkback, netback) share
// while they scan their xenstore directory for devices.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/guest/xenbus.hpp"
#include "shype/io/xenbus.hpp"
#include "text.hpp"

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

// One scan of a backend directory `root` (<root>/<front>/<devid>): every
// entry of `table` serving a listed device is marked seen; a listed device
// that none serves, and whose state node the toolstack has written (it
// writes it last), gets a free entry, reset and filled in (front, devid,
// seen, dir), and `set_up(entry)` is called. `fronts` and `devices` are
// scratch buffers for the two directory listings. The caller releases the
// entries not seen (their devices are gone). Entries have members `front`,
// `devid`, `seen` and `dir` (a char array).
template <typename Entry, std::size_t N, typename IsFree, typename SetUp>
void scan_backend_directory(const char* root, Entry (&table)[N], char* fronts,
                            std::size_t fronts_capacity, char* devices,
                            std::size_t devices_capacity, IsFree is_free, SetUp set_up) {
  using Path = Text<256>;  // the device directories the backends keep
  for (Entry& e : table) e.seen = false;
  std::uint32_t front_count = 0;
  const int listed = xenbus::directory(root, fronts, fronts_capacity, &front_count);
  const char* front_name = fronts;
  for (std::uint32_t f = 0; listed == 0 && f < front_count;
       ++f, front_name += length_of(front_name) + 1) {
    std::uint64_t front = 0;
    if (!parse_u64(front_name, &front) || front > abi::kDomidMaxGuest) continue;
    Path front_path;
    front_path.add(root).add("/").add(front_name);
    std::uint32_t device_count = 0;
    if (!front_path.ok() ||
        xenbus::directory(front_path.c_str(), devices, devices_capacity, &device_count) != 0) {
      continue;
    }
    const char* dev_name = devices;
    for (std::uint32_t d = 0; d < device_count; ++d, dev_name += length_of(dev_name) + 1) {
      std::uint64_t devid = 0;
      if (!parse_u64(dev_name, &devid) || devid > 0xffffffffu) continue;
      Entry* slot = entry_for_new_device(table, front, devid, is_free);
      if (slot == nullptr) continue;
      Path dir;
      dir.add(front_path.c_str()).add("/").add(dev_name);
      if (!dir.ok() || xenbus::read_state(dir.c_str()) == abi::io::XenbusState::unknown) continue;
      *slot = Entry{};
      slot->front = static_cast<decltype(slot->front)>(front);
      slot->devid = static_cast<std::uint32_t>(devid);
      slot->seen = true;
      copy_text(slot->dir, sizeof slot->dir, dir.c_str());
      set_up(*slot);
    }
  }
}

}  // namespace shype::guest::detail
