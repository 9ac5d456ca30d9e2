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

// Hands every queued event-channel notification (bound_notice,
// closed_notice) to evtchn::handle_event_notification, keeping the others
// queued in order for the kernel; returns how many it handled.
std::uint32_t absorb_event_notifications();

// Device bootstrap (devices.cpp): connects the console ring and xenstore
// when Domain-0 gave this domain devices; nullptr on success (or without
// devices), else what went wrong.
const char* start_devices();
// Whether console output goes to the console ring.
[[nodiscard]] bool console_ring_connected();
// Writes to the console ring (waiting, bounded, while it is full).
int console_ring_write(const char* bytes, std::size_t length);
// Waits politely for any event, at most timeout_ns: event-channel
// notices are absorbed, other notifications stay queued for the kernel.
void wait_a_little(std::int64_t timeout_ns);

// Whether a notification is queued.
[[nodiscard]] bool notification_pending();

// Fills `out` with pollfds for the own doorbells in the fd table; returns
// how many.
std::size_t collect_own_doorbells(sys::Pollfd* out, std::size_t capacity);
// Marks the own doorbell `fd` as rung.
void mark_doorbell_pending(int fd);

}  // namespace shype::guest::detail
