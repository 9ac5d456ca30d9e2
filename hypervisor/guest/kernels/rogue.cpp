// guest_rogue: a hostile guest for security tests. The cmdline names one
// attack; it prints "rogue: <attack>: <result>" and shuts down (poweroff if
// the attack was refused as expected, crash if it was not), unless the
// attack gets it killed first. An empty cmdline lists the attacks.
//
// Expected outcome per attack (the tests check these):
//
//   attack            what the guest does                        expected
//   ----------------  -----------------------------------------  ------------------------------
//   open              open("/etc/passwd", O_RDONLY)              killed by SIGSYS (seccomp)
//   socket            socket(AF_INET, SOCK_STREAM, 0)            killed by SIGSYS
//   fork              fork()                                     killed by SIGSYS
//   clone             clone(SIGCHLD, 0, 0, 0, 0)                 killed by SIGSYS
//   execve            execve("/bin/sh", ...)                     killed by SIGSYS
//   ptrace            ptrace(PTRACE_TRACEME)                     killed by SIGSYS
//   kill              kill(-1, SIGKILL)                          killed by SIGSYS
//   mprotect-exec     mprotect(frame 0, PROT_READ | PROT_EXEC)   killed by SIGSYS
//   mmap-exec         mmap(anonymous, PROT_READ|WRITE|EXEC)      killed by SIGSYS
//   setrlimit         prlimit64(RLIMIT_NOFILE -> 4096)           killed by SIGSYS
//   x32               getpid through the x32 ABI                 killed by SIGSYS (bad arch)
//   int80             getpid through int $0x80 (i386 ABI)        killed by SIGSYS (bad arch); on
//                                                                hosts without the i386 gate the
//                                                                instruction faults first: SIGSEGV
//   reexec            execveat(2048, "", AT_EMPTY_PATH), the     refused -EBADF (the launcher's
//                     one execveat the filter allows             fd is gone for good); poweroff
//   bad-magic         a request with magic 0xdeadbeef            destroyed by the hypervisor
//                                                                (or answered with an error)
//   truncated-header  a 16-byte datagram                         destroyed (or an error)
//   oversize          header + kMaxPayload + 1 bytes             destroyed (or an error)
//   length-lie        payload_length 100 with 10 bytes           destroyed (or an error)
//   unknown-op        op 9999                                    answered -ENOSYS; poweroff
//   privileged-op     domctl getdomaininfo (Domain-0 only)       answered -EPERM; poweroff
//   garbage-fds       console write with fds 4 and 6 attached    answered with an error
//                     (fd_count 2; console writes take none)     (-EINVAL); poweroff
//   flood             100000 console writes, one byte each       every one answered (0 or an
//                                                                error); then poweroff
//
// Next stage: attacks on grant tables (map a grant meant for another
// domain, end a grant that is mapped, copy past a page) and event channels
// (bind a port not offered to us, send on a closed port) are added to
// kAttacks below; the table is the only place to extend.
#include "shype/console.hpp"
#include "shype/domctl.hpp"
#include "shype/guest/channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

