// The one hypercall codec (STYLE.md rules 3 and 5; docs/hypercall-abi.md).
//
// Everything that crosses the hypervisor's trust boundary passes through
// here, and nothing else parses hypercall bytes:
//  - receive_datagram: one SOCK_SEQPACKET datagram and its SCM_RIGHTS
//    descriptors (MSG_CMSG_CLOEXEC; truncated data or control -> violation,
//    every descriptor received is owned by the result and closed unless an
//    op consumes it);
//  - decode_request: the header (magic, major version, kind, lengths, fd
//    count), then the op and sub-command: exact payload sizes (or a bounded
//    variable size), ranges, NUL-terminated names, privilege. The result is
//    a typed Body; nothing has been looked up or acted on yet (NOVA's
//    decode -> look up -> act);
//  - encode_request / encode_response / encode_notification and
//    decode_response: the other direction, shared with the Domain-0 client
//    library (toolstack/xenctrl) so both ends frame messages one way.
//
// A datagram that cannot be framed (bad magic, a kind other than request,
// lengths that disagree with the datagram, more descriptors than declared or
// allowed, truncation) is a protocol violation: the caller destroys the
// guest, or closes the Domain-0 connection. A framed request with bad
// arguments is answered with a negative errno and the reason is logged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "hv/errno.hpp"
#include "hv/unique_fd.hpp"
#include "shype/abi.hpp"
#include "shype/console.hpp"
#include "shype/domctl.hpp"
#include "shype/event_channel.hpp"
#include "shype/grant_table.hpp"
#include "shype/save_image.hpp"
#include "shype/sched.hpp"
#include "shype/shared_info.hpp"
#include "shype/xsm_op.hpp"

