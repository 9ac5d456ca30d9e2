// The shype guest runtime: what a paravirtual guest kernel links against
// instead of libc (ARCHITECTURE 2). Freestanding: no libc, no libstdc++,
// no heap; all state is static. Single-threaded.
//
// Startup (the runtime's _start, before guest_main):
//  1. map shared_info (fd abi::kSharedInfoFd) at abi::kSharedInfoAddress,
//     check its magic and read memory_bytes;
//  2. map guest memory (fd abi::kMemoryFd, memory_bytes) at
//     abi::kGuestMemoryBase, MAP_SHARED | MAP_FIXED_NOREPLACE;
//  3. handshake: request op xen_version (subop 0, no payload, seq 1); the
//     response carries VersionInfo, whose major must be abi::kVersionMajor
//     and whose domid is this domain's id;
//  4. guest_main(argc, argv): argv[0] = the domain name, argv[1] = the
//     cmdline ("" if none);
//  5. its return value becomes sched_op shutdown: poweroff if 0, else crash.
// A failure in 1-3 is written to the console (if the channel works) and
// ends in shutdown(crash).
//
// If the hypervisor closes the channel the process exits with status
// kExitChannelLost: without the hypervisor a guest cannot do anything.
//
// Save and restore (the Xen PV way): see "Suspend and resume" below. A
// restored domain runs the same kernel from _start again, in a new process,
// with the saved guest memory and shared_info.resume_count > 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/sched.hpp"
#include "shype/shared_info.hpp"

// Provided by the kernel.
int guest_main(int argc, char** argv);

