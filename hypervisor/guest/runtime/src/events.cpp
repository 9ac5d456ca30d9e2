// Time and waiting for events.
#include "internal.hpp"
#include "shype/guest/channel.hpp"
#include "shype/guest/fd_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

namespace shype::guest {
namespace {

constexpr std::uint64_t kNanosPerSecond = 1'000'000'000u;

sys::Timespec to_timespec(std::uint64_t ns) {
  return sys::Timespec{static_cast<std::int64_t>(ns / kNanosPerSecond),
                       static_cast<std::int64_t>(ns % kNanosPerSecond)};
}

// upcall, channel, then the own doorbells.
sys::Pollfd g_pollfds[2 + kFdTableCapacity];

}  // namespace

std::uint64_t now_ns() {
  sys::Timespec ts{};
  sys::clock_gettime(sys::kClockMonotonic, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kNanosPerSecond +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void sleep_ns(std::uint64_t duration_ns) {
  const std::uint64_t deadline = now_ns() + duration_ns;
  for (std::uint64_t now = now_ns(); now < deadline; now = now_ns()) {
    const sys::Timespec ts = to_timespec(deadline - now);
    sys::ppoll(nullptr, 0, &ts);
  }
}

std::uint32_t wait_for_events(std::int64_t timeout_ns) {
  // ppoll counts the time left down in `left`: no clock reads on the
  // notify path (each is a system call in a static guest).
  sys::Timespec left = to_timespec(timeout_ns >= 0 ? static_cast<std::uint64_t>(timeout_ns) : 0);
  sys::Timespec* timeout = timeout_ns >= 0 ? &left : nullptr;
  for (;;) {
    if (detail::notification_pending()) return kEventNotification;
    g_pollfds[0] = sys::Pollfd{abi::kUpcallFd, sys::kPollIn, 0};
    g_pollfds[1] = sys::Pollfd{abi::kChannelFd, sys::kPollIn, 0};
    const std::size_t count = 2 + detail::collect_own_doorbells(g_pollfds + 2, kFdTableCapacity);
    const long ready = sys::ppoll_updating(g_pollfds, count, timeout);
    if (ready == 0) return 0;             // the time is up
    if (ready == -sys::kEINTR) continue;  // wait for what is left
    if (ready < 0) return 0;              // cannot wait (a bad descriptor): report nothing

    std::uint32_t events = 0;
    std::uint64_t counter = 0;
    if ((g_pollfds[0].revents & sys::kPollIn) != 0 &&
        sys::read(abi::kUpcallFd, &counter, sizeof counter) == sizeof counter) {
      events |= kEventUpcall;
    }
    if (g_pollfds[1].revents != 0) {
      channel::poll_incoming();  // exits if the hypervisor closed the channel
      if (detail::notification_pending()) events |= kEventNotification;
    }
    for (std::size_t i = 2; i < count; ++i) {
      if ((g_pollfds[i].revents & sys::kPollIn) != 0 &&
          sys::read(g_pollfds[i].fd, &counter, sizeof counter) == sizeof counter) {
        detail::mark_doorbell_pending(g_pollfds[i].fd);
        events |= kEventDoorbell;
      }
    }
    if (events != 0) return events;
  }
}

}  // namespace shype::guest