namespace shype::hv::wire {

// Who sent a message: domctl, sysctl and xsm_op are for Domain-0 only.
enum class Caller : std::uint8_t { guest, domain0 };

// Largest policy a memfd may carry (setpolicy, chgpolicy): Xen's dense
// format at the policy core's limits stays below this.
inline constexpr std::uint32_t kMaxPolicyBytes = 256u * 1024u * 1024u;
// Largest save image restore_domain takes: the largest memory, kernel and
// toolstack record, plus a MiB for the header, the domain record, the
// cmdline and padding (shype/save_image.hpp).
inline constexpr std::uint64_t kMaxSaveImageBytes =
    std::uint64_t{abi::kMaxMemoryMib} * 1024 * 1024 + abi::kSaveMaxKernelBytes +
    abi::kMaxToolstackRecordBytes + 1024ull * 1024;
// Largest error text a Domain-0 error response carries (see encode_response).
inline constexpr std::size_t kMaxErrorText = 512;

// ---------------------------------------------------------------------------
// Request bodies: one type per (op, sub-command). Fixed ABI structs are kept
// as received (OUT fields included) so that a decoded request re-encodes to
// the same bytes; variable parts are copied out.

template <abi::Op O, std::uint32_t S, std::uint32_t Fds = 0>
struct OpTraits {
  static constexpr abi::Op kOp = O;
  static constexpr std::uint32_t kSubop = S;
  static constexpr std::uint32_t kFdCount = Fds;
};

template <typename Enum>
constexpr std::uint32_t sub(Enum e) {
  return static_cast<std::uint32_t>(e);
}

struct XenVersion : OpTraits<abi::Op::xen_version, 0> {};

// console_io
struct ConsoleWrite : OpTraits<abi::Op::console_io, sub(abi::ConsoleIoOp::write)> {
  std::string bytes;  // 1 .. kMaxPayload
};
struct ConsoleRead : OpTraits<abi::Op::console_io, sub(abi::ConsoleIoOp::read)> {};

// sched_op
struct SchedYield : OpTraits<abi::Op::sched_op, sub(abi::SchedOp::yield)> {};
struct SchedBlock : OpTraits<abi::Op::sched_op, sub(abi::SchedOp::block)> {};
struct SchedShutdown : OpTraits<abi::Op::sched_op, sub(abi::SchedOp::shutdown)> {
  abi::SchedShutdown args{};
  [[nodiscard]] abi::ShutdownReason reason() const {
    return static_cast<abi::ShutdownReason>(args.reason);
  }
};

// domctl (Domain-0 only)
struct CreateDomain : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::createdomain), 1> {
  abi::DomctlCreateDomain args{};  // fd 0: the kernel
  [[nodiscard]] std::string_view name() const { return {args.name, ::strnlen(args.name, sizeof args.name)}; }
  [[nodiscard]] std::string_view cmdline() const {
    return {args.cmdline, ::strnlen(args.cmdline, sizeof args.cmdline)};
  }
};
template <abi::DomctlOp S>
struct OnDomain : OpTraits<abi::Op::domctl, sub(S)> {
  abi::DomctlDomain args{};
};
using DestroyDomain = OnDomain<abi::DomctlOp::destroydomain>;
using PauseDomain = OnDomain<abi::DomctlOp::pausedomain>;
using UnpauseDomain = OnDomain<abi::DomctlOp::unpausedomain>;
using GetDomainInfo = OnDomain<abi::DomctlOp::getdomaininfo>;
struct RequestShutdown : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::request_shutdown)> {
  abi::DomctlShutdown args{};
};
struct DomainConsoleRead : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::console_read)> {
  abi::DomctlConsoleRead args{};
};
struct DomainConsoleWrite : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::console_write)> {
  abi::DomctlDomain args{};
  std::string bytes;  // 1 .. kMaxPayload - sizeof(DomctlDomain)
};
struct SchedulerOp : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::scheduler_op)> {
  abi::DomctlSchedulerOp args{};  // sched_id kSchedulerCredit, cmd putinfo / getinfo
};
struct SetVcpuAffinity : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::setvcpuaffinity)> {
  // vcpu 0, nr_cpus 1..kMaxCpus, at least one bit set and none at or past nr_cpus
  abi::DomctlVcpuAffinity args{};
};
struct GetVcpuAffinity : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::getvcpuaffinity)> {
  abi::DomctlVcpuAffinity args{};  // vcpu 0; the rest is OUT
};
struct SaveDomain : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::save_domain), 1> {
  abi::DomctlSaveDomain args{};  // fd 0: the toolstack record (sealed memfd of record_size bytes)
};
struct RestoreDomain : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::restore_domain), 1> {
  abi::DomctlRestoreDomain args{};  // fd 0: the image (sealed memfd of image_size bytes)
};
struct SetStartInfo : OpTraits<abi::Op::domctl, sub(abi::DomctlOp::set_start_info)> {
  abi::DomctlStartInfo args{};  // flags 0 (ports 0) or kStartDevices (two different ports)
};

// sysctl (Domain-0 only)
struct Physinfo : OpTraits<abi::Op::sysctl, sub(abi::SysctlOp::physinfo)> {};
struct DomainList : OpTraits<abi::Op::sysctl, sub(abi::SysctlOp::getdomaininfolist)> {
  abi::SysctlDomainList args{};  // max_domains 1 .. kMaxDomainInfoPerMessage
};

// xsm_op (Domain-0 only); interface_version checked (-EACCES).
struct AcmSetPolicy : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::setpolicy), 1> {
  abi::AcmSetPolicy args{};  // fd 0: the policy (sealed memfd of args.size bytes)
};
struct AcmGetPolicy : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::getpolicy)> {
  abi::AcmGetPolicy args{};
};
struct AcmDumpStats : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::dumpstats)> {
  abi::AcmStats args{};
};
struct AcmGetSsid : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::getssid)> {
  abi::AcmGetSsid args{};
};
struct AcmGetDecision : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::getdecision)> {
  abi::AcmGetDecision args{};
};
struct AcmChangePolicy : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::chgpolicy), 1> {
  abi::AcmChangePolicy args{};  // fd 0: the policy
  std::vector<std::uint32_t> deleted;                              // args.del_count
  std::vector<std::pair<std::uint32_t, std::uint32_t>> changed;  // args.chg_count
};
struct AcmRelabel : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::relabeldoms)> {
  abi::AcmRelabel args{};
  std::vector<abi::AcmRelabelEntry> entries;  // args.count
};
struct AcmAuditRead : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::audit_read)> {
  abi::AcmAuditRead args{};
};
// The two xsm_ops guests may call: a backend asking about its frontend
// (resource_access) and a driver domain's bridge asking about two of its
// clients (frame_access).
struct AcmResourceAccess : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::resource_access)> {
  abi::AcmResourceAccess args{};
};
struct AcmFrameAccess : OpTraits<abi::Op::xsm_op, sub(abi::AcmOp::frame_access)> {
  abi::AcmFrameAccess args{};
};

