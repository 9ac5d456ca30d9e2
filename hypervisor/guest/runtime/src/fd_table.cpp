// The fd table (fd_table.hpp): a small array, scanned linearly.
#include "shype/guest/fd_table.hpp"

#include "internal.hpp"
#include "shype/guest/syscall.hpp"

namespace shype::guest {
namespace {

struct Slot {
  int fd;
  FdRole role;
  bool used;
  bool pending;
  std::uint32_t key;
};

Slot g_slots[kFdTableCapacity];
constinit std::size_t g_used = 0;
// One past the highest slot in use: every scan stops there. A guest holds a
// few descriptors and the table has room for 2040, and notify and
// wait_for_events scan it on every event.
constinit std::size_t g_end = 0;

// The slots that may be in use.
Slot* begin_slots() {
  return g_slots;
}
Slot* end_slots() {
  return g_slots + g_end;
}

Slot* find_slot(FdRole role, std::uint32_t key) {
  for (Slot* slot = begin_slots(); slot != end_slots(); ++slot) {
    if (slot->used && slot->role == role && slot->key == key) return slot;
  }
  return nullptr;
}

}  // namespace

namespace fd_table {

int add(int fd, FdRole role, std::uint32_t key) {
  if (find_slot(role, key) != nullptr) return -sys::kEEXIST;
  for (std::size_t i = 0; i < kFdTableCapacity; ++i) {
    if (!g_slots[i].used) {
      g_slots[i] = Slot{fd, role, true, false, key};
      ++g_used;
      if (i + 1 > g_end) g_end = i + 1;
      return 0;
    }
  }
  return -sys::kENOSPC;
}

int find(FdRole role, std::uint32_t key) {
  const Slot* slot = find_slot(role, key);
  return slot != nullptr ? slot->fd : -sys::kENOENT;
}

bool remove(int fd) {
  for (Slot* slot = begin_slots(); slot != end_slots(); ++slot) {
    if (slot->used && slot->fd == fd) {
      sys::close(fd);
      slot->used = false;
      --g_used;
      while (g_end > 0 && !g_slots[g_end - 1].used)
        --g_end;
      return true;
    }
  }
  return false;
}

bool take_pending_doorbell(std::uint32_t* key) {
  for (Slot* slot = begin_slots(); slot != end_slots(); ++slot) {
    if (slot->used && slot->pending && slot->role == FdRole::doorbell_own) {
      slot->pending = false;
      *key = slot->key;
      return true;
    }
  }
  return false;
}

std::size_t size() {
  return g_used;
}

}  // namespace fd_table

namespace detail {

std::size_t collect_own_doorbells(sys::Pollfd* out, std::size_t capacity) {
  std::size_t count = 0;
  for (const Slot* slot = begin_slots(); slot != end_slots(); ++slot) {
    if (count == capacity) break;
    if (slot->used && slot->role == FdRole::doorbell_own) {
      out[count++] = sys::Pollfd{slot->fd, sys::kPollIn, 0};
    }
  }
  return count;
}

void mark_doorbell_pending(int fd) {
  for (Slot* slot = begin_slots(); slot != end_slots(); ++slot) {
    if (slot->used && slot->fd == fd && slot->role == FdRole::doorbell_own) slot->pending = true;
  }
}

}  // namespace detail
}  // namespace shype::guest
