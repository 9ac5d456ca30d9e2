// Shared request/response rings: the transport of every split device
// (block, network; ARCHITECTURE 5), after Xen's io/ring.h.
//
// A ring lives in one page that the frontend grants to the backend: a
// 64-byte header with four free-running 32-bit indices, then a
// power-of-two number of slots, each holding a request or (once answered)
// its response. The frontend produces requests and consumes responses; the
// backend consumes requests and produces responses. Indices only grow and
// are taken modulo the slot count.
//
// Notification suppression as in Xen: each side publishes in req_event /
// rsp_event the index at which it wants to be woken; the producer rings the
// event channel only if it moved its producer index past that point.
//
// A backend must never trust the page: the frontend can write anything at
// any moment. BackRing copies each request out before it looks at it
// (pending_requests() bounds what it reads by the slot count, so a frontend
// claiming more requests than fit is detected, see overflowed()), and
// decoders check every field of the copy.
//
// Freestanding: used by guest kernels (no libc) and Domain-0 alike.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi::io {

using ring_idx_t = std::uint32_t;

struct SharedRingHeader {
  ring_idx_t req_prod;
  ring_idx_t req_event;
  ring_idx_t rsp_prod;
  ring_idx_t rsp_event;
  std::uint8_t pad[48];
};
static_assert(sizeof(SharedRingHeader) == 64);

// The largest power of two n with header + n * slot <= one page.
constexpr std::uint32_t ring_slots(std::size_t slot_size) {
  std::uint32_t n = 1;
  while (sizeof(SharedRingHeader) + 2 * n * slot_size <= kPageSize)
    n *= 2;
  return n;
}

template <typename Req, typename Rsp>
union RingSlot {
  Req req;
  Rsp rsp;
};

template <typename Req, typename Rsp>
struct SharedRing {
  static constexpr std::uint32_t kSlots = ring_slots(sizeof(RingSlot<Req, Rsp>));
  SharedRingHeader header;
  RingSlot<Req, Rsp> slots[kSlots];

  // The frontend's first step on a fresh page.
  void init() {
    __atomic_store_n(&header.req_prod, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&header.rsp_prod, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&header.req_event, 1u, __ATOMIC_RELAXED);
    __atomic_store_n(&header.rsp_event, 1u, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
  }
};

// True if moving a producer index from `old_prod` to `new_prod` passes the
// consumer's event index (Xen's RING_PUSH_*_AND_CHECK_NOTIFY test).
constexpr bool needs_notify(ring_idx_t old_prod, ring_idx_t new_prod, ring_idx_t event) {
  return static_cast<ring_idx_t>(new_prod - event) < static_cast<ring_idx_t>(new_prod - old_prod);
}

// The frontend's view: produces requests, consumes responses.
template <typename Req, typename Rsp>
class FrontRing {
 public:
  using Ring = SharedRing<Req, Rsp>;
  FrontRing() = default;
  explicit FrontRing(Ring* ring) : ring_(ring) {}

