// The descriptors a guest holds besides fds 3..6, by what they are for.
// The event-channel helpers (next stage) keep each port's own doorbell
// (waited on by wait_for_events) and peer doorbell here; the grant helpers
// keep granted frames and grant mappings here. Keys: the event-channel port
// for doorbells, the grant reference or map handle for grant frames.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::guest {

enum class FdRole : std::uint8_t {
  doorbell_own,   // eventfd this domain waits on (event_channel.hpp)
  doorbell_peer,  // eventfd that notifies the remote end
  grant_frame,    // one-page memfd mapped over a frame this domain granted
  grant_mapping,  // one-page memfd of another domain's grant, mapped here
};

// RLIMIT_NOFILE (2048) minus fds 0..6 and one spare.
inline constexpr std::size_t kFdTableCapacity = 2040;

namespace fd_table {

// Records fd; 0, or -ENOSPC when full, -EEXIST if (role, key) is present.
int add(int fd, FdRole role, std::uint32_t key);
// The fd recorded for (role, key), or -ENOENT.
[[nodiscard]] int find(FdRole role, std::uint32_t key);
// Forgets and closes fd; false if it was not recorded.
bool remove(int fd);
// The key of the first own doorbell marked pending by wait_for_events,
// clearing the mark; false if none.
[[nodiscard]] bool take_pending_doorbell(std::uint32_t* key);
[[nodiscard]] std::size_t size();

}  // namespace fd_table
}  // namespace shype::guest
