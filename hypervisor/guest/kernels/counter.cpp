// guest_counter: a counter kept in guest memory (a state block at frame 0),
// incremented every period (cmdline: the period in milliseconds, default
// 100) and printed as "counter <n>" every second. It takes part in save and
// restore: asked to suspend, it prints "counter: suspending at <n>" and
// suspends; restored, it prints "counter: resumed at <n> (restore <k>)" and
// counts on from there. Any other shutdown request shuts it down with the
// requested reason.
#include "shype/guest/runtime.hpp"

namespace {

using namespace shype;

constexpr std::uint64_t kCounterTag = 0x52544e4350594853ull;  // "SHYPCNTR"
constexpr std::uint64_t kMillis = 1'000'000u;
constexpr std::uint64_t kSecond = 1'000'000'000u;
constexpr std::uint64_t kDefaultPeriodMs = 100;

// What survives a save: only guest memory does.
struct CounterState {
  std::uint64_t value;
};

std::uint64_t parse_period_ms(const char* text) {
  std::uint64_t value = 0;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9' || value > 3'600'000) return kDefaultPeriodMs;
    value = value * 10 + static_cast<std::uint64_t>(*text - '0');
  }
  return value == 0 ? kDefaultPeriodMs : value;
}

guest::Notification g_notification;
CounterState* g_state = nullptr;

std::uint64_t current() {
  return __atomic_load_n(&g_state->value, __ATOMIC_ACQUIRE);
}

void handle_notifications() {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      if (reason == abi::ShutdownReason::suspend) {
        // The count is in guest memory already: nothing else to keep.
        guest::console_printf("counter: suspending at %lu\n",
                              static_cast<unsigned long>(current()));
        guest::suspend();
      }
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
  bool restored = false;
  g_state = guest::persistent_state<CounterState>(kCounterTag, 0, &restored);
  if (g_state == nullptr) return 1;  // guest memory is at least 1 MiB: cannot happen
  if (restored) {
    guest::console_printf("counter: resumed at %lu (restore %u)\n",
                          static_cast<unsigned long>(current()), guest::resume_count());
  } else if (guest::resumed()) {
    guest::console_printf("counter: resumed without a counter; starting at 0\n");
  }
  std::uint64_t next_tick = guest::now_ns() + period;
  std::uint64_t next_print = guest::now_ns() + kSecond;
  for (;;) {
    const std::uint64_t now = guest::now_ns();
    if (now >= next_tick) {
      __atomic_store_n(&g_state->value, current() + 1, __ATOMIC_RELEASE);
      // After a pause (SIGSTOP) count on from now instead of catching up.
      next_tick = next_tick + period > now ? next_tick + period : now + period;
    }
    if (now >= next_print) {
      guest::console_printf("counter %lu\n", static_cast<unsigned long>(current()));
      next_print = next_print + kSecond > now ? next_print + kSecond : now + kSecond;
    }
    const std::uint64_t wake = next_tick < next_print ? next_tick : next_print;
    const std::uint64_t after = guest::now_ns();
    if (wake > after) (void)guest::wait_for_events(static_cast<std::int64_t>(wake - after));
    handle_notifications();
  }
}
