// Internal: what blkfront and netfront share around notifications and waits.
#pragma once

#include <cstdint>

#include "shype/guest/event_channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"
#include "shype/guest/xenbus.hpp"

namespace shype::guest::detail {

using FrontendHandler = void (*)(Notification* notification);

// A frontend's handler until the kernel sets one: a shutdown request shuts
// the domain down, anything else is dropped.
inline void frontend_default_handler(Notification* notification) {
  abi::ShutdownReason reason{};
  if (is_shutdown_request(*notification, &reason)) shutdown(reason);
  discard_notification(notification);
}

// Takes every queued notification (into *scratch): event-channel notices go
// to the event-channel layer, the others to `handler`.
inline void pump_frontend_notifications(Notification* scratch, FrontendHandler handler) {
  while (next_notification(scratch)) {
    if (evtchn::handle_event_notification(scratch)) continue;
    handler(scratch);
  }
}

// Waits at most step_ns for events, takes the notifications and clears the
// pending ports; the caller re-checks its rings.
inline void frontend_wait(std::int64_t step_ns, Notification* scratch, FrontendHandler handler) {
  const std::uint32_t events = wait_for_events(step_ns);
  if ((events & kEventNotification) != 0) pump_frontend_notifications(scratch, handler);
  abi::evtchn_port_t port = 0;
  while (evtchn::next_pending(&port)) {
  }
}

// ---- A frontend that lost its backend ----------------------------------------

// How long a lost device waits for a backend to take it up again (xend
// starting again, a driver domain restarted) within one call, and how
// often it looks meanwhile.
inline constexpr std::int64_t kReconnectWaitNs = 10'000'000'000;
inline constexpr std::int64_t kReconnectPollNs = 20'000'000;

enum class BackendSeen : std::uint8_t { waiting, ready, ended };

// Where the toolstack points the device in `frontend_dir` now (a driver
// domain started again has a new domain id and directory) and what its
// backend says there: InitWait, a backend waiting for this frontend
// (ready: *backend and backend_dir are set); Closing, the device is being
// detached, or Closed with an `error`, refused (ended); anything else,
// nothing there yet (xend has not written the device again, or the store is
// not answering).
inline BackendSeen look_for_backend(const char* frontend_dir, abi::domid_t* backend,
                                    char* backend_dir, std::size_t capacity) {
  std::uint64_t backend_id = 0;
  if (xenbus::read_node_u64(frontend_dir, "backend-id", &backend_id) != 0 ||
      backend_id > abi::kDomidMaxGuest) {
    return BackendSeen::waiting;
  }
  if (xenbus::read_node(frontend_dir, "backend", backend_dir, capacity) != 0) {
    return BackendSeen::waiting;
  }
  switch (xenbus::read_state(backend_dir)) {
    case abi::io::XenbusState::init_wait:
      *backend = static_cast<abi::domid_t>(backend_id);
      return BackendSeen::ready;
    case abi::io::XenbusState::closing:
      return BackendSeen::ended;
    case abi::io::XenbusState::closed: {
      char why[2];
      const int rc = xenbus::read_node(backend_dir, "error", why, sizeof why);
      return rc == 0 || rc == -sys::kE2BIG ? BackendSeen::ended : BackendSeen::waiting;
    }
    default:
      return BackendSeen::waiting;
  }
}

// A frontend whose backend went away: looks for a backend every
// kReconnectPollNs until `deadline_ns` (at most kReconnectWaitNs from now).
// Each time one waits in InitWait, its directory goes to `backend_dir` and
// `rejoin(backend, limit)` walks the handshake again (0: joined). Returns 0
// once joined; -ENOTCONN when the device ended (*ended set: a detach or a
// refusal) or no backend joined in time.
template <typename Rejoin>
int wait_for_backend(const char* frontend_dir, char* backend_dir, std::size_t capacity,
                     std::int64_t deadline_ns, bool* ended, Notification* scratch,
                     FrontendHandler handler, Rejoin rejoin) {
  *ended = false;
  const auto start = static_cast<std::int64_t>(now_ns());
  const std::int64_t limit =
      deadline_ns < start + kReconnectWaitNs ? deadline_ns : start + kReconnectWaitNs;
  for (;;) {
    abi::domid_t backend = 0;
    const BackendSeen seen = look_for_backend(frontend_dir, &backend, backend_dir, capacity);
    if (seen == BackendSeen::ended) {
      *ended = true;
      return -sys::kENOTCONN;
    }
    if (seen == BackendSeen::ready && rejoin(backend, limit) == 0) return 0;
    const auto now = static_cast<std::int64_t>(now_ns());
    if (now >= limit) return -sys::kENOTCONN;
    frontend_wait(limit - now < kReconnectPollNs ? limit - now : kReconnectPollNs, scratch,
                  handler);
  }
}

}  // namespace shype::guest::detail
