// Raw Linux x86-64 system calls for freestanding guest kernels (no libc).
// The kernel ABI types below are declared here because no libc headers are
// available; their layouts are checked against the x86-64 ABI.
//
// Only the calls in hypervisor/sandbox's seccomp allow-list succeed inside
// the sandbox; any other call kills the guest (guest_rogue relies on that).
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(__x86_64__)
#error "the shype guest runtime is for x86-64"
#endif

namespace shype::guest::sys {

// System call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
namespace nr {
inline constexpr long read = 0;
inline constexpr long write = 1;
inline constexpr long open = 2;
inline constexpr long close = 3;
inline constexpr long mmap = 9;
inline constexpr long mprotect = 10;
inline constexpr long munmap = 11;
inline constexpr long socket = 41;
inline constexpr long sendmsg = 46;
inline constexpr long recvmsg = 47;
inline constexpr long clone = 56;
inline constexpr long fork = 57;
inline constexpr long execve = 59;
inline constexpr long kill = 62;
inline constexpr long ptrace = 101;
inline constexpr long setrlimit = 160;
inline constexpr long clock_gettime = 228;
inline constexpr long exit_group = 231;
inline constexpr long ppoll = 271;
inline constexpr long prlimit64 = 302;
inline constexpr long execveat = 322;
}  // namespace nr

// errno values the runtime and the sample kernels use.
inline constexpr int kEPERM = 1;
inline constexpr int kENOENT = 2;
inline constexpr int kEINTR = 4;
inline constexpr int kEIO = 5;
inline constexpr int kE2BIG = 7;
inline constexpr int kEBADF = 9;
inline constexpr int kEAGAIN = 11;
inline constexpr int kENOMEM = 12;
inline constexpr int kEBUSY = 16;
inline constexpr int kEEXIST = 17;
inline constexpr int kENODEV = 19;
inline constexpr int kEINVAL = 22;
inline constexpr int kENOSPC = 28;
inline constexpr int kEROFS = 30;
inline constexpr int kEPIPE = 32;
inline constexpr int kENOSYS = 38;
inline constexpr int kEPROTO = 71;
inline constexpr int kEMSGSIZE = 90;
inline constexpr int kENOBUFS = 105;
inline constexpr int kENOTCONN = 107;
inline constexpr int kETIMEDOUT = 110;

inline constexpr std::uint64_t kProtRead = 1;
inline constexpr std::uint64_t kProtWrite = 2;
inline constexpr std::uint64_t kProtExec = 4;
inline constexpr std::uint64_t kMapShared = 0x01;
inline constexpr std::uint64_t kMapPrivate = 0x02;
inline constexpr std::uint64_t kMapFixed = 0x10;
inline constexpr std::uint64_t kMapAnonymous = 0x20;
inline constexpr std::uint64_t kMapFixedNoReplace = 0x100000;

inline constexpr int kClockMonotonic = 1;
inline constexpr short kPollIn = 0x001;
inline constexpr short kPollErr = 0x008;
inline constexpr short kPollHup = 0x010;
inline constexpr short kPollNval = 0x020;

inline constexpr int kMsgCtrunc = 0x08;
inline constexpr int kMsgTrunc = 0x20;
inline constexpr int kMsgDontwait = 0x40;
inline constexpr int kMsgNosignal = 0x4000;
inline constexpr int kSolSocket = 1;
inline constexpr int kScmRights = 1;
inline constexpr int kAtEmptyPath = 0x1000;

struct Timespec {
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};
static_assert(sizeof(Timespec) == 16);

struct Iovec {
  const void* base;
  std::size_t length;
};
static_assert(sizeof(Iovec) == 16);

struct Msghdr {
  void* name;
  std::uint32_t name_length;
  std::uint32_t pad0;
  Iovec* iov;
  std::size_t iov_count;
  void* control;
  std::size_t control_length;
  std::int32_t flags;
  std::uint32_t pad1;
};
static_assert(sizeof(Msghdr) == 56);

struct Cmsghdr {
  std::size_t length;  // header + data, unpadded
  std::int32_t level;
  std::int32_t type;
};
static_assert(sizeof(Cmsghdr) == 16);

struct Pollfd {
  std::int32_t fd;
  std::int16_t events;
  std::int16_t revents;
};
static_assert(sizeof(Pollfd) == 8);

// SAFETY: the x86-64 system call convention: number in rax, arguments in
// rdi, rsi, rdx, r10, r8, r9; the kernel clobbers rcx and r11; "memory"
// because the kernel may read or write any memory the arguments point to.
inline long syscall6(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
  long result;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}
inline long syscall3(long number, long a1, long a2, long a3) {
  return syscall6(number, a1, a2, a3, 0, 0, 0);
}

// Pointers travel in registers as integers.
template <typename T>
inline long arg(T* pointer) {
  // SAFETY: converts a pointer to the integer the kernel expects; no
  // memory is accessed here.
  return reinterpret_cast<long>(pointer);
}

inline long read(int fd, void* buffer, std::size_t length) {
  return syscall3(nr::read, fd, arg(buffer), static_cast<long>(length));
}
inline long write(int fd, const void* buffer, std::size_t length) {
  return syscall3(nr::write, fd, arg(buffer), static_cast<long>(length));
}
inline long close(int fd) {
  return syscall3(nr::close, fd, 0, 0);
}
inline long mmap(std::uint64_t address, std::size_t length, std::uint64_t prot, std::uint64_t flags,
                 int fd, std::uint64_t offset) {
  return syscall6(nr::mmap, static_cast<long>(address), static_cast<long>(length),
                  static_cast<long>(prot), static_cast<long>(flags), fd, static_cast<long>(offset));
}
inline long munmap(void* address, std::size_t length) {
  return syscall3(nr::munmap, arg(address), static_cast<long>(length), 0);
}
inline long sendmsg(int fd, const Msghdr* message, int flags) {
  return syscall3(nr::sendmsg, fd, arg(message), flags);
}
inline long recvmsg(int fd, Msghdr* message, int flags) {
  return syscall3(nr::recvmsg, fd, arg(message), flags);
}
inline long ppoll(Pollfd* fds, std::size_t count, const Timespec* timeout) {
  return syscall6(nr::ppoll, arg(fds), static_cast<long>(count), arg(timeout), 0, 8, 0);
}
// The system call (unlike glibc's wrapper) writes the time left back into
// *timeout, so a loop of waits needs no clock reads.
inline long ppoll_updating(Pollfd* fds, std::size_t count, Timespec* timeout) {
  return syscall6(nr::ppoll, arg(fds), static_cast<long>(count), arg(timeout), 0, 8, 0);
}
inline long clock_gettime(int clock, Timespec* out) {
  return syscall3(nr::clock_gettime, clock, arg(out), 0);
}
[[noreturn]] inline void exit_group(int status) {
  syscall3(nr::exit_group, status, 0, 0);
  __builtin_unreachable();
}

}  // namespace shype::guest::sys
