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
//   frame-access      xsm_op frame_access about Domain-0 and     answered -EPERM (no channel
//                     itself (a driver domain's question)        to either); poweroff
//   garbage-fds       console write with fds 4 and 6 attached    answered with an error
//                     (fd_count 2; console writes take none)     (-EINVAL); poweroff
//   flood             100000 console writes, one byte each       every one answered (0 or an
//                                                                error); then poweroff
//
// Attacks on event channels and grant tables. Their cmdline is the attack
// name followed by key=value words (kv_args.hpp); keys the attack needs
// that are not on the cmdline are read from console input (a test relays
// them, e.g. "ref=<r>" once a pair server has offered one). peer=<domid> is
// the victim (a guest_pair server holding port=<n> and ref=<r> for another
// domain); where a peer is optional it defaults to Domain-0. Each prints
// every result it got and "refused" or "UNEXPECTED" per step.
//
//   attack                  what the guest does                        expected
//   ----------------------  -----------------------------------------  --------------------------
//   evtchn-bind-unoffered   bind port=<n> of peer (offered to another  refused (-EINVAL); poweroff
//                           domain, or already bound)
//   evtchn-bind-invalid     bind ports 0, 1000 (closed), 1024,         each refused; poweroff
//                           0xffffffff of peer
//   evtchn-send-foreign     EVTCHNOP_send on port=<n> (the peer's      each refused; poweroff
//                           number; not ours) and on ports 1..8
//   evtchn-flood            alloc_unbound for peer until refused       refused (-ENOSPC) after at
//                                                                      most 1023 ports; poweroff
//   evtchn-stale-doorbell   loopback channel, close it, bind again,    the new binding's doorbells
//                           ring the first binding's peer doorbell     stay silent (a control ring
//                                                                      of the new one is seen);
//                                                                      poweroff
//   grant-map-unoffered     map ref=<r> of peer (granted to another    refused, read-only and
//                           domain)                                    writable; poweroff
//   grant-map-forged        map ref=<r> naming granter client=<domid>  each refused; poweroff
//                           (the real grantee), DOMID_SELF, 0x7ff1
//                           and Domain-0
//   grant-map-rw-readonly   peer grants ref=<r> read-only to us: map   writable map refused, the
//                           it writable (then read-only as control)    read-only one works;
//                           poweroff
//   grant-ro-write          map that read-only grant read-only and     killed (SIGSEGV): crashed
//                           write through the mapping
//   grant-foreign-frame     grant frames past the end of our memory    each refused (-EINVAL);
//                           (frame_count, +1000, 0xffffffff) to peer   poweroff
//   grant-end-unowned       end_access refs 0, 7, 1023, 1024 we never  each refused; poweroff
//                           made
//   grant-unmap-unowned     unmap handles 0, 1, 1023, 0xffffffff we    each refused; poweroff
//                           do not hold
//   grant-flood             grant frames 0.. to peer until refused     refused (-ENOSPC) after at
//                           (needs >= 1025 frames: 8 MiB)              most 1024 grants; poweroff
//
// Attacks on save and scheduling: the guest keeps running, bounded.
//
//   attack                  what the guest does                        expected
//   ----------------------  -----------------------------------------  --------------------------
//   ignore-suspend          prints "rogue: ignore-suspend: ignoring",  a save times out
//                           then ignores every suspend request (and    (-ETIMEDOUT) and the domain
//                           VIRQ_SUSPEND); obeys other shutdown        runs on unchanged; a
//                           requests                                   poweroff request ends it
//   spin                    burns CPU without pause (checks for        held to its cap by the
//                           shutdown requests every few ms)            host scheduler
//                           (sched-credit)
#include "kv_args.hpp"
#include "shype/console.hpp"
#include "shype/domctl.hpp"
#include "shype/event_channel.hpp"
#include "shype/grant_table.hpp"
#include "shype/xsm_op.hpp"
#include "shype/guest/channel.hpp"
#include "shype/guest/grant_table.hpp"
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
[[noreturn]] void attack_frame_access(const char* a) {
  guest::console_printf("rogue: %s: asking frame_access about Domain-0 and itself\n", a);
  abi::AcmFrameAccess request{};
  request.interface_version = abi::kAcmInterfaceVersion;
  request.from = abi::kDomain0;
  request.to = guest::domid();
  abi::AcmFrameAccess answer{};
  std::size_t length = 0;
  const int status =
      guest::hypercall(abi::Op::xsm_op, static_cast<std::uint32_t>(abi::AcmOp::frame_access),
                       &request, sizeof request, &answer, sizeof answer, &length, nullptr, 0,
                       nullptr);
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

// ---- Event channels and grant tables: refused, or only the rogue dies. ----

constexpr std::uint64_t kSecondNs = 1'000'000'000u;
constexpr std::uint64_t kInputWaitNs = 60 * kSecondNs;

guest::kv::Args g_args;
guest::Notification g_notification;

// Console input becomes arguments; a shutdown request is obeyed; other
// notifications are dropped (with their descriptors).
void pump_notifications() {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    if (guest::is_shutdown_request(g_notification, &reason)) guest::shutdown(reason);
    if (g_notification.op == abi::Op::console_io &&
        g_notification.subop == static_cast<std::uint32_t>(abi::ConsoleIoOp::read)) {
      // SAFETY: payload holds `length` (<= kMaxPayload) received bytes.
      g_args.add(reinterpret_cast<const char*>(g_notification.payload), g_notification.length);
    }
    guest::discard_notification(&g_notification);
  }
}

