// guest_hello: greets, then serves its console until asked to shut down.
//   cmdline ""      greet, then wait
//   cmdline "exit"  greet, print the cmdline, power off
//   anything else   greet, print the cmdline, wait
// While waiting: a shutdown request from the hypervisor shuts the domain
// down with the requested reason; console input is echoed back.
#include "shype/console.hpp"
#include "shype/guest/runtime.hpp"

namespace {

using namespace shype;

bool equals(const char* left, const char* right) {
  while (*left != '\0' && *left == *right) {
    ++left;
    ++right;
  }
  return *left == *right;
}

guest::Notification g_notification;

[[noreturn]] void serve_forever() {
  for (;;) {
    (void)guest::wait_for_events(-1);
    while (guest::next_notification(&g_notification)) {
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(g_notification, &reason)) {
        guest::console_printf("hello: shutting down (reason %u)\n", static_cast<unsigned>(reason));
        guest::shutdown(reason);
      }
      if (g_notification.op == abi::Op::console_io &&
          g_notification.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::read)) {
        // SAFETY: payload holds `length` (<= kMaxPayload) received bytes.
        (void)guest::console_write(reinterpret_cast<const char*>(g_notification.payload),
                                   g_notification.length);
      }
      guest::discard_notification(&g_notification);
    }
  }
}

}  // namespace

int guest_main(int argc, char** argv) {
  const char* cmdline = argc > 1 && argv[1] != nullptr ? argv[1] : "";
  guest::console_printf("Hello from shype domain %u (%s)\n", guest::domid(), guest::name());
  if (*cmdline != '\0') guest::console_printf("cmdline: %s\n", cmdline);
  if (equals(cmdline, "exit")) return 0;
  serve_forever();
}