namespace shype::guest {

inline constexpr int kExitChannelLost = 125;

// ---- Identity and memory -------------------------------------------------

// This domain's id (from the handshake).
[[nodiscard]] std::uint32_t domid();
// argv[0]: the domain name.
[[nodiscard]] const char* name();
// Size of guest memory in bytes and in frames.
[[nodiscard]] std::uint64_t memory_bytes();
[[nodiscard]] std::uint64_t frame_count();
// Address of frame n (kGuestMemoryBase + n * kPageSize); nullptr if n is
// not a frame of this guest.
[[nodiscard]] void* frame_address(std::uint64_t frame);
// The shared_info page. The hypervisor changes it concurrently: read and
// clear its bits with __atomic builtins.
[[nodiscard]] abi::SharedInfo* shared_info();

// ---- Hypercalls ----------------------------------------------------------

// One request and its response. Returns the response status (0 or -errno
// from the hypervisor), or a local -errno: -EMSGSIZE if the payload is
// larger than abi::kMaxPayload or the response does not fit in `out` /
// carries more than `max_fds` descriptors (those are closed). `out`,
// `out_length`, `fds_out` and `fd_count` may be null when nothing is
// expected. Notifications that arrive meanwhile are queued
// (next_notification).
int hypercall(abi::Op op, std::uint32_t subop, const void* payload, std::size_t length, void* out,
              std::size_t out_capacity, std::size_t* out_length, int* fds_out,
              std::uint32_t max_fds, std::uint32_t* fd_count);
// Same, for calls without a response payload or descriptors.
int hypercall(abi::Op op, std::uint32_t subop, const void* payload, std::size_t length);

// ---- Console -------------------------------------------------------------

// Writes bytes to this domain's console (console_io write, split into
// abi::kMaxPayload pieces). Returns 0 or the first error.
int console_write(const char* bytes, std::size_t length);
int console_puts(const char* text);
// A small printf: %d %u %ld %lu %x %lx %s %c %% (no width or precision).
int console_printf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// ---- Life cycle ----------------------------------------------------------

// sched_op shutdown with `reason`; the process then exits (status = the
// reason's number). The hypervisor sends no response.
[[noreturn]] void shutdown(abi::ShutdownReason reason);

// ---- Suspend and resume ----------------------------------------------------
//
// Domain-0 saves a domain by asking it to suspend: a shutdown request with
// reason suspend (is_shutdown_request) and VIRQ_SUSPEND. The kernel puts
// everything it needs to go on into guest memory (state_block below), then
// calls suspend(); the hypervisor saves guest memory with the kernel, its
// cmdline and label. A kernel that does not answer within Domain-0's bound
// is not saved and keeps running.
//
// Only guest memory survives. On restore the kernel starts from _start in a
// new process (a new domain id, usually): its static variables, the
// runtime's state, descriptors, event channels, grants and mappings are
// new, and frames it had granted are plain memory again holding what the
// grant page held. resumed() tells the two starts apart; a resumed kernel
// finds its state block again and re-creates its channels.

// Whether this start continues a saved domain (shared_info.resume_count > 0).
[[nodiscard]] bool resumed();
// How often this domain has been restored (0 on a fresh start).
[[nodiscard]] std::uint32_t resume_count();
// The kernel's last step of a save: sched_op shutdown(suspend). Guest memory
// is final from here on; the process exits.
[[noreturn]] void suspend();

// A block of `size` bytes of state in guest memory, starting at frame
// `frame`, behind a 32-byte header that names it (`tag`, size). On a fresh
// start the block is zeroed and *restored = false; when resumed and the
// header matches (same tag and size) it is kept as saved and *restored =
// true. Returns nullptr if it does not fit in guest memory. The frames it
// covers must not be granted (a grant moves the frame into a page of its
// own while it lasts). 32-byte aligned.
[[nodiscard]] void* state_block(std::uint64_t tag, std::size_t size, std::uint64_t frame,
                                bool* restored);
// state_block for a trivially copyable T.
template <typename T>
[[nodiscard]] T* persistent_state(std::uint64_t tag, std::uint64_t frame = 0,
                                  bool* restored = nullptr) {
  static_assert(__is_trivially_copyable(T), "state that survives a save must be plain bytes");
  static_assert(alignof(T) <= 32, "state blocks are 32-byte aligned");
  bool ignored = false;
  return static_cast<T*>(
      state_block(tag, sizeof(T), frame, restored != nullptr ? restored : &ignored));
}

// ---- Time ----------------------------------------------------------------

// CLOCK_MONOTONIC in nanoseconds (the clock of shared_info.system_time_ns).
[[nodiscard]] std::uint64_t now_ns();
// Sleeps; events arriving meanwhile stay pending for wait_for_events.
void sleep_ns(std::uint64_t duration_ns);

// ---- Events --------------------------------------------------------------

inline constexpr std::uint32_t kEventUpcall = 1u << 0;        // kUpcallFd was signalled
inline constexpr std::uint32_t kEventNotification = 1u << 1;  // next_notification has one
inline constexpr std::uint32_t kEventDoorbell = 1u << 2;      // a doorbell of fd_table rang

// Blocks until at least one event happens or timeout_ns passes (negative:
// no timeout); returns the events (0 on timeout). Waits on the upcall
// eventfd, the channel (notifications are received and queued) and every
// own-doorbell in the fd table; the upcall eventfd and rung doorbells are
// cleared (a rung doorbell's slot is marked pending).
[[nodiscard]] std::uint32_t wait_for_events(std::int64_t timeout_ns);

// ---- Notifications -------------------------------------------------------

// An unsolicited message from the hypervisor (MessageKind::notification):
// console input (console_io/read), a shutdown request (sched_op/shutdown,
// payload SchedShutdown), event-channel notices (event_channel_op/
// bound_notice with two doorbells, closed_notice).
struct Notification {
  abi::Op op;
  std::uint32_t subop;
  std::uint32_t length;    // payload bytes
  std::uint32_t fd_count;  // descriptors now owned by the receiver
  int fds[abi::kMaxFds];
  alignas(8) std::uint8_t payload[abi::kMaxPayload];
};

// Moves the oldest notification into *out (receiving any that are waiting
// on the channel first); false if there is none.
[[nodiscard]] bool next_notification(Notification* out);
// Closes the descriptors of a notification the kernel does not keep.
void discard_notification(Notification* notification);
// Whether it is the hypervisor asking this domain to shut down
// (sched_op/shutdown with a valid SchedShutdown); if so, *reason is set.
[[nodiscard]] bool is_shutdown_request(const Notification& notification,
                                       abi::ShutdownReason* reason);
// Notifications dropped because the queue was full, and messages from the
// hypervisor that were malformed or answered nothing we asked.
[[nodiscard]] std::uint32_t dropped_notifications();
[[nodiscard]] std::uint32_t dropped_messages();

}  // namespace shype::guest