// The numeric argument `key` (from the cmdline or, waiting for it at most
// kInputWaitNs, from console input); `fallback` if it is optional and
// absent. A missing required argument ends the attack as not refused: the
// test set it up wrong, and must notice.
std::uint32_t argument(const char* attack, const char* key, bool required,
                       std::uint32_t fallback = 0) {
  const std::uint64_t deadline = guest::now_ns() + kInputWaitNs;
  while (required && !g_args.has(key)) {
    pump_notifications();
    alignas(8) static char input[abi::kMaxPayload];
    std::size_t length = 0;
    if (guest::hypercall(abi::Op::console_io, static_cast<std::uint32_t>(abi::ConsoleIoOp::read),
                         nullptr, 0, input, sizeof input, &length, nullptr, 0, nullptr) == 0 &&
        length > 0) {
      g_args.add(input, length);
    }
    if (g_args.has(key)) break;
    if (guest::now_ns() >= deadline) {
      guest::console_printf("rogue: %s: NO ARGUMENT %s\n", attack, key);
      finish(Outcome::not_refused);
    }
    (void)guest::wait_for_events(100'000'000);
  }
  std::uint32_t value = 0;
  if (!g_args.number(key, fallback, &value)) {
    guest::console_printf("rogue: %s: BAD ARGUMENT %s=%s\n", attack, key, g_args.get(key));
    finish(Outcome::not_refused);
  }
  return value;
}

abi::domid_t peer_argument(const char* attack, bool required) {
  return static_cast<abi::domid_t>(argument(attack, "peer", required, abi::kDomain0));
}

// Raw hypercalls: the runtime's helpers check some things locally; these
// reach the hypervisor whatever we pass. `args` is the request and receives
// the response; descriptors in the response are closed.
template <typename Args>
int raw_call(abi::Op op, std::uint32_t subop, Args* args) {
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  std::size_t length = 0;
  const int status = guest::hypercall(op, subop, args, sizeof(Args), args, sizeof(Args), &length,
                                      fds, abi::kMaxFds, &fd_count);
  for (std::uint32_t i = 0; i < fd_count; ++i)
    guest::sys::close(fds[i]);
  return status;
}
template <typename Args>
int evtchn_call(abi::EvtchnOp op, Args* args) {
  return raw_call(abi::Op::event_channel_op, static_cast<std::uint32_t>(op), args);
}
template <typename Args>
int gnttab_call(abi::GnttabOp op, Args* args) {
  return raw_call(abi::Op::grant_table_op, static_cast<std::uint32_t>(op), args);
}

