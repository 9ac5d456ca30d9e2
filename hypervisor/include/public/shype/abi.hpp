// The shype hypercall ABI, version 1 (docs/hypercall-abi.md).
//
// A guest talks to the hypervisor over one channel, a SOCK_SEQPACKET socket
// it inherits as file descriptor kChannelFd; Domain-0 talks to it over the
// privileged socket SHYPE_ROOT/run/shype/privcmd.sock. Both carry the same
// messages: a MessageHeader, then `payload_length` bytes of the payload
// struct of that op, in one datagram. File descriptors (guest memory, grant
// frames, event-channel doorbells, policies) travel beside a message as
// SCM_RIGHTS ancillary data; `fd_count` says how many, and each op documents
// their order. Both ends are on one machine, so integers are in host byte
// order.
//
// Ops keep Xen's hypercall numbers and sub-command numbers where Xen had the
// operation; errors are negative errno values as in Xen; an unknown op or
// sub-command is -ENOSYS.
//
// This header is shared by the hypervisor, the toolstack and freestanding
// guest kernels: it uses only <cstdint> and <cstddef>.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::abi {

using domid_t = std::uint16_t;
using evtchn_port_t = std::uint32_t;
using grant_ref_t = std::uint32_t;

// "SHYV" in memory on a little-endian host.
inline constexpr std::uint32_t kMagic = 0x56594853u;
inline constexpr std::uint16_t kVersionMajor = 1;
// 1.1: DomainInfo's start and up time, shared_info's resume_count, the
// scheduler_op, vcpu affinity, save_domain and restore_domain domctls.
inline constexpr std::uint16_t kVersionMinor = 2;

inline constexpr std::size_t kPageSize = 4096;
// Largest payload of one message; bulk data (policies, memory) travels as
// file descriptors instead.
inline constexpr std::size_t kMaxPayload = 2 * kPageSize;
// Most descriptors one message may carry.
inline constexpr std::uint32_t kMaxFds = 4;

inline constexpr domid_t kDomain0 = 0;
inline constexpr domid_t kDomidSelf = 0x7ff0;  // DOMID_SELF, as in Xen
inline constexpr domid_t kDomidFirstGuest = 1;
inline constexpr domid_t kDomidMaxGuest = 0x7fef;

enum class MessageKind : std::uint16_t {
  request = 1,       // caller -> hypervisor
  response = 2,      // hypervisor -> caller, same seq as the request
  notification = 3,  // hypervisor -> guest, unsolicited (seq 0)
};

struct MessageHeader {
  std::uint32_t magic;           // kMagic
  std::uint16_t version_major;   // kVersionMajor; another major is refused
  std::uint16_t kind;            // MessageKind
  std::uint32_t op;              // Op
  std::uint32_t subop;           // the op's sub-command, 0 if it has none
  std::uint32_t seq;             // chosen by the caller, echoed in the response
  std::int32_t status;           // responses: 0 or -errno; otherwise 0
  std::uint32_t payload_length;  // bytes after the header, <= kMaxPayload
  std::uint32_t fd_count;        // descriptors attached, <= kMaxFds
};
static_assert(sizeof(MessageHeader) == 32);
inline constexpr std::size_t kMaxMessageSize = sizeof(MessageHeader) + kMaxPayload;

// Hypercall numbers (Xen's public/xen.h where Xen had them).
enum class Op : std::uint32_t {
  xen_version = 17,       // version handshake
  console_io = 18,        // console.hpp
  grant_table_op = 20,    // grant_table.hpp
  xsm_op = 27,            // xsm_op.hpp (Domain-0 only)
  sched_op = 29,          // sched.hpp
  event_channel_op = 32,  // event_channel.hpp
  sysctl = 35,            // domctl.hpp (Domain-0 only)
  domctl = 36,            // domctl.hpp (Domain-0 only)
};

// xen_version (sub-command 0): the hypervisor's ABI version.
struct VersionInfo {
  std::uint16_t major;
  std::uint16_t minor;
  std::uint32_t domid;  // the caller's own domain id
  char extra[32];       // build identification, NUL-terminated
};
static_assert(sizeof(VersionInfo) == 40);

// File descriptors a guest kernel finds open when it starts (and no others).
inline constexpr int kChannelFd = 3;     // hypercall channel (SOCK_SEQPACKET)
inline constexpr int kMemoryFd = 4;      // guest pseudo-physical memory (memfd)
inline constexpr int kSharedInfoFd = 5;  // shared_info page (memfd, one page)
inline constexpr int kUpcallFd = 6;      // eventfd the hypervisor signals

// Where the guest runtime maps them. Frame n of the guest is the page at
// kGuestMemoryBase + n * kPageSize and offset n * kPageSize of kMemoryFd.
inline constexpr std::uint64_t kGuestMemoryBase = 0x0000'0100'0000'0000ull;  // 1 TiB
inline constexpr std::uint64_t kSharedInfoAddress = kGuestMemoryBase - 0x10'0000;
inline constexpr std::uint64_t kGrantMapBase = 0x0000'0200'0000'0000ull;  // 2 TiB

}  // namespace shype::abi