namespace {

using namespace shype;
using guest::sys::syscall6;

constexpr std::int64_t kAnswerTimeoutNs = 2'000'000'000;

enum class Outcome { refused, not_refused };

[[noreturn]] void finish(Outcome outcome) {
  guest::shutdown(outcome == Outcome::refused ? abi::ShutdownReason::poweroff
                                              : abi::ShutdownReason::crash);
}

// ---- Forbidden system calls: the sandbox must kill us. ----

[[noreturn]] void survived(const char* attack, long result) {
  guest::console_printf("rogue: %s: NOT BLOCKED (returned %ld)\n", attack, result);
  finish(Outcome::not_refused);
}

long attempt(const char* attack, const char* what, long number, long a1 = 0, long a2 = 0,
             long a3 = 0, long a4 = 0, long a5 = 0) {
  guest::console_printf("rogue: %s: attempting %s\n", attack, what);
  return syscall6(number, a1, a2, a3, a4, a5, 0);
}

[[noreturn]] void attack_open(const char* a) {
  survived(
      a, attempt(a, "open(/etc/passwd)", guest::sys::nr::open, guest::sys::arg("/etc/passwd"), 0));
}
[[noreturn]] void attack_socket(const char* a) {
  survived(a, attempt(a, "socket(AF_INET, SOCK_STREAM)", guest::sys::nr::socket, 2, 1, 0));
}
[[noreturn]] void attack_fork(const char* a) {
  survived(a, attempt(a, "fork()", guest::sys::nr::fork));
}
[[noreturn]] void attack_clone(const char* a) {
  constexpr long kSigchld = 17;
  survived(a, attempt(a, "clone(SIGCHLD)", guest::sys::nr::clone, kSigchld));
}
[[noreturn]] void attack_execve(const char* a) {
  const char* argv[] = {"/bin/sh", nullptr};
  const char* envp[] = {nullptr};
  survived(a, attempt(a, "execve(/bin/sh)", guest::sys::nr::execve, guest::sys::arg("/bin/sh"),
                      guest::sys::arg(argv), guest::sys::arg(envp)));
}
[[noreturn]] void attack_ptrace(const char* a) {
  survived(a, attempt(a, "ptrace(PTRACE_TRACEME)", guest::sys::nr::ptrace, 0));
}
[[noreturn]] void attack_kill(const char* a) {
  constexpr long kSigkill = 9;
  survived(a, attempt(a, "kill(-1, SIGKILL)", guest::sys::nr::kill, -1, kSigkill));
}
[[noreturn]] void attack_mprotect_exec(const char* a) {
  survived(a, attempt(a, "mprotect(frame 0, PROT_READ|PROT_EXEC)", guest::sys::nr::mprotect,
                      guest::sys::arg(guest::frame_address(0)), static_cast<long>(abi::kPageSize),
                      static_cast<long>(guest::sys::kProtRead | guest::sys::kProtExec)));
}
[[noreturn]] void attack_mmap_exec(const char* a) {
  survived(a, attempt(a, "mmap(PROT_READ|PROT_WRITE|PROT_EXEC)", guest::sys::nr::mmap, 0,
                      static_cast<long>(abi::kPageSize),
                      static_cast<long>(guest::sys::kProtRead | guest::sys::kProtWrite |
                                        guest::sys::kProtExec),
                      static_cast<long>(guest::sys::kMapPrivate | guest::sys::kMapAnonymous), -1));
}
[[noreturn]] void attack_setrlimit(const char* a) {
  constexpr long kRlimitNofile = 7;
  const std::uint64_t limit[2] = {4096, 4096};
  survived(a, attempt(a, "prlimit64(RLIMIT_NOFILE, 4096)", guest::sys::nr::prlimit64, 0,
                      kRlimitNofile, guest::sys::arg(limit), 0));
}
[[noreturn]] void attack_x32(const char* a) {
  constexpr long kX32Bit = 0x40000000;
  constexpr long kGetpid = 39;
  survived(a, attempt(a, "getpid through the x32 ABI", kX32Bit | kGetpid));
}
[[noreturn]] void attack_int80(const char* a) {
  guest::console_printf("rogue: %s: attempting getpid through int $0x80\n", a);
  long result = 20;  // __NR_getpid in the i386 table
  // SAFETY: the legacy i386 system call gate. It takes its number in eax
  // and returns in eax; the sandbox is expected to kill the process here.
  asm volatile("int $0x80" : "+a"(result) : : "memory");
  survived(a, result);
}

// ---- The one allowed execveat: must fail for good. ----

[[noreturn]] void attack_reexec(const char* a) {
  const char* argv[] = {"rogue", nullptr};
  const char* envp[] = {nullptr};
  const long result = attempt(a, "execveat(2048, \"\", AT_EMPTY_PATH)", guest::sys::nr::execveat,
                              2048, guest::sys::arg(""), guest::sys::arg(argv),
                              guest::sys::arg(envp), guest::sys::kAtEmptyPath);
  const bool refused = result == -guest::sys::kEBADF;
  guest::console_printf("rogue: %s: %s %ld\n", a, refused ? "refused" : "UNEXPECTED", result);
  finish(refused ? Outcome::refused : Outcome::not_refused);
}

// ---- Protocol abuse: the hypervisor must refuse or destroy us. ----

abi::MessageHeader request_header(std::uint32_t op, std::uint32_t payload_length) {
  abi::MessageHeader header{};
  header.magic = abi::kMagic;
  header.version_major = abi::kVersionMajor;
  header.kind = static_cast<std::uint16_t>(abi::MessageKind::request);
  header.op = op;
  header.seq = guest::channel::next_seq();
  header.payload_length = payload_length;
  return header;
}

alignas(8) std::uint8_t g_datagram[abi::kMaxMessageSize + 1];

// After garbage framing: an error response is acceptable, silence is not
// (the hypervisor should have destroyed us by the time the wait ends).
[[noreturn]] void expect_refusal(const char* attack) {
  guest::channel::Response response{};
  if (guest::channel::await_response(guest::channel::kAnySeq, kAnswerTimeoutNs, &response) != 0) {
    guest::console_printf("rogue: %s: NO ANSWER and still alive\n", attack);
    finish(Outcome::not_refused);
  }
  for (std::uint32_t i = 0; i < response.fd_count; ++i)
    guest::sys::close(response.fds[i]);
  const std::int32_t status = response.header.status;
  guest::console_printf("rogue: %s: %s %d\n", attack, status < 0 ? "refused" : "ACCEPTED", status);
  finish(status < 0 ? Outcome::refused : Outcome::not_refused);
}

void send_datagram(const char* attack, const void* bytes, std::size_t length) {
  guest::console_printf("rogue: %s: sending %lu bytes\n", attack,
                        static_cast<unsigned long>(length));
  const int sent = guest::channel::send_raw(bytes, length, nullptr, 0);
  if (sent != 0) guest::console_printf("rogue: %s: send failed %d\n", attack, sent);
}

[[noreturn]] void attack_bad_magic(const char* a) {
  abi::MessageHeader header = request_header(static_cast<std::uint32_t>(abi::Op::console_io), 0);
  header.magic = 0xdeadbeef;
  send_datagram(a, &header, sizeof header);
  expect_refusal(a);
}
[[noreturn]] void attack_truncated_header(const char* a) {
  const abi::MessageHeader header =
      request_header(static_cast<std::uint32_t>(abi::Op::xen_version), 0);
  send_datagram(a, &header, 16);
  expect_refusal(a);
}
[[noreturn]] void attack_oversize(const char* a) {
  const abi::MessageHeader header =
      request_header(static_cast<std::uint32_t>(abi::Op::console_io),
                     static_cast<std::uint32_t>(abi::kMaxPayload + 1));
  __builtin_memcpy(g_datagram, &header, sizeof header);
  __builtin_memset(g_datagram + sizeof header, 'A', abi::kMaxPayload + 1);
  send_datagram(a, g_datagram, sizeof g_datagram);
  expect_refusal(a);
}
[[noreturn]] void attack_length_lie(const char* a) {
  const abi::MessageHeader header =
      request_header(static_cast<std::uint32_t>(abi::Op::console_io), 100);
  __builtin_memcpy(g_datagram, &header, sizeof header);
  __builtin_memset(g_datagram + sizeof header, 'B', 10);
  send_datagram(a, g_datagram, sizeof header + 10);
  expect_refusal(a);
}

[[noreturn]] void expect_status(const char* attack, int status, int expected) {
  const bool refused = status == expected;
  guest::console_printf("rogue: %s: %s %d (expected %d)\n", attack,
                        refused ? "refused" : "UNEXPECTED", status, expected);
  finish(refused ? Outcome::refused : Outcome::not_refused);
}

[[noreturn]] void attack_unknown_op(const char* a) {
  guest::console_printf("rogue: %s: calling op 9999\n", a);
  expect_status(a, guest::hypercall(static_cast<abi::Op>(9999), 0, nullptr, 0),
                -guest::sys::kENOSYS);
}
[[noreturn]] void attack_privileged_op(const char* a) {
  guest::console_printf("rogue: %s: calling domctl getdomaininfo\n", a);
  const abi::DomctlDomain request{abi::kDomain0, 0};
  alignas(8) static std::uint8_t out[abi::kMaxPayload];
  std::size_t length = 0;
  const int status =
      guest::hypercall(abi::Op::domctl, static_cast<std::uint32_t>(abi::DomctlOp::getdomaininfo),
                       &request, sizeof request, out, sizeof out, &length, nullptr, 0, nullptr);
  expect_status(a, status, -guest::sys::kEPERM);
}
[[noreturn]] void attack_garbage_fds(const char* a) {
  guest::console_printf("rogue: %s: console write with fds 4 and 6 attached\n", a);
  const int fds[2] = {abi::kMemoryFd, abi::kUpcallFd};
  const std::uint32_t seq = guest::channel::next_seq();
  const char byte = 'x';
  const int sent = guest::channel::send_request(abi::Op::console_io,
                                                static_cast<std::uint32_t>(abi::ConsoleIoOp::write),
                                                seq, &byte, 1, fds, 2);
  if (sent != 0) {
    guest::console_printf("rogue: %s: send failed %d\n", a, sent);
    finish(Outcome::not_refused);
  }
  guest::channel::Response response{};
  if (guest::channel::await_response(seq, kAnswerTimeoutNs, &response) != 0) {
    guest::console_printf("rogue: %s: NO ANSWER and still alive\n", a);
    finish(Outcome::not_refused);
  }
  for (std::uint32_t i = 0; i < response.fd_count; ++i)
    guest::sys::close(response.fds[i]);
  const std::int32_t status = response.header.status;
  guest::console_printf("rogue: %s: %s %d\n", a, status < 0 ? "refused" : "ACCEPTED", status);
  finish(status < 0 ? Outcome::refused : Outcome::not_refused);
}
[[noreturn]] void attack_flood(const char* a) {
  constexpr std::uint32_t kWrites = 100000;
  guest::console_printf("rogue: %s: %u console writes\n", a, kWrites);
  std::uint32_t ok = 0;
  std::uint32_t refused = 0;
  for (std::uint32_t i = 0; i < kWrites; ++i) {
    const char byte = '.';
    if (guest::hypercall(abi::Op::console_io, static_cast<std::uint32_t>(abi::ConsoleIoOp::write),
                         &byte, 1) == 0) {
      ++ok;
    } else {
      ++refused;
    }
  }
  guest::console_printf("\nrogue: %s: %u writes answered (%u ok, %u refused)\n", a, ok + refused,
                        ok, refused);
  finish(Outcome::refused);
}

struct Attack {
  const char* name;
  void (*run)(const char* name);
};

constexpr Attack kAttacks[] = {
    {"open", attack_open},
    {"socket", attack_socket},
    {"fork", attack_fork},
    {"clone", attack_clone},
    {"execve", attack_execve},
    {"ptrace", attack_ptrace},
    {"kill", attack_kill},
    {"mprotect-exec", attack_mprotect_exec},
    {"mmap-exec", attack_mmap_exec},
    {"setrlimit", attack_setrlimit},
    {"x32", attack_x32},
    {"int80", attack_int80},
    {"reexec", attack_reexec},
    {"bad-magic", attack_bad_magic},
    {"truncated-header", attack_truncated_header},
    {"oversize", attack_oversize},
    {"length-lie", attack_length_lie},
    {"unknown-op", attack_unknown_op},
    {"privileged-op", attack_privileged_op},
    {"garbage-fds", attack_garbage_fds},
    {"flood", attack_flood},
    // Next stage: grant-* and evtchn-* attacks.
};

bool equals(const char* left, const char* right) {
  while (*left != '\0' && *left == *right) {
    ++left;
    ++right;
  }
  return *left == *right;
}

}  // namespace

int guest_main(int argc, char** argv) {
  const char* attack = argc > 1 && argv[1] != nullptr ? argv[1] : "";
  if (*attack == '\0') {
    guest::console_puts("rogue: attacks:");
    for (const Attack& known : kAttacks)
      guest::console_printf(" %s", known.name);
    guest::console_puts("\n");
    return 0;
  }
  for (const Attack& known : kAttacks) {
    if (equals(attack, known.name)) {
      known.run(known.name);
      return 1;  // attacks do not return
    }
  }
  guest::console_printf("rogue: %s: unknown attack\n", attack);
  return 1;
}
