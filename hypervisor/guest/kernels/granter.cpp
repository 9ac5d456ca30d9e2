// guest_granter: grant tables driven from its console, for the end-to-end
// tests. Each input line is "<id> <command> <args>" and is answered on the
// console with one line "[<id>] <command> = <result> ..." (a negative
// result is the hypervisor's status). Numbers are decimal; a domain may be
// "self" (DOMID_SELF).
//
//   grant <domid> <frame> ro|rw <byte>  fill the frame with <byte>, grant it, then write
//                                       <byte>+1 to its second half; result: the ref
//   end <ref>                           end_access
//   peek <frame> <offset>               result: the byte
//   poke <frame> <offset> <byte>
//   map <domid> <ref> ro|rw             result: status, then the handle
//   mpeek <handle> <offset>             a byte of a mapping
//   mpoke <handle> <offset> <byte>
//   mapw <handle>                       try mmap(PROT_WRITE, MAP_SHARED) and write(2)
//                                       on the mapping's descriptor; result: both returns
//   unmap <handle>
//   copy <sdom> <sref|sframe> <soff> <ddom> <dref|dframe> <doff> <len>
//   query                               result: status, grants, max
// A shutdown request shuts it down with the requested reason.
#include "shype/console.hpp"
#include "shype/guest/fd_table.hpp"
#include "shype/guest/grant_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

namespace {

using namespace shype;
namespace sys = guest::sys;

guest::Notification g_notification;
char g_line[256];
std::size_t g_line_length = 0;
guest::gnttab::Mapping g_mappings[abi::kMaxMapsPerDomain];
bool g_mapped[abi::kMaxMapsPerDomain];

// Splits `line` in place at spaces; returns the number of words.
std::size_t split(char* line, const char** words, std::size_t capacity) {
  std::size_t count = 0;
  while (*line != '\0' && count < capacity) {
    while (*line == ' ')
      *line++ = '\0';
    if (*line == '\0') break;
    words[count++] = line;
    while (*line != '\0' && *line != ' ')
      ++line;
  }
  return count;
}

bool equals(const char* left, const char* right) {
  while (*left != '\0' && *left == *right) {
    ++left;
    ++right;
  }
  return *left == *right;
}

// Decimal, or "self" for DOMID_SELF; false if not a number.
bool number(const char* text, std::uint64_t* out) {
  if (equals(text, "self")) {
    *out = abi::kDomidSelf;
    return true;
  }
  std::uint64_t value = 0;
  if (*text == '\0') return false;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9' || value > 0xffff'ffffu) return false;
    value = value * 10 + static_cast<std::uint64_t>(*text - '0');
  }
  *out = value;
  return true;
}

std::uint8_t* frame_byte(std::uint64_t frame, std::uint64_t offset) {
  if (offset >= abi::kPageSize) return nullptr;
  auto* page = static_cast<std::uint8_t*>(guest::frame_address(frame));
  return page == nullptr ? nullptr : page + offset;
}

guest::gnttab::Mapping* mapping(std::uint64_t handle) {
  if (handle >= abi::kMaxMapsPerDomain || !g_mapped[handle]) return nullptr;
  return &g_mappings[handle];
}