int raw_bind(abi::domid_t remote, abi::evtchn_port_t port) {
  abi::EvtchnBindInterdomain args{};
  args.remote_dom = remote;
  args.remote_port = port;
  return evtchn_call(abi::EvtchnOp::bind_interdomain, &args);
}
int raw_map(abi::domid_t granter, abi::grant_ref_t ref, bool readonly,
            std::uint32_t* handle = nullptr) {
  abi::GntMap args{};
  args.granter = granter;
  args.ref = ref;
  args.flags = readonly ? abi::kGrantReadOnly : 0;
  const int status = gnttab_call(abi::GnttabOp::map_grant_ref, &args);
  if (handle != nullptr) *handle = args.handle;
  return status;
}
int raw_unmap(std::uint32_t handle) {
  abi::GntUnmap args{handle};
  return gnttab_call(abi::GnttabOp::unmap_grant_ref, &args);
}

// Tallies the steps of a multi-step attack.
struct Steps {
  const char* attack;
  bool all_refused = true;

  // A step that must fail: any negative status is a refusal.
  void expect_refused(const char* what, long status) {
    const bool refused = status < 0;
    all_refused = all_refused && refused;
    guest::console_printf("rogue: %s: %s: %s %ld\n", attack, what,
                          refused ? "refused" : "UNEXPECTED", status);
  }
  // A step that must succeed (a control).
  void expect_ok(const char* what, long status) {
    all_refused = all_refused && status >= 0;
    guest::console_printf("rogue: %s: %s: %s %ld\n", attack, what,
                          status >= 0 ? "ok (control)" : "CONTROL FAILED", status);
  }
  [[noreturn]] void finish_all() {
    guest::console_printf("rogue: %s: %s\n", attack,
                          all_refused ? "all refused" : "NOT ALL REFUSED");
    finish(all_refused ? Outcome::refused : Outcome::not_refused);
  }
};

[[noreturn]] void attack_evtchn_bind_unoffered(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  const auto port = argument(a, "port", true);
  Steps steps{a};
  steps.expect_refused("bind to the peer's port", raw_bind(peer, port));
  steps.finish_all();
}

[[noreturn]] void attack_evtchn_bind_invalid(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  Steps steps{a};
  steps.expect_refused("bind port 0", raw_bind(peer, 0));
  steps.expect_refused("bind closed port 1000", raw_bind(peer, 1000));
  steps.expect_refused("bind port 1024", raw_bind(peer, 1024));
  steps.expect_refused("bind port 0xffffffff", raw_bind(peer, 0xffffffffu));
  steps.expect_refused("bind a port of domain 0x7fef", raw_bind(0x7fef, 1));
  steps.finish_all();
}

[[noreturn]] void attack_evtchn_send_foreign(const char* a) {
  const auto port = argument(a, "port", true);
  Steps steps{a};
  abi::EvtchnSend send{port};
  steps.expect_refused("send on the peer's port number", evtchn_call(abi::EvtchnOp::send, &send));
  for (abi::evtchn_port_t p = 1; p <= 8; ++p) {
    send.port = p;
    steps.expect_refused("send on a port we do not hold", evtchn_call(abi::EvtchnOp::send, &send));
  }
  abi::EvtchnClose close{port};
  steps.expect_refused("close the peer's port number", evtchn_call(abi::EvtchnOp::close, &close));
  steps.finish_all();
}

[[noreturn]] void attack_evtchn_flood(const char* a) {
  const abi::domid_t peer = peer_argument(a, false);
  constexpr std::uint32_t kAttempts = 4096;
  std::uint32_t allocated = 0;
  int refusal = 0;
  for (std::uint32_t i = 0; i < kAttempts && refusal == 0; ++i) {
    abi::EvtchnAllocUnbound args{abi::kDomidSelf, peer, 0};
    const int status = evtchn_call(abi::EvtchnOp::alloc_unbound, &args);
    if (status == 0) {
      ++allocated;
    } else {
      refusal = status;
    }
  }
  const bool refused = refusal < 0 && allocated < abi::kMaxEventChannels;
  guest::console_printf("rogue: %s: %u ports, then %s %d\n", a, allocated,
                        refused ? "refused" : "UNEXPECTED", refusal);
  finish(refused ? Outcome::refused : Outcome::not_refused);
}

// Whether `fd` (an eventfd) is readable now, without consuming it.
bool rung(int fd) {
  guest::sys::Pollfd p{fd, guest::sys::kPollIn, 0};
  const guest::sys::Timespec zero{0, 0};
  return guest::sys::ppoll(&p, 1, &zero) == 1 && (p.revents & guest::sys::kPollIn) != 0;
}