// event_channel_op: decoded and range-checked; the handlers come with the
// next stage.
struct EvtchnAllocUnbound : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::alloc_unbound)> {
  abi::EvtchnAllocUnbound args{};
};
struct EvtchnBindInterdomain
    : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::bind_interdomain)> {
  abi::EvtchnBindInterdomain args{};
};
struct EvtchnBindVirq : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::bind_virq)> {
  abi::EvtchnBindVirq args{};
};
struct EvtchnClose : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::close)> {
  abi::EvtchnClose args{};
};
struct EvtchnSend : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::send)> {
  abi::EvtchnSend args{};
};
struct EvtchnStatus : OpTraits<abi::Op::event_channel_op, sub(abi::EvtchnOp::status)> {
  abi::EvtchnStatus args{};
};

// grant_table_op: likewise.
struct GntMapRef : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::map_grant_ref)> {
  abi::GntMap args{};
};
struct GntUnmapRef : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::unmap_grant_ref)> {
  abi::GntUnmap args{};
};
struct GntCopy : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::copy)> {
  abi::GntCopy args{};
};
struct GntQuerySize : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::query_size)> {
  abi::GntQuerySize args{};
};
struct GntGrantAccess : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::grant_access)> {
  abi::GntGrantAccess args{};
};
struct GntEndAccess : OpTraits<abi::Op::grant_table_op, sub(abi::GnttabOp::end_access)> {
  abi::GntEndAccess args{};
};

using Body = std::variant<XenVersion, ConsoleWrite, ConsoleRead, SchedYield, SchedBlock,
                          SchedShutdown, CreateDomain, DestroyDomain, PauseDomain, UnpauseDomain,
                          GetDomainInfo, RequestShutdown, DomainConsoleRead, DomainConsoleWrite,
                          SchedulerOp, SetVcpuAffinity, GetVcpuAffinity, SaveDomain, RestoreDomain,
                          SetStartInfo,
                          Physinfo, DomainList, AcmSetPolicy, AcmGetPolicy, AcmDumpStats,
                          AcmGetSsid, AcmGetDecision, AcmChangePolicy, AcmRelabel, AcmAuditRead,
                          AcmResourceAccess, AcmFrameAccess,
                          EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindVirq, EvtchnClose,
                          EvtchnSend, EvtchnStatus, GntMapRef, GntUnmapRef, GntCopy, GntQuerySize,
                          GntGrantAccess, GntEndAccess>;

struct Request {
  abi::MessageHeader header{};
  Body body;
  std::vector<UniqueFd> fds;  // exactly the body's kFdCount, in the op's order
};

// Why a datagram was not accepted.
struct Rejection {
  Errno status = Errno::inval;  // never Errno::ok
  // The datagram could not be framed: no response is possible; the peer is
  // misbehaving (guest: destroyed as crashed; Domain-0: connection closed).
  bool protocol_violation = false;
  // Set when the header was framed: answer it with `status`.
  std::optional<abi::MessageHeader> header;
  std::string reason;  // names the field that was bad, for the log
};

using Decoded = tl::expected<Request, Rejection>;

// Decodes one received datagram. `fds` are the descriptors that came with
// it; on rejection they are closed, on success they move into the Request.
[[nodiscard]] Decoded decode_request(std::span<const std::uint8_t> datagram,
                                     std::vector<UniqueFd> fds, Caller caller);

// Header framing shared by both directions: magic, major version, kind
// (one of `allowed_kinds`, a bit mask of 1 << MessageKind), payload length
// against the datagram and kMaxPayload, fd_count against what came and
// kMaxFds. Returns the header, or the reason it cannot be framed.
[[nodiscard]] tl::expected<abi::MessageHeader, std::string> frame_header(
    std::span<const std::uint8_t> datagram, std::size_t fds_received, unsigned allowed_kinds);

