// A guest's devices (shype/io/xenbus.hpp): the frames they live in, the
// xenstore client and the xenbus handshake helpers that every frontend
// (console ring, blkfront, netfront) uses.
//
// When Domain-0 gave this domain devices (shared_info.start_flags &
// kStartDevices), the runtime connects the console ring and xenstore in
// _start before guest_main: console output then goes to the ring (the
// console daemon logs it and `xm console` shows it) instead of the
// hypervisor's console. Without devices everything below returns -ENODEV.
//
// Waiting: every wait below sleeps in wait_for_events and, whatever woke
// it, re-checks the rings it cares about; it never relies on one port's
// pending bit (another frontend may have drained it). Pending ports are
// drained with evtchn::next_pending by whoever waits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/io/xenbus.hpp"

namespace shype::guest {

// Whether Domain-0 gave this domain a console ring and xenstore.
[[nodiscard]] bool devices_available();

// Frames for device rings and buffers, handed out top-down from the end of
// guest memory (the console and store pages are the last two frames), so
// kernels keep the low frames (state_block uses frame 0 upwards). Returns
// the first of `count` consecutive frames, or -ENOMEM.
[[nodiscard]] std::int64_t alloc_frames(std::uint32_t count);

// Console input from the ring (what `xm console` typed): copies up to
// `capacity` bytes, returns how many (0: none waiting), or -ENODEV.
[[nodiscard]] std::int64_t console_ring_read(char* out, std::size_t capacity);

}  // namespace shype::guest

namespace shype::guest::xenbus {

// All calls are synchronous: one request on the store ring, its reply.
// Errors: -errno from the store's XS_ERROR (-ENOENT, -EACCES, -EINVAL,
// -E2BIG...), -ENODEV without devices, -ETIMEDOUT if the store did not
// answer within 10 s. Paths are absolute or relative to this domain's home
// (/local/domain/<domid>).

// Reads a value into `out` (NUL-terminated); -E2BIG if it does not fit.
int read(const char* path, char* out, std::size_t capacity);
// Reads a decimal unsigned value; -EINVAL if the node holds something else.
int read_u64(const char* path, std::uint64_t* out);
int write(const char* path, const char* value);
int write_u64(const char* path, std::uint64_t value);
// The same for node `node` of directory `dir` ("<dir>/<node>"; -E2BIG if
// that path is longer than the store allows).
int read_node(const char* dir, const char* node, char* out, std::size_t capacity);
int read_node_u64(const char* dir, const char* node, std::uint64_t* out);
int write_node(const char* dir, const char* node, const char* value);
int write_node_u64(const char* dir, const char* node, std::uint64_t value);
int mkdir(const char* path);
int rm(const char* path);
// The children of `path`, NUL-separated in `out`; *count set to how many.
int directory(const char* path, char* out, std::size_t capacity, std::uint32_t* count);

// Watches: `token` comes back with every event. The client keeps the
// watches set (up to 16, paths under 256 bytes) and sets them again when a
// new xend adopts the domain (it binds the store port again, and its store
// is new); each then fires once, as any watch does when set.
int watch(const char* path, const char* token);
int unwatch(const char* path, const char* token);
// Waits for the next watch event (queued ones first): copies the path and
// token (NUL-terminated). -ETIMEDOUT after timeout_ns (negative: forever).
int wait_watch(char* path, std::size_t path_capacity, char* token, std::size_t token_capacity,
               std::int64_t timeout_ns);
// How many watch events wait_watch has handed out so far, whoever took
// them. Backends sharing this domain's event queue (a driver domain serving
// disks and vifs) look for a change of it rather than for their token: the
// event they needed may have gone to another consumer.
[[nodiscard]] std::uint64_t watch_events_taken();

// Writes <dir>/state.
int switch_state(const char* dir, abi::io::XenbusState state);
// Reads <dir>/state (unknown if the node is missing).
[[nodiscard]] abi::io::XenbusState read_state(const char* dir);
// Waits until <dir>/state is `wanted` (watching it), or one of closing /
// closed when `wanted` is not; returns 0 when it is `wanted`, -ENOTCONN if
// the other end closed, -ETIMEDOUT.
int wait_for_state(const char* dir, abi::io::XenbusState wanted, std::int64_t timeout_ns);

// This domain's home directory ("/local/domain/<domid>").
[[nodiscard]] const char* home();

}  // namespace shype::guest::xenbus