// Whether shared_info marks `port` pending.
bool port_pending(abi::evtchn_port_t port) {
  if (port >= abi::kMaxEventChannels) return false;
  const std::uint64_t word =
      __atomic_load_n(&guest::shared_info()->evtchn_pending[port / 64], __ATOMIC_ACQUIRE);
  return (word & (1ull << (port % 64))) != 0;
}

struct Binding {
  abi::evtchn_port_t unbound_port = 0;  // the loopback's first end
  abi::evtchn_port_t bound_port = 0;    // the end that bound it
  int bound_own = -1;                   // bound end: own doorbell, peer doorbell
  int bound_peer = -1;
  int unbound_own = -1;  // from the bound_notice
  int unbound_peer = -1;
};

// A loopback channel with both ends in this domain, all four doorbells held
// here (not in the runtime's table). Returns 0 or the first error.
int loopback(Binding* out) {
  abi::EvtchnAllocUnbound alloc{abi::kDomidSelf, abi::kDomidSelf, 0};
  if (const int rc = evtchn_call(abi::EvtchnOp::alloc_unbound, &alloc); rc != 0) return rc;
  out->unbound_port = alloc.port;
  abi::EvtchnBindInterdomain bind{};
  bind.remote_dom = abi::kDomidSelf;
  bind.remote_port = alloc.port;
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  std::size_t length = 0;
  const int rc = guest::hypercall(
      abi::Op::event_channel_op, static_cast<std::uint32_t>(abi::EvtchnOp::bind_interdomain), &bind,
      sizeof bind, &bind, sizeof bind, &length, fds, abi::kMaxFds, &fd_count);
  if (rc != 0 || fd_count != 2) {
    for (std::uint32_t i = 0; i < fd_count; ++i)
      guest::sys::close(fds[i]);
    return rc != 0 ? rc : -guest::sys::kEPROTO;
  }
  out->bound_port = bind.local_port;
  out->bound_own = fds[0];
  out->bound_peer = fds[1];
  // The unbound end's doorbells arrive in a bound_notice (to ourselves).
  const std::uint64_t deadline = guest::now_ns() + 5 * kSecondNs;
  while (out->unbound_own < 0 && guest::now_ns() < deadline) {
    (void)guest::wait_for_events(100'000'000);
    while (guest::next_notification(&g_notification)) {
      if (g_notification.op == abi::Op::event_channel_op &&
          g_notification.subop == static_cast<std::uint32_t>(abi::EvtchnOp::bound_notice) &&
          g_notification.fd_count == 2) {
        out->unbound_own = g_notification.fds[0];
        out->unbound_peer = g_notification.fds[1];
        continue;
      }
      guest::discard_notification(&g_notification);
    }
  }
  return out->unbound_own >= 0 ? 0 : -guest::sys::kETIMEDOUT;
}

[[noreturn]] void attack_evtchn_stale_doorbell(const char* a) {
  Steps steps{a};
  Binding first{};
  const int first_rc = loopback(&first);
  steps.expect_ok("first loopback binding", first_rc);
  if (first_rc != 0) steps.finish_all();
  abi::EvtchnClose close{first.bound_port};
  steps.expect_ok("close the bound end", evtchn_call(abi::EvtchnOp::close, &close));
  close.port = first.unbound_port;
  steps.expect_ok("close the unbound end", evtchn_call(abi::EvtchnOp::close, &close));

  Binding second{};
  const int second_rc = loopback(&second);
  steps.expect_ok("second loopback binding", second_rc);
  if (second_rc != 0) steps.finish_all();
  guest::console_printf("rogue: %s: first ports %u/%u, second ports %u/%u\n", a, first.unbound_port,
                        first.bound_port, second.unbound_port, second.bound_port);

  // Ring every doorbell of the first binding we kept.
  const std::uint64_t one = 1;
  const int stale[] = {first.bound_own, first.bound_peer, first.unbound_own, first.unbound_peer};
  for (const int fd : stale)
    (void)guest::sys::write(fd, &one, sizeof one);
  const bool leaked = rung(second.bound_own) || rung(second.unbound_own);
  const bool pending = port_pending(second.bound_port) || port_pending(second.unbound_port);
  steps.expect_refused("stale doorbells reaching the new binding",
                       leaked || pending ? 1 : -guest::sys::kEPIPE);
  // Control: the new binding's own peer doorbell is seen.
  (void)guest::sys::write(second.bound_peer, &one, sizeof one);
  steps.expect_ok("ring the new binding", rung(second.unbound_own) ? 0 : -1);
  steps.finish_all();
}

