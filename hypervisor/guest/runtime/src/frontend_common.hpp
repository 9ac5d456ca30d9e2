// Internal: what blkfront and netfront share around notifications and waits.
#pragma once

#include <cstdint>

#include "shype/guest/event_channel.hpp"
#include "shype/guest/runtime.hpp"

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

}  // namespace shype::guest::detail
