// The console ring (after Xen's io/console.h): each guest's console is this
// structure in a page it grants to Domain-0 (grant ref kGrantRefConsole),
// with an event channel (shared_info console_evtchn). Output goes guest ->
// console daemon through `out`, keyboard input the other way through `in`.
// Indices run freely; a position is idx % the ring's size. The producer
// writes bytes, publishes *_prod (release) and notifies; the consumer
// reads, publishes *_cons and notifies when it freed space the producer
// may be waiting for.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstdint>

namespace shype::abi::io {

inline constexpr std::uint32_t kConsoleInSize = 1024;
inline constexpr std::uint32_t kConsoleOutSize = 2048;

using cons_ring_idx_t = std::uint32_t;

struct ConsoleInterface {
  char in[kConsoleInSize];
  char out[kConsoleOutSize];
  cons_ring_idx_t in_cons;
  cons_ring_idx_t in_prod;
  cons_ring_idx_t out_cons;
  cons_ring_idx_t out_prod;
};

}  // namespace shype::abi::io
