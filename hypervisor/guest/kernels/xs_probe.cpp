// guest_xs_probe: exercises xenstore and the console ring from a guest.
//   cmdline "other=<domid>"  also probes that domain's home (must be refused)
//           "flood=<lines>"  after the probe, floods its console with that
//                            many lines ("flood <i> ...", 64 bytes each),
//                            then prints "xs_probe: flood done"
// Prints one line per operation, in a stable format:
//   xs: read name -> <value>
//   xs: write data/probe -> OK
//   xs: read data/probe -> <value>
//   xs: read /local/domain/<other>/name -> EACCES
//   xs: write /local/domain/<other>/data/intruder -> EACCES
//   xs: probe done
// then echoes every line typed on its console ("echo: <line>"; the line
// "probe" also runs the probe again, e.g. after xend restarted) and obeys
// shutdown requests (suspend included: restored, it reconnects, prints
// "xs_probe: resumed" and probes again).
#include "kv_args.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/xenbus.hpp"

namespace {

using namespace shype;

const char* error_name(int rc) {
  switch (-rc) {
    case 1: return "EPERM";
    case 2: return "ENOENT";
    case 7: return "E2BIG";
    case 11: return "EAGAIN";
    case 13: return "EACCES";
    case 19: return "ENODEV";
    case 22: return "EINVAL";
    case 28: return "ENOSPC";
    case 107: return "ENOTCONN";
    case 110: return "ETIMEDOUT";
    default: return "EIO";
  }
}

char g_value[256];
char g_path[128];

void probe_read(const char* path) {
  const int rc = guest::xenbus::read(path, g_value, sizeof g_value);
  if (rc == 0) {
    guest::console_printf("xs: read %s -> %s\n", path, g_value);
  } else {
    guest::console_printf("xs: read %s -> %s\n", path, error_name(rc));
  }
}

void probe_write(const char* path, const char* value) {
  const int rc = guest::xenbus::write(path, value);
  guest::console_printf("xs: write %s -> %s\n", path, rc == 0 ? "OK" : error_name(rc));
}

// "/local/domain/<other><suffix>" into g_path.
const char* other_path(std::uint32_t other, const char* suffix) {
  const char* prefix = "/local/domain/";
  std::size_t n = 0;
  for (const char* p = prefix; *p != '\0'; ++p) g_path[n++] = *p;
  char digits[12];
  std::size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + other % 10);
    other /= 10;
  } while (other != 0);
  while (count > 0) g_path[n++] = digits[--count];
  for (const char* p = suffix; *p != '\0' && n + 1 < sizeof g_path; ++p) g_path[n++] = *p;
  g_path[n] = '\0';
  return g_path;
}

void probe(const guest::kv::Args& args) {
  probe_read("name");
  probe_write("data/probe", "hello-from-guest");
  probe_read("data/probe");
  std::uint32_t other = 0;
  if (args.has("other") && args.number("other", 0, &other)) {
    probe_read(other_path(other, "/name"));
    probe_write(other_path(other, "/data/intruder"), "x");
  }
  guest::console_puts("xs: probe done\n");
}

// As fast as the console ring drains: the console daemon must still serve
// every other domain's console meanwhile.
void flood(const guest::kv::Args& args) {
  std::uint32_t lines = 0;
  if (!args.has("flood") || !args.number("flood", 0, &lines)) return;
  for (std::uint32_t i = 0; i < lines; ++i) {
    guest::console_printf("flood %u ..................................................\n", i);
  }
  guest::console_puts("xs_probe: flood done\n");
}

guest::kv::Args g_args;
guest::Notification g_notification;
char g_line[256];
std::size_t g_line_length = 0;

void take_input() {
  char bytes[128];
  for (;;) {
    const std::int64_t n = guest::console_ring_read(bytes, sizeof bytes);
    if (n <= 0) return;
    for (std::int64_t i = 0; i < n; ++i) {
      const char c = bytes[i];
      if (c == '\n' || c == '\r') {
        if (g_line_length == 0) continue;
        g_line[g_line_length] = '\0';
        guest::console_printf("echo: %s\n", g_line);
        if (guest::kv::equals(g_line, "probe")) probe(g_args);
        g_line_length = 0;
      } else if (g_line_length + 1 < sizeof g_line) {
        g_line[g_line_length++] = c;
      }
    }
  }
}

}  // namespace

int guest_main(int argc, char** argv) {
  guest::kv::Args& args = g_args;
  if (argc > 1 && argv[1] != nullptr) args.add(argv[1]);
  if (!guest::devices_available()) {
    guest::console_puts("xs_probe: no devices (start it through xend)\n");
    return 1;
  }
  if (guest::resumed()) {
    guest::console_printf("xs_probe: resumed (restore %u) as domain %u\n", guest::resume_count(),
                          guest::domid());
  } else {
    guest::console_printf("xs_probe: domain %u (%s)\n", guest::domid(), guest::name());
  }
  probe(args);
  flood(args);
  for (;;) {
    (void)guest::wait_for_events(-1);
    while (guest::next_notification(&g_notification)) {
      if (guest::evtchn::handle_event_notification(&g_notification)) continue;
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(g_notification, &reason)) {
        guest::console_printf("xs_probe: shutting down (reason %u)\n",
                              static_cast<unsigned>(reason));
        if (reason == abi::ShutdownReason::suspend) guest::suspend();
        guest::shutdown(reason);
      }
      guest::discard_notification(&g_notification);
    }
    abi::evtchn_port_t port = 0;
    while (guest::evtchn::next_pending(&port)) {
    }
    take_input();
  }
}