[[noreturn]] void attack_grant_map_unoffered(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  const auto ref = argument(a, "ref", true);
  Steps steps{a};
  steps.expect_refused("map the peer's ref read-only", raw_map(peer, ref, true));
  steps.expect_refused("map the peer's ref writable", raw_map(peer, ref, false));
  abi::GntCopy copy{};
  copy.source.dom = peer;
  copy.source.ref_or_frame = ref;
  copy.dest.dom = abi::kDomidSelf;
  copy.dest.ref_or_frame = 0;
  copy.length = 64;
  steps.expect_refused("copy from the peer's ref", gnttab_call(abi::GnttabOp::copy, &copy));
  steps.finish_all();
}

[[noreturn]] void attack_grant_map_forged(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  const auto ref = argument(a, "ref", true);
  const auto client = static_cast<abi::domid_t>(argument(a, "client", true));
  (void)peer;
  Steps steps{a};
  steps.expect_refused("map naming the grantee as granter", raw_map(client, ref, true));
  steps.expect_refused("map naming DOMID_SELF as granter", raw_map(abi::kDomidSelf, ref, true));
  steps.expect_refused("map naming 0x7ff1 as granter", raw_map(0x7ff1, ref, true));
  steps.expect_refused("map naming Domain-0 as granter", raw_map(abi::kDomain0, ref, true));
  steps.finish_all();
}

[[noreturn]] void attack_grant_map_rw_readonly(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  const auto ref = argument(a, "ref", true);
  Steps steps{a};
  steps.expect_refused("writable map of a read-only grant", raw_map(peer, ref, false));
  std::uint32_t handle = 0;
  const int ro = raw_map(peer, ref, true, &handle);
  steps.expect_ok("read-only map of it", ro);
  if (ro == 0) steps.expect_ok("unmap it", raw_unmap(handle));
  steps.finish_all();
}

[[noreturn]] void attack_grant_ro_write(const char* a) {
  const abi::domid_t peer = peer_argument(a, true);
  const auto ref = argument(a, "ref", true);
  guest::gnttab::Mapping mapping{};
  const int rc = guest::gnttab::map(peer, ref, true, &mapping);
  if (rc != 0) {
    guest::console_printf("rogue: %s: read-only map failed: %d\n", a, rc);
    finish(Outcome::not_refused);
  }
  guest::console_printf("rogue: %s: writing through a read-only mapping at handle %u\n", a,
                        mapping.handle);
  // SAFETY: deliberately a write to a page mapped PROT_READ: the kernel
  // must deliver SIGSEGV and the hypervisor must classify the crash.
  auto* target = static_cast<volatile std::uint64_t*>(mapping.address);
  *target = 0x524f475545524f47ull;  // "GOREUGOR"
  guest::console_printf("rogue: %s: NOT BLOCKED (the write went through)\n", a);
  finish(Outcome::not_refused);
}

[[noreturn]] void attack_grant_foreign_frame(const char* a) {
  const abi::domid_t peer = peer_argument(a, false);
  Steps steps{a};
  const auto frames = static_cast<std::uint32_t>(guest::frame_count());
  const std::uint32_t outside[] = {frames, frames + 1000, 0xffffffffu};
  for (const std::uint32_t frame : outside) {
    abi::GntGrantAccess args{};
    args.grantee = peer;
    args.frame = frame;
    steps.expect_refused("grant a frame outside our memory",
                         gnttab_call(abi::GnttabOp::grant_access, &args));
  }
  steps.finish_all();
}

[[noreturn]] void attack_grant_end_unowned(const char* a) {
  Steps steps{a};
  constexpr abi::grant_ref_t kRefs[] = {0, 7, 1023, 1024};
  for (const abi::grant_ref_t ref : kRefs) {
    abi::GntEndAccess args{ref};
    steps.expect_refused("end a grant we never made",
                         gnttab_call(abi::GnttabOp::end_access, &args));
  }
  steps.finish_all();
}