void run(char* line) {
  const char* w[10] = {};
  const std::size_t n = split(line, w, 10);
  if (n < 2) return;
  const char* id = w[0];
  const char* command = w[1];
  std::uint64_t a[8] = {};
  for (std::size_t i = 2; i < n; ++i) {
    if (equals(w[i], "ro") || equals(w[i], "rw")) {
      a[i - 2] = equals(w[i], "ro") ? 1 : 0;
    } else if (!number(w[i], &a[i - 2])) {
      guest::console_printf("[%s] %s = bad-argument\n", id, command);
      return;
    }
  }
  if (equals(command, "grant") && n == 6) {
    std::uint8_t* page = frame_byte(a[1], 0);
    if (page != nullptr) {
      for (std::size_t i = 0; i < abi::kPageSize; ++i)
        page[i] = static_cast<std::uint8_t>(a[3]);
    }
    const std::int64_t ref = guest::gnttab::grant_access(
        static_cast<abi::domid_t>(a[0]), static_cast<std::uint32_t>(a[1]), a[2] != 0);
    // After the grant the frame is the shared page: these writes must be
    // what the grantee sees.
    if (ref >= 0 && page != nullptr) {
      for (std::size_t i = abi::kPageSize / 2; i < abi::kPageSize; ++i) {
        page[i] = static_cast<std::uint8_t>(a[3] + 1);
      }
    }
    guest::console_printf("[%s] grant = %ld\n", id, static_cast<long>(ref));
  } else if (equals(command, "end") && n == 3) {
    guest::console_printf("[%s] end = %d\n", id,
                          guest::gnttab::end_access(static_cast<abi::grant_ref_t>(a[0])));
  } else if (equals(command, "peek") && n == 4) {
    const std::uint8_t* byte = frame_byte(a[0], a[1]);
    guest::console_printf("[%s] peek = %d\n", id, byte != nullptr ? *byte : -sys::kEINVAL);
  } else if (equals(command, "poke") && n == 5) {
    std::uint8_t* byte = frame_byte(a[0], a[1]);
    if (byte != nullptr) *byte = static_cast<std::uint8_t>(a[2]);
    guest::console_printf("[%s] poke = %d\n", id, byte != nullptr ? 0 : -sys::kEINVAL);
  } else if (equals(command, "map") && n == 5) {
    guest::gnttab::Mapping m{};
    const int rc = guest::gnttab::map(static_cast<abi::domid_t>(a[0]),
                                      static_cast<abi::grant_ref_t>(a[1]), a[2] != 0, &m);
    if (rc == 0) {
      g_mappings[m.handle] = m;
      g_mapped[m.handle] = true;
    }
    guest::console_printf("[%s] map = %d %u\n", id, rc, rc == 0 ? m.handle : 0u);
  } else if (equals(command, "mpeek") && n == 4) {
    const guest::gnttab::Mapping* m = mapping(a[0]);
    const bool ok = m != nullptr && a[1] < abi::kPageSize;
    guest::console_printf("[%s] mpeek = %d\n", id,
                          ok ? static_cast<const std::uint8_t*>(m->address)[a[1]] : -sys::kEINVAL);
  } else if (equals(command, "mpoke") && n == 5) {
    const guest::gnttab::Mapping* m = mapping(a[0]);
    const bool ok = m != nullptr && !m->readonly && a[1] < abi::kPageSize;
    if (ok) static_cast<std::uint8_t*>(m->address)[a[1]] = static_cast<std::uint8_t>(a[2]);
    guest::console_printf("[%s] mpoke = %d\n", id, ok ? 0 : -sys::kEINVAL);
  } else if (equals(command, "mapw") && n == 3) {
    const int fd =
        guest::fd_table::find(guest::FdRole::grant_mapping, static_cast<std::uint32_t>(a[0]));
    long mapped = fd;
    long written = fd;
    if (fd >= 0) {
      mapped =
          sys::mmap(0, abi::kPageSize, sys::kProtRead | sys::kProtWrite, sys::kMapShared, fd, 0);
      if (mapped >= 0) {
        // SAFETY: `mapped` is the page mmap just returned.
        (void)sys::munmap(reinterpret_cast<void*>(mapped), abi::kPageSize);
        mapped = 0;
      }
      const std::uint8_t byte = 0x77;
      written = sys::write(fd, &byte, 1);
    }
    guest::console_printf("[%s] mapw = %ld %ld\n", id, mapped, written);
  } else if (equals(command, "unmap") && n == 3) {
    guest::gnttab::Mapping* m = mapping(a[0]);
    guest::gnttab::Mapping bogus{static_cast<std::uint32_t>(a[0]), nullptr, false};
    const int rc = guest::gnttab::unmap(m != nullptr ? *m : bogus);
    if (m != nullptr) g_mapped[a[0]] = false;
    guest::console_printf("[%s] unmap = %d\n", id, rc);
  } else if (equals(command, "copy") && n == 9) {
    abi::GntCopy request{};
    request.source.dom = static_cast<abi::domid_t>(a[0]);
    request.source.ref_or_frame = static_cast<std::uint32_t>(a[1]);
    request.source.offset = static_cast<std::uint32_t>(a[2]);
    request.dest.dom = static_cast<abi::domid_t>(a[3]);
    request.dest.ref_or_frame = static_cast<std::uint32_t>(a[4]);
    request.dest.offset = static_cast<std::uint32_t>(a[5]);
    request.length = static_cast<std::uint32_t>(a[6]);
    guest::console_printf("[%s] copy = %d\n", id, guest::gnttab::copy(request));
  } else if (equals(command, "query") && n == 2) {
    abi::GntQuerySize size{};
    const int rc = guest::gnttab::query_size(&size);
    guest::console_printf("[%s] query = %d %u %u\n", id, rc, size.grants, size.max_grants);
  } else {
    guest::console_printf("[%s] %s = unknown-command\n", id, command);
  }
}

void take_input(const std::uint8_t* bytes, std::uint32_t length) {
  for (std::uint32_t i = 0; i < length; ++i) {
    const char c = static_cast<char>(bytes[i]);
    if (c == '\n') {
      g_line[g_line_length] = '\0';
      run(g_line);
      g_line_length = 0;
    } else if (g_line_length + 1 < sizeof g_line) {
      g_line[g_line_length++] = c;
    }
  }
}

}  // namespace

int guest_main(int /*argc*/, char** /*argv*/) {
  guest::console_printf("granter %u ready\n", guest::domid());
  for (;;) {
    (void)guest::wait_for_events(-1);
    while (guest::next_notification(&g_notification)) {
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(g_notification, &reason)) guest::shutdown(reason);
      if (g_notification.op == abi::Op::console_io &&
          g_notification.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::read)) {
        take_input(g_notification.payload, g_notification.length);
      }
      guest::discard_notification(&g_notification);
    }
  }
}