// The op and sub-command a body encodes as.
[[nodiscard]] std::pair<abi::Op, std::uint32_t> op_of(const Body& body);
[[nodiscard]] std::uint32_t fd_count_of(const Body& body);
// "domctl/createdomain", "xen_version", ... (for logs and client errors).
[[nodiscard]] std::string op_name(abi::Op op, std::uint32_t subop);
[[nodiscard]] std::string op_name(const Body& body);

// The request datagram for a body (fd_count = the body's kFdCount).
[[nodiscard]] std::vector<std::uint8_t> encode_request(std::uint32_t seq, const Body& body);

// A response to `request` (same op, sub-command and seq). A Domain-0 error
// response may carry a readable message as its payload (NUL-terminated, at
// most kMaxErrorText bytes): see docs/hypercall-abi.md "Errors".
[[nodiscard]] std::vector<std::uint8_t> encode_response(const abi::MessageHeader& request,
                                                        Errno status,
                                                        std::span<const std::uint8_t> payload,
                                                        std::uint32_t fd_count = 0);
// An unsolicited message to a guest (seq 0).
[[nodiscard]] std::vector<std::uint8_t> encode_notification(abi::Op op, std::uint32_t subop,
                                                            std::span<const std::uint8_t> payload,
                                                            std::uint32_t fd_count = 0);

// A response or notification as the receiving end sees it (framing only:
// the caller checks the payload size of the op it asked for).
struct Message {
  abi::MessageHeader header{};
  std::vector<std::uint8_t> payload;
  std::vector<UniqueFd> fds;
};
[[nodiscard]] tl::expected<Message, std::string> decode_reply(
    std::span<const std::uint8_t> datagram, std::vector<UniqueFd> fds);

// ---------------------------------------------------------------------------
// Byte views of ABI structs.

template <typename T>
[[nodiscard]] std::span<const std::uint8_t> bytes_of(const T& value) noexcept {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>);
  // SAFETY: T is a trivially copyable standard-layout ABI struct; its object
  // representation is sizeof(T) bytes that may be read through unsigned char.
  return {reinterpret_cast<const std::uint8_t*>(&value), sizeof(T)};
}

// A payload that must be exactly one T.
template <typename T>
[[nodiscard]] std::optional<T> load_exact(std::span<const std::uint8_t> bytes) noexcept {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>);
  if (bytes.size() != sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}
// A T at `offset` (the caller checked offset + sizeof(T) <= size).
template <typename T>
[[nodiscard]] T load_at(std::span<const std::uint8_t> bytes, std::size_t offset) noexcept {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>);
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}
inline void append_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// ---------------------------------------------------------------------------
// Socket I/O (SOCK_SEQPACKET, AF_UNIX).

enum class RecvStatus {
  message,      // `size` bytes in the buffer, `fds` attached
  would_block,  // nothing queued (non-blocking)
  closed,       // the peer closed its end (no datagram)
  violation,    // truncated data or control: `reason` says which
  error,        // recvmsg failed: `error` is the errno
};
struct Received {
  RecvStatus status = RecvStatus::error;
  std::size_t size = 0;
  std::vector<UniqueFd> fds;
  int error = 0;
  std::string reason;
};
// `buffer` should hold kMaxMessageSize bytes: anything larger is truncated
// and reported as a violation. `dontwait`: MSG_DONTWAIT.
[[nodiscard]] Received receive_datagram(int socket_fd, std::span<std::uint8_t> buffer,
                                        bool dontwait);

enum class SendStatus { sent, would_block, peer_gone, error };
// One datagram with its descriptors (SCM_RIGHTS; the caller keeps its
// copies). Never raises SIGPIPE. `error` (optional) receives the errno.
[[nodiscard]] SendStatus send_datagram(int socket_fd, std::span<const std::uint8_t> bytes,
                                       std::span<const int> fds, bool dontwait,
                                       int* error = nullptr);

}  // namespace shype::hv::wire
