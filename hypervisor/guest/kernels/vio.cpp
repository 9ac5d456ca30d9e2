// guest_vio: a driver domain, the manual's virtual I/O server (10.3.4). It
// serves the disks Domain-0 gave it to the client domains the toolstack
// points at it (`disk = ['file:...,xvda,w,backend=<this domain>']`),
// enforcing the resource labels itself (shype/guest/blkback.hpp), and
// bridges the vifs of the client domains that name it
// (`vif = ['mac=...,bridge=xenbr0,backend=<this domain>']`), asking the
// hypervisor about every frame between two of them
// (shype/guest/netback.hpp). It reports what it does on its console:
//   "vio: serving N disks" and "vio: bridging vifs" once started,
//   "blkback: serving <resource> to domain <d> as device <devid>",
//   "blkback: device <devid> of domain <d> refused: <why>",
//   "netback: serving vif <devid> of domain <d> on <bridge>",
//   "netback: vif <devid> of domain <d> refused: <why>",
//   "vio: vifs <n> connected, frames <f> delivered <d> denied <x> dropped <p> errors <e>"
//     whenever those counts changed (at most every 2 s) and at shutdown.
// A shutdown request shuts it down; a suspend request is refused (a driver
// domain's clients would lose their disks and vifs).
#include "shype/guest/blkback.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/netback.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/xenbus.hpp"

namespace {

using namespace shype;

constexpr std::int64_t kIdleWaitNs = 10'000'000;
constexpr std::uint64_t kReportEveryNs = 2'000'000'000;

guest::Notification g_notification;
guest::netback::Stats g_reported{};
std::uint64_t g_next_report_ns = 0;

bool same_counts(const guest::netback::Stats& a, const guest::netback::Stats& b) {
  return a.connected == b.connected && a.frames == b.frames && a.delivered == b.delivered &&
         a.denied == b.denied && a.dropped == b.dropped && a.errors == b.errors;
}

void report_net(bool always) {
  const guest::netback::Stats now = guest::netback::stats();
  if (!always && same_counts(now, g_reported)) return;
  guest::console_printf(
      "vio: vifs %u connected, frames %lu delivered %lu denied %lu dropped %lu errors %lu\n",
      now.connected, static_cast<unsigned long>(now.frames),
      static_cast<unsigned long>(now.delivered), static_cast<unsigned long>(now.denied),
      static_cast<unsigned long>(now.dropped), static_cast<unsigned long>(now.errors));
  g_reported = now;
}

void handle_notifications() {
  while (guest::next_notification(&g_notification)) {
    // Event-channel notices (doorbells of bound channels, closed channels)
    // belong to the event-channel layer.
    if (guest::evtchn::handle_event_notification(&g_notification)) continue;
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      if (reason == abi::ShutdownReason::suspend) {
        guest::console_puts("vio: a driver domain does not suspend\n");
      } else {
        const auto stats = guest::blkback::stats();
        report_net(true);
        guest::console_printf("vio: shutting down after %lu requests (%lu errors)\n",
                              static_cast<unsigned long>(stats.requests),
                              static_cast<unsigned long>(stats.errors));
        guest::shutdown(reason);
      }
    }
    guest::discard_notification(&g_notification);
  }
}

// Sleeps until something happens (a doorbell, a notification) or a short
// while passes; the next pass re-checks every ring anyway.
void wait_idle() {
  const std::uint32_t events = guest::wait_for_events(kIdleWaitNs);
  if ((events & guest::kEventNotification) != 0) handle_notifications();
  abi::evtchn_port_t port = 0;
  while (guest::evtchn::next_pending(&port)) {
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
  const int net = guest::netback::start();
  if (net < 0) {
    guest::console_printf("vio: cannot start netback (errno %d)\n", -net);
    return 1;
  }
  guest::console_puts("vio: bridging vifs\n");
  for (;;) {
    const int blk = guest::blkback::poll();
    const int vifs = guest::netback::poll();
    if (blk < 0 || vifs < 0) {
      guest::console_printf("vio: the store is gone (errno %d)\n", blk < 0 ? -blk : -vifs);
      return 1;
    }
    handle_notifications();
    const std::uint64_t now = guest::now_ns();
    if (now >= g_next_report_ns) {
      report_net(false);
      // For xm network-list (a store gone is seen by the next poll).
      (void)guest::netback::publish_vif_stats();
      g_next_report_ns = now + kReportEveryNs;
    }
    if (blk == 0 && vifs == 0) wait_idle();
  }
}
