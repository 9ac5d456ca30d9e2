// guest_vio: a driver domain, the manual's virtual I/O server (10.3.4). It
// serves the disks Domain-0 gave it to the client domains the toolstack
// points at it (`disk = ['file:...,xvda,w,backend=<this domain>']`),
// enforcing the resource labels itself (shype/guest/blkback.hpp), and
// reports what it does on its console:
//   "vio: serving N disks" once started,
//   "blkback: serving <resource> to domain <d> as device <devid>",
//   "blkback: device <devid> of domain <d> refused: <why>".
// A shutdown request shuts it down; a suspend request is refused (a driver
// domain's clients would lose their disks).
#include "shype/guest/blkback.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/xenbus.hpp"

namespace {

using namespace shype;

guest::Notification g_notification;

void handle_notifications() {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      if (reason == abi::ShutdownReason::suspend) {
        guest::console_puts("vio: a driver domain does not suspend\n");
      } else {
        const auto stats = guest::blkback::stats();
        guest::console_printf("vio: shutting down after %lu requests (%lu errors)\n",
                              static_cast<unsigned long>(stats.requests),
                              static_cast<unsigned long>(stats.errors));
        guest::shutdown(reason);
      }
    }
    guest::discard_notification(&g_notification);
  }
}

}  // namespace

int guest_main(int /*argc*/, char** /*argv*/) {
  if (!guest::devices_available()) {
    guest::console_puts("vio: no devices: a driver domain needs xenstore\n");
    return 1;
  }
  const int disks = guest::blkback::start();
  if (disks < 0) {
    guest::console_printf("vio: cannot start blkback (errno %d)\n", -disks);
    return 1;
  }
  guest::console_printf("vio: serving %d disks\n", disks);
  for (;;) {
    const int rc = guest::blkback::serve(100'000'000);
    if (rc != 0) {
      guest::console_printf("vio: the store is gone (errno %d)\n", -rc);
      return 1;
    }
    handle_notifications();
  }
}
