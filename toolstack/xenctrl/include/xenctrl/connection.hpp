// shype's libxenctrl: Domain-0's synchronous client of the hypervisor's
// privileged socket, SHYPE_ROOT/run/shype/privcmd.sock (docs/hypercall-abi.md).
//
// One Connection is one SOCK_SEQPACKET conversation: each call sends one
// request with a fresh sequence number and waits (bounded by the
// connection's timeout) for the response with that number; descriptors go
// and come as SCM_RIGHTS. Every failure is an xc::Error naming the errno,
// the operation and the hypervisor's reason.
//
// Thread safety: none; use one Connection per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <sys/types.h>

#include "hv/unique_fd.hpp"
#include "hv/wire.hpp"
#include "shype/abi.hpp"
#include "shype/domctl.hpp"
#include "shype/sched.hpp"
#include "shype/xsm_op.hpp"
#include "xenctrl/error.hpp"

namespace shype::xc {

inline constexpr std::chrono::milliseconds kDefaultTimeout{30'000};

struct Version {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  abi::domid_t domid = 0;  // the caller's domain (0: Domain-0)
  std::string extra;       // build identification
};

struct Physinfo {
  std::uint32_t nr_cpus = 0;
  std::uint64_t total_memory_kib = 0;
  std::uint64_t free_memory_kib = 0;
};

struct DomainSpec {
  std::string name;
  // The kernel: a path (opened read-only here) or an open descriptor (borrowed).
  std::variant<std::filesystem::path, int> kernel;
  std::uint32_t memory_mib = 16;
  std::uint32_t ssidref = 0;
  std::string cmdline;
  bool start_paused = false;
};

struct DomainInfo {
  abi::domid_t domid = 0;
  std::string name;
  std::uint32_t flags = 0;  // abi::kDomInfo*
  std::uint32_t ssidref = 0;
  abi::ShutdownReason shutdown_reason = abi::ShutdownReason::poweroff;
  std::uint32_t vcpus = 0;
  pid_t host_pid = 0;
  std::uint64_t memory_kib = 0;
  std::uint64_t cpu_time_ns = 0;

  [[nodiscard]] bool running() const noexcept { return (flags & abi::kDomInfoRunning) != 0; }
  [[nodiscard]] bool blocked() const noexcept { return (flags & abi::kDomInfoBlocked) != 0; }
  [[nodiscard]] bool paused() const noexcept { return (flags & abi::kDomInfoPaused) != 0; }
  [[nodiscard]] bool shutdown() const noexcept { return (flags & abi::kDomInfoShutdown) != 0; }
  [[nodiscard]] bool crashed() const noexcept { return (flags & abi::kDomInfoCrashed) != 0; }
  [[nodiscard]] bool dying() const noexcept { return (flags & abi::kDomInfoDying) != 0; }
  // xm list's state column: "rbpscd" with '-' for each flag not set.
  [[nodiscard]] std::string state_string() const;

  [[nodiscard]] static DomainInfo from_abi(const abi::DomainInfo& info);
};

struct ConsoleChunk {
  std::string bytes;
  std::uint64_t next_offset = 0;  // pass it to the next console_read
  std::uint64_t lost = 0;         // bytes overwritten before they were read
};

// The hypervisor's answer to an accepted setpolicy / chgpolicy / relabel.
struct PolicyOutcome {
  std::vector<abi::AcmErrorTuple> errors;
  std::string message;
};

struct AuditChunk {
  std::vector<std::string> records;  // JSON lines (xsm/audit.hpp)
  std::uint64_t next_seq = 0;        // pass it to the next audit_read
};

class Connection {
 public:
  // Connects to SHYPE_ROOT/run/shype/privcmd.sock. Errors: "connect" with
  // ENOENT/ECONNREFUSED (no hypervisor), EACCES, ENAMETOOLONG...
  [[nodiscard]] static Result<Connection> open(const std::filesystem::path& shype_root,
                                               std::chrono::milliseconds timeout = kDefaultTimeout);
  // Connects to a socket path directly.
  [[nodiscard]] static Result<Connection> open_socket(
      const std::filesystem::path& socket_path,
      std::chrono::milliseconds timeout = kDefaultTimeout);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection() = default;

  void set_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

  // xen_version
  [[nodiscard]] Result<Version> version();
  // sysctl
  [[nodiscard]] Result<Physinfo> physinfo();
  // Every domain (Domain-0 first), fetched page by page.
  [[nodiscard]] Result<std::vector<DomainInfo>> list_domains();

  // domctl
  [[nodiscard]] Result<abi::domid_t> create_domain(const DomainSpec& spec);
  [[nodiscard]] Status destroy_domain(abi::domid_t domid);
  [[nodiscard]] Status pause_domain(abi::domid_t domid);
  [[nodiscard]] Status unpause_domain(abi::domid_t domid);
  [[nodiscard]] Status request_shutdown(abi::domid_t domid,
                                        abi::ShutdownReason reason = abi::ShutdownReason::poweroff);
  [[nodiscard]] Result<DomainInfo> domain_info(abi::domid_t domid);
  [[nodiscard]] Result<ConsoleChunk> console_read(abi::domid_t domid, std::uint64_t offset,
                                                  std::uint32_t max_bytes = kMaxConsoleRead);
  // Console input; longer text is sent in several messages.
  [[nodiscard]] Status console_write(abi::domid_t domid, std::string_view bytes);

  // xsm_op
  [[nodiscard]] Result<PolicyOutcome> set_policy(std::span<const std::uint8_t> binary);
  [[nodiscard]] Result<PolicyOutcome> change_policy(
      std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
      std::span<const std::pair<std::uint32_t, std::uint32_t>> changed);
  [[nodiscard]] Result<PolicyOutcome> relabel(std::span<const abi::AcmRelabelEntry> entries);
  [[nodiscard]] Result<std::vector<std::uint8_t>> get_policy();
  // get_by: abi::kAcmGetBySsidref or abi::kAcmGetByDomid.
  [[nodiscard]] Result<abi::AcmGetSsid> get_ssid(std::uint32_t get_by, std::uint32_t id);
  // kAcmAccessPermitted or kAcmAccessDenied.
  [[nodiscard]] Result<std::int32_t> get_decision(std::uint32_t get_by1, std::uint32_t id1,
                                                  std::uint32_t get_by2, std::uint32_t id2,
                                                  abi::AcmHook hook);
  [[nodiscard]] Result<abi::AcmStats> dumpstats();
  [[nodiscard]] Result<AuditChunk> audit_read(std::uint64_t from_seq = 1);

  // event_channel_op for Domain-0 (src/event_channels.cpp). Domain-0's
  // ports belong to this connection and close with it.
  // -- event channels: begin --
  //
  // Doorbells are non-blocking eventfds: ring one by writing a 64-bit 1
  // (notify_doorbell), wait on one with poll and clear it by reading
  // (wait_doorbell). A doorbell belongs to one binding; after the port
  // closes nothing rings it again.
  struct EventChannelBinding {
    abi::evtchn_port_t port = 0;
    hv::UniqueFd own;   // rung by the peer: wait on it
    hv::UniqueFd peer;  // ring it to notify the peer
  };
  struct VirqBinding {
    abi::evtchn_port_t port = 0;
    hv::UniqueFd doorbell;  // rung when the virq is raised
  };
  // A bound_notice or closed_notice, decoded (fds only for bound_notice).
  struct EventChannelNotice {
    abi::EvtchnOp kind = abi::EvtchnOp::bound_notice;
    abi::evtchn_port_t local_port = 0;
    abi::domid_t remote_dom = 0;         // bound_notice
    abi::evtchn_port_t remote_port = 0;  // bound_notice
    hv::UniqueFd own;
    hv::UniqueFd peer;
  };

  // EVTCHNOP_alloc_unbound: a port of `dom` (Domain-0 itself by default)
  // that `remote` may bind. When it does, this connection gets a
  // bound_notice with the doorbells.
  [[nodiscard]] Result<abi::evtchn_port_t> evtchn_alloc_unbound(abi::domid_t remote,
                                                                abi::domid_t dom = abi::kDomidSelf);
  // EVTCHNOP_bind_interdomain to an unbound port `remote` allocated for Domain-0.
  [[nodiscard]] Result<EventChannelBinding> evtchn_bind_interdomain(abi::domid_t remote,
                                                                    abi::evtchn_port_t remote_port);
  [[nodiscard]] Result<VirqBinding> evtchn_bind_virq(abi::Virq virq);
  [[nodiscard]] Status evtchn_close(abi::evtchn_port_t port);
  // EVTCHNOP_send: the hypervisor rings the peer's doorbell.
  [[nodiscard]] Status evtchn_send(abi::evtchn_port_t port);
  [[nodiscard]] Result<abi::EvtchnStatus> evtchn_status(abi::evtchn_port_t port,
                                                        abi::domid_t dom = abi::kDomidSelf);

  // The oldest notification the hypervisor sent on this connection (those
  // that arrived while a call waited for its response are queued), waiting
  // up to `wait` for one; nullopt if none came.
  [[nodiscard]] Result<std::optional<hv::wire::Message>> next_notification(
      std::chrono::milliseconds wait = std::chrono::milliseconds{0});
  // Decodes an event_channel_op notice (nullopt for any other or a
  // malformed one); takes its descriptors.
  [[nodiscard]] static std::optional<EventChannelNotice> event_channel_notice(
      hv::wire::Message& message);
  // Rings a doorbell. Waits up to `timeout` for one to be rung and clears
  // it; false on timeout.
  [[nodiscard]] static Status notify_doorbell(int doorbell);
  [[nodiscard]] static bool wait_doorbell(int doorbell, std::chrono::milliseconds timeout);
  // -- event channels: end --

  // grant_table_op for Domain-0 (src/grants.cpp).
  // -- grants: begin --
  // A mapping of a guest's grant: the frame as a one-page memfd (opened
  // read-only for a read-only map: mmap with PROT_WRITE and write(2) fail on
  // it) and the handle to unmap it with. It belongs to this connection and
  // is released with it; the descriptor stays usable after an unmap or the
  // granter's end, but the granter no longer counts it.
  struct MappedGrant {
    hv::UniqueFd fd;
    std::uint32_t handle = 0;
    abi::domid_t granter = 0;
    abi::grant_ref_t ref = 0;
    bool readonly = false;
  };
  // GNTTABOP_map_grant_ref. Errors carry Xen's status as a positive code:
  // -abi::kGntstBadDomain, -kGntstBadGntref, -kGntstPermissionDenied (a
  // writable map of a read-only grant); EACCES refused by the policy, ENOSPC
  // abi::kMaxMapsPerDomain mappings held by Domain-0.
  [[nodiscard]] Result<MappedGrant> map_grant(abi::domid_t granter, abi::grant_ref_t ref,
                                              bool readonly);
  // GNTTABOP_unmap_grant_ref; on success the descriptor is closed.
  // -abi::kGntstBadHandle for a handle this connection does not hold.
  [[nodiscard]] Status unmap_grant(MappedGrant& mapping);
  // GNTTABOP_copy between two grants to Domain-0 (Domain-0 has no frames:
  // a DOMID_SELF side is EPERM).
  [[nodiscard]] Status copy_grant(const abi::GntCopy& request);
  // GNTTABOP_query_size of Domain-0's own table (it cannot grant: 0 grants).
  [[nodiscard]] Result<abi::GntQuerySize> query_grants();
  // -- grants: end --

  // One raw request and its response (status not interpreted), for tools
  // and tests. `fds` are borrowed and must match the body's descriptor count.
  [[nodiscard]] Result<hv::wire::Message> call(std::string_view op, const hv::wire::Body& body,
                                               std::span<const int> fds = {});

  static constexpr std::uint32_t kMaxConsoleRead =
      static_cast<std::uint32_t>(abi::kMaxPayload - sizeof(abi::DomctlConsoleData));

 private:
  Connection(hv::UniqueFd fd, std::chrono::milliseconds timeout)
      : fd_(std::move(fd)), timeout_(timeout) {}

  // call(), then a negative status becomes an Error with the hypervisor's text.
  [[nodiscard]] Result<hv::wire::Message> call_ok(std::string_view op, const hv::wire::Body& body,
                                                  std::span<const int> fds = {});
  [[nodiscard]] Result<PolicyOutcome> policy_call(std::string_view op, const hv::wire::Body& body,
                                                  std::span<const int> fds);

  hv::UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::uint32_t seq_ = 0;
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(abi::kMaxMessageSize);
  // Notifications received by call() or next_notification(), oldest first
  // (event channels: src/event_channels.cpp).
  std::deque<hv::wire::Message> notifications_;

  // One datagram from the hypervisor, decoded: nullopt if none was waiting;
  // an error (the connection is then closed) if it broke the framing or the
  // connection ended.
  [[nodiscard]] Result<std::optional<hv::wire::Message>> receive_message(const std::string& name);
  // Queues `message` for next_notification() if it is a notification.
  bool keep_if_notification(hv::wire::Message& message);
};

}  // namespace shype::xc
