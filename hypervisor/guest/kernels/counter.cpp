// guest_counter: a counter kept in guest memory frame 0, incremented every
// period (cmdline: the period in milliseconds, default 100) and printed as
// "counter <n>" every second. The counter lives in guest memory, so a
// domain restored from a save continues where it was (it finds the magic).
// A shutdown request shuts it down with the requested reason.
#include "shype/guest/runtime.hpp"

namespace {

using namespace shype;

constexpr std::uint64_t kCounterMagic = 0x52544e4350594853ull;  // "SHYPCNTR"
constexpr std::uint64_t kMillis = 1'000'000u;
constexpr std::uint64_t kSecond = 1'000'000'000u;
constexpr std::uint64_t kDefaultPeriodMs = 100;

// Frame 0 of guest memory.
struct CounterState {
  std::uint64_t magic;
  std::uint64_t value;
};
static_assert(sizeof(CounterState) <= abi::kPageSize);

std::uint64_t parse_period_ms(const char* text) {
  std::uint64_t value = 0;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9' || value > 3'600'000) return kDefaultPeriodMs;
    value = value * 10 + static_cast<std::uint64_t>(*text - '0');
  }
  return value == 0 ? kDefaultPeriodMs : value;
}

guest::Notification g_notification;

void handle_notifications() {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      guest::console_printf("counter: shutting down (reason %u)\n", static_cast<unsigned>(reason));
      guest::shutdown(reason);
    }
    guest::discard_notification(&g_notification);
  }
}

}  // namespace

int guest_main(int argc, char** argv) {
  const std::uint64_t period =
      parse_period_ms(argc > 1 && argv[1] != nullptr ? argv[1] : "") * kMillis;
  // SAFETY: frame 0 always exists (memory is at least one page) and is
  // mapped read-write; CounterState fits in it and is suitably aligned.
  auto* state = static_cast<CounterState*>(guest::frame_address(0));
  if (__atomic_load_n(&state->magic, __ATOMIC_ACQUIRE) == kCounterMagic) {
    guest::console_printf("counter: resuming at %lu\n", static_cast<unsigned long>(__atomic_load_n(
                                                            &state->value, __ATOMIC_ACQUIRE)));
  } else {
    __atomic_store_n(&state->value, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&state->magic, kCounterMagic, __ATOMIC_RELEASE);
  }
  std::uint64_t next_tick = guest::now_ns() + period;
  std::uint64_t next_print = guest::now_ns() + kSecond;
  for (;;) {
    const std::uint64_t now = guest::now_ns();
    if (now >= next_tick) {
      __atomic_store_n(&state->value, __atomic_load_n(&state->value, __ATOMIC_ACQUIRE) + 1,
                       __ATOMIC_RELEASE);
      // After a pause (SIGSTOP) count on from now instead of catching up.
      next_tick = next_tick + period > now ? next_tick + period : now + period;
    }
    if (now >= next_print) {
      guest::console_printf("counter %lu\n", static_cast<unsigned long>(
                                                 __atomic_load_n(&state->value, __ATOMIC_ACQUIRE)));
      next_print = next_print + kSecond > now ? next_print + kSecond : now + kSecond;
    }
    const std::uint64_t wake = next_tick < next_print ? next_tick : next_print;
    const std::uint64_t after = guest::now_ns();
    if (wake > after) (void)guest::wait_for_events(static_cast<std::int64_t>(wake - after));
    handle_notifications();
  }
}
