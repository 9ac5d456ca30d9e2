// Internal: state and helpers shared by the runtime's sources.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/guest/syscall.hpp"

// memory_functions.cpp (no <cstring> in a freestanding build).
extern "C" {
void* memcpy(void* destination, const void* source, std::size_t count);
void* memset(void* destination, int value, std::size_t count);
void* memmove(void* destination, const void* source, std::size_t count);
int memcmp(const void* left, const void* right, std::size_t count);
}

namespace shype::guest::detail {

// The hypervisor closed the channel (or it broke): exit.
[[noreturn]] void channel_lost();

// Whether a notification is queued.
[[nodiscard]] bool notification_pending();

// Fills `out` with pollfds for the own doorbells in the fd table; returns
// how many.
std::size_t collect_own_doorbells(sys::Pollfd* out, std::size_t capacity);
// Marks the own doorbell `fd` as rung.
void mark_doorbell_pending(int fd);

}  // namespace shype::guest::detail