[[noreturn]] void attack_grant_unmap_unowned(const char* a) {
  Steps steps{a};
  constexpr std::uint32_t kHandles[] = {0, 1, 1023, 0xffffffffu};
  for (const std::uint32_t handle : kHandles)
    steps.expect_refused("unmap a handle we do not hold", raw_unmap(handle));
  steps.finish_all();
}

[[noreturn]] void attack_grant_flood(const char* a) {
  const abi::domid_t peer = peer_argument(a, false);
  const auto frames = static_cast<std::uint32_t>(guest::frame_count());
  std::uint32_t granted = 0;
  int refusal = 0;
  for (std::uint32_t frame = 0; frame < frames && refusal == 0; ++frame) {
    abi::GntGrantAccess args{};
    args.grantee = peer;
    args.frame = frame;
    // The frame's memfd comes back and is closed: the frame stays ours.
    const int status = gnttab_call(abi::GnttabOp::grant_access, &args);
    if (status == 0) {
      ++granted;
    } else {
      refusal = status;
    }
  }
  const bool refused = refusal < 0 && granted <= abi::kMaxGrantsPerDomain;
  guest::console_printf("rogue: %s: %u grants of %u frames, then %s %d\n", a, granted, frames,
                        refused ? "refused" : "UNEXPECTED", refusal);
  finish(refused ? Outcome::refused : Outcome::not_refused);
}

// ---- Save and scheduling: bounded by the hypervisor and the host. ----

// Obeys shutdown requests other than suspend; true if one came.
void obey_shutdown_requests(const char* a, bool ignore_suspend) {
  while (guest::next_notification(&g_notification)) {
    abi::ShutdownReason reason{};
    const bool request = guest::is_shutdown_request(g_notification, &reason);
    guest::discard_notification(&g_notification);
    if (!request) continue;
    if (ignore_suspend && reason == abi::ShutdownReason::suspend) {
      guest::console_printf("rogue: %s: suspend request ignored\n", a);
      continue;
    }
    guest::console_printf("rogue: %s: shutting down (reason %u)\n", a,
                          static_cast<unsigned>(reason));
    guest::shutdown(reason);
  }
}

[[noreturn]] void attack_ignore_suspend(const char* a) {
  guest::console_printf("rogue: %s: ignoring\n", a);
  for (;;) {
    (void)guest::wait_for_events(-1);
    obey_shutdown_requests(a, true);
  }
}

[[noreturn]] void attack_spin(const char* a) {
  guest::console_printf("rogue: %s: spinning\n", a);
  for (;;) {
    // About a millisecond of work between looks at the channel.
    for (std::uint32_t i = 0; i < 1'000'000u; ++i)
      asm volatile("" ::: "memory");
    obey_shutdown_requests(a, false);
  }
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
    {"frame-access", attack_frame_access},
    {"garbage-fds", attack_garbage_fds},
    {"flood", attack_flood},
    {"evtchn-bind-unoffered", attack_evtchn_bind_unoffered},
    {"evtchn-bind-invalid", attack_evtchn_bind_invalid},
    {"evtchn-send-foreign", attack_evtchn_send_foreign},
    {"evtchn-flood", attack_evtchn_flood},
    {"evtchn-stale-doorbell", attack_evtchn_stale_doorbell},
    {"grant-map-unoffered", attack_grant_map_unoffered},
    {"grant-map-forged", attack_grant_map_forged},
    {"grant-map-rw-readonly", attack_grant_map_rw_readonly},
    {"grant-ro-write", attack_grant_ro_write},
    {"grant-foreign-frame", attack_grant_foreign_frame},
    {"grant-end-unowned", attack_grant_end_unowned},
    {"grant-unmap-unowned", attack_grant_unmap_unowned},
    {"grant-flood", attack_grant_flood},
    {"ignore-suspend", attack_ignore_suspend},
    {"spin", attack_spin},
};

using guest::kv::equals;

}  // namespace

int guest_main(int argc, char** argv) {
  g_args.add(argc > 1 && argv[1] != nullptr ? argv[1] : "");
  const char* attack = g_args.first_word();
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