  [[nodiscard]] std::uint32_t size() const { return Ring::kSlots; }
  // Slots not holding an unanswered request.
  [[nodiscard]] std::uint32_t free_requests() const {
    return Ring::kSlots - (req_prod_pvt_ - rsp_cons_);
  }
  // The next request slot (only while free_requests() > 0); fill it, then push.
  Req* next_request() { return &ring_->slots[req_prod_pvt_++ & (Ring::kSlots - 1)].req; }
  // Publishes the requests made so far; true if the backend must be notified.
  [[nodiscard]] bool push_requests() {
    const ring_idx_t old_prod = __atomic_load_n(&ring_->header.req_prod, __ATOMIC_RELAXED);
    __atomic_store_n(&ring_->header.req_prod, req_prod_pvt_, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const ring_idx_t event = __atomic_load_n(&ring_->header.req_event, __ATOMIC_ACQUIRE);
    return needs_notify(old_prod, req_prod_pvt_, event);
  }
  // Copies out the next response, if any. The backend is not trusted
  // either: a response index beyond what was requested is ignored.
  [[nodiscard]] bool take_response(Rsp* out) {
    const ring_idx_t prod = __atomic_load_n(&ring_->header.rsp_prod, __ATOMIC_ACQUIRE);
    if (rsp_cons_ == prod || rsp_cons_ == req_prod_pvt_) return false;
    *out = ring_->slots[rsp_cons_++ & (Ring::kSlots - 1)].rsp;
    return true;
  }
  // Call when take_response returned false: asks to be woken by the next
  // response and returns true if one arrived meanwhile (take it first).
  [[nodiscard]] bool final_check_for_responses() {
    __atomic_store_n(&ring_->header.rsp_event, rsp_cons_ + 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&ring_->header.rsp_prod, __ATOMIC_ACQUIRE) != rsp_cons_;
  }
  [[nodiscard]] std::uint32_t in_flight() const { return req_prod_pvt_ - rsp_cons_; }
  // True if a response is waiting (a look, nothing changes).
  [[nodiscard]] bool has_responses() const {
    return __atomic_load_n(&ring_->header.rsp_prod, __ATOMIC_ACQUIRE) != rsp_cons_;
  }

 private:
  Ring* ring_ = nullptr;
  ring_idx_t req_prod_pvt_ = 0;
  ring_idx_t rsp_cons_ = 0;
};

// The backend's view: consumes requests, produces responses.
template <typename Req, typename Rsp>
class BackRing {
 public:
  using Ring = SharedRing<Req, Rsp>;
  BackRing() = default;
  explicit BackRing(Ring* ring) : ring_(ring) {}

  [[nodiscard]] std::uint32_t size() const { return Ring::kSlots; }
  // Copies the next request out of the shared page, if any.
  [[nodiscard]] bool take_request(Req* out) {
    if (overflow_) return false;
    const ring_idx_t prod = __atomic_load_n(&ring_->header.req_prod, __ATOMIC_ACQUIRE);
    if (req_cons_ == prod) return false;
    // More unanswered requests than slots: the frontend is lying.
    if (static_cast<ring_idx_t>(prod - rsp_prod_pvt_) > Ring::kSlots) {
      overflow_ = true;
      return false;
    }
    // Requests not yet answered must leave room for their responses.
    if (static_cast<ring_idx_t>(req_cons_ - rsp_prod_pvt_) >= Ring::kSlots) return false;
    __builtin_memcpy(out, &ring_->slots[req_cons_++ & (Ring::kSlots - 1)].req, sizeof(Req));
    return true;
  }
  // Writes the response for the oldest request taken and not yet answered.
  void put_response(const Rsp& rsp) {
    __builtin_memcpy(&ring_->slots[rsp_prod_pvt_++ & (Ring::kSlots - 1)].rsp, &rsp, sizeof(Rsp));
  }
  // Publishes the responses; true if the frontend must be notified.
  [[nodiscard]] bool push_responses() {
    const ring_idx_t old_prod = __atomic_load_n(&ring_->header.rsp_prod, __ATOMIC_RELAXED);
    __atomic_store_n(&ring_->header.rsp_prod, rsp_prod_pvt_, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const ring_idx_t event = __atomic_load_n(&ring_->header.rsp_event, __ATOMIC_ACQUIRE);
    return needs_notify(old_prod, rsp_prod_pvt_, event);
  }
  // Call when take_request returned false: asks to be woken by the next
  // request and returns true if one arrived meanwhile.
  [[nodiscard]] bool final_check_for_requests() {
    __atomic_store_n(&ring_->header.req_event, req_cons_ + 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&ring_->header.req_prod, __ATOMIC_ACQUIRE) != req_cons_;
  }
  // True if a request is waiting (a look, nothing changes).
  [[nodiscard]] bool has_requests() const {
    return __atomic_load_n(&ring_->header.req_prod, __ATOMIC_ACQUIRE) != req_cons_;
  }
  // The frontend published more requests than the ring holds: stop serving it.
  [[nodiscard]] bool overflowed() const { return overflow_; }
  [[nodiscard]] ring_idx_t requests_taken() const { return req_cons_; }

 private:
  Ring* ring_ = nullptr;
  ring_idx_t req_cons_ = 0;
  ring_idx_t rsp_prod_pvt_ = 0;
  bool overflow_ = false;
};

}  // namespace shype::abi::io
