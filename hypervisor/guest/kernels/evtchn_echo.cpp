// guest_evtchn_echo: one event channel, echoed.
//   cmdline "<port>"          bind to Domain-0's unbound port <port>
//   cmdline "listen"          allocate an unbound port for Domain-0, print it
//   cmdline "listen <domid>"  allocate an unbound port for <domid>, print it
//   cmdline "wait"            read "<port>" or "<domid> <port>" (one line)
//                             from the console, then bind to it
// It binds VIRQ_CONSOLE first, then serves: every event on the channel is
// answered with a notify() on the same port (the doorbell, or
// EVTCHNOP_send before the doorbells are known), a console virq and every
// event-channel notice are reported on the console, and a shutdown request
// shuts it down. Tests read its console lines:
//   "evtchn_echo: virq console port V", "evtchn_echo: bound port P fds F",
//   "evtchn_echo: listening on port P", "evtchn_echo: <op> failed <errno>",
//   "evtchn_echo: echo N port P rc R fds F", "evtchn_echo: virq console",
//   "evtchn_echo: notice bound port P fds F",
//   "evtchn_echo: notice closed port P fds F".
#include "shype/guest/event_channel.hpp"
#include "shype/guest/fd_table.hpp"
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

// A decimal number below `limit` at *text (advancing past it), or -1.
long parse_number(const char** text, std::uint32_t limit) {
  std::uint32_t value = 0;
  const char* p = *text;
  if (*p < '0' || *p > '9') return -1;
  for (; *p >= '0' && *p <= '9'; ++p) {
    value = value * 10 + static_cast<std::uint32_t>(*p - '0');
    if (value >= limit) return -1;
  }
  *text = p;
  return value;
}

bool starts_with(const char* text, const char* prefix) {
  while (*prefix != '\0' && *text == *prefix) {
    ++text;
    ++prefix;
  }
  return *prefix == '\0';
}

unsigned long fds_held() {
  return static_cast<unsigned long>(guest::fd_table::size());
}

guest::Notification g_notification;

void handle_notifications() {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) {
      guest::console_printf("evtchn_echo: shutting down (reason %u)\n",
                            static_cast<unsigned>(reason));
      guest::shutdown(reason);
    }
    const bool event_notice = g_notification.op == abi::Op::event_channel_op;
    const std::uint32_t subop = g_notification.subop;
    abi::evtchn_port_t port = 0;
    if (event_notice && g_notification.length >= sizeof port) {
      __builtin_memcpy(&port, g_notification.payload, sizeof port);
    }
    if (!guest::evtchn::handle_event_notification(&g_notification)) {
      guest::discard_notification(&g_notification);  // console input: the virq reports it
      continue;
    }
    if (subop == static_cast<std::uint32_t>(abi::EvtchnOp::bound_notice)) {
      guest::console_printf("evtchn_echo: notice bound port %u fds %lu\n", port, fds_held());
    } else if (subop == static_cast<std::uint32_t>(abi::EvtchnOp::closed_notice)) {
      guest::console_printf("evtchn_echo: notice closed port %u fds %lu\n", port, fds_held());
    }
  }
}

void bind(abi::domid_t remote, long remote_port) {
  if (remote_port < 0) {
    guest::console_puts("evtchn_echo: no port to bind\n");
    return;
  }
  const std::int64_t port =
      guest::evtchn::bind_interdomain(remote, static_cast<abi::evtchn_port_t>(remote_port));
  if (port < 0) {
    guest::console_printf("evtchn_echo: bind_interdomain failed %ld\n", static_cast<long>(port));
  } else {
    guest::console_printf("evtchn_echo: bound port %ld fds %lu\n", static_cast<long>(port),
                          fds_held());
  }
}

// "wait": collects console input up to a newline, then binds as it says.
char g_line[64];
std::size_t g_line_length = 0;

void wait_and_bind() {
  for (;;) {
    (void)guest::wait_for_events(-1);
    while (guest::next_notification(&g_notification)) {
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(g_notification, &reason)) guest::shutdown(reason);
      if (g_notification.op == abi::Op::console_io) {
        for (std::uint32_t i = 0; i < g_notification.length; ++i) {
          const char c = static_cast<char>(g_notification.payload[i]);
          if (c == '\n') {
            g_line[g_line_length] = '\0';
            const char* text = g_line;
            long first = parse_number(&text, 0x10000);
            long remote = abi::kDomain0;
            long port = first;
            if (*text == ' ') {
              ++text;
              remote = first;
              port = parse_number(&text, abi::kMaxEventChannels);
            }
            guest::discard_notification(&g_notification);
            bind(static_cast<abi::domid_t>(remote < 0 ? 0 : remote), port);
            return;
          }
          if (g_line_length + 1 < sizeof g_line) g_line[g_line_length++] = c;
        }
      }
      if (!guest::evtchn::handle_event_notification(&g_notification)) {
        guest::discard_notification(&g_notification);
      }
    }
  }
}

}  // namespace

int guest_main(int argc, char** argv) {
  const char* cmdline = argc > 1 && argv[1] != nullptr ? argv[1] : "";
  const std::int64_t virq = guest::evtchn::bind_virq(abi::Virq::console);
  if (virq < 0) {
    guest::console_printf("evtchn_echo: bind_virq failed %ld\n", static_cast<long>(virq));
  } else {
    guest::console_printf("evtchn_echo: virq console port %ld\n", static_cast<long>(virq));
  }
  if (starts_with(cmdline, "listen")) {
    const char* text = cmdline + 6;
    long remote = abi::kDomain0;
    if (*text == ' ') {
      ++text;
      remote = parse_number(&text, 0x10000);
    }
    const std::int64_t port =
        remote < 0 ? -22 : guest::evtchn::alloc_unbound(static_cast<abi::domid_t>(remote));
    if (port < 0) {
      guest::console_printf("evtchn_echo: alloc_unbound failed %ld\n", static_cast<long>(port));
    } else {
      guest::console_printf("evtchn_echo: listening on port %ld\n", static_cast<long>(port));
    }
  } else if (equals(cmdline, "wait")) {
    wait_and_bind();
  } else {
    const char* text = cmdline;
    bind(abi::kDomain0, parse_number(&text, abi::kMaxEventChannels));
  }

  unsigned long echoes = 0;
  // Events that arrived before this loop (console input that raised the
  // virq while "wait" read it) are served before the first wait.
  for (;; (void)guest::wait_for_events(-1)) {
    handle_notifications();
    abi::evtchn_port_t pending = 0;
    while (guest::evtchn::next_pending(&pending)) {
      if (virq > 0 && pending == static_cast<abi::evtchn_port_t>(virq)) {
        guest::console_puts("evtchn_echo: virq console\n");
        continue;
      }
      const int rc = guest::evtchn::notify(pending);
      ++echoes;
      guest::console_printf("evtchn_echo: echo %lu port %u rc %d fds %lu\n", echoes, pending, rc,
                            fds_held());
    }
  }
}
