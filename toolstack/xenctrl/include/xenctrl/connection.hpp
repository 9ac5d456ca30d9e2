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
//
// What xm's commands use (the toolstack builds on these; each is documented
// where it is declared):
//   xm list / uptime        list_domains, domain_info (DomainInfo::start_time_ns, uptime_ns)
//   xm save / restore       save_domain, write_save_file, read_save_file,
//                           inspect_save_image, restore_domain
//   xm sched-credit         sched_credit_get, sched_credit_set
//   xm vcpu-pin / vcpu-list set_vcpu_affinity, vcpu_affinity, parse_cpu_list, format_cpu_list
#pragma once

#include <array>
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
  // When it was created or restored (Domain-0: when the hypervisor started),
  // CLOCK_REALTIME ns since the Unix epoch, and how long ago that was
  // (monotonic) when the hypervisor answered: xm uptime prints uptime_ns.
  std::uint64_t start_time_ns = 0;
  std::uint64_t uptime_ns = 0;

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

// --- Save and restore (xm save / xm restore) ---------------------------------
//
// A saved domain is one self-contained image (format: shype/save_image.hpp):
// its memory, its kernel, cmdline, name, memory size, VCPUs, its label (name
// and ssidref) with the policy it ran under (name and SHA-256 fingerprint),
// and an opaque toolstack record (xend's domain config), with a SHA-256
// over all of it. In memory it is a sealed memfd (SavedImage); on disk a
// plain file (write_save_file / read_save_file keep it sparse).
//
// xm save:    save_domain(domid, record) -> write_save_file(image, path)
// xm restore: read_save_file(path) -> inspect_save_image(image) -> look the
//             label up by name in the active policy (ssidref) ->
//             restore_domain(image, ssidref)

inline constexpr std::chrono::milliseconds kDefaultSuspendTimeout{10'000};

struct SavedImage {
  hv::UniqueFd fd;  // a sealed memfd (read it with pread or mmap)
  std::uint64_t size = 0;
};

// What an image holds (inspect_save_image).
struct SaveImageInfo {
  std::uint16_t version_major = 0;  // of the image format
  std::uint16_t version_minor = 0;
  std::string name;
  std::uint32_t memory_mib = 0;
  std::uint32_t vcpus = 0;
  std::uint32_t ssidref = 0;  // under the policy it ran under (policy_name)
  std::string label;          // its VM label ("" if that policy had no label names)
  std::string policy_name;    // "NULL" when saved under the dummy module
  std::array<std::uint8_t, 32> policy_fingerprint{};  // SHA-256 of that binary policy
  std::string cmdline;
  std::uint32_t resume_count = 0;  // restores before this save
  std::uint64_t saved_at_ns = 0;   // CLOCK_REALTIME of the save
  std::uint64_t cpu_time_ns = 0;   // CPU time used until the save
  std::uint64_t kernel_bytes = 0;
  std::uint64_t image_bytes = 0;
  std::vector<std::uint8_t> toolstack_record;  // as given to save_domain
};

// Checks an image completely (layout, checksum, every field) without any
// hypervisor: `image_fd` is a sealed memfd or any readable file (copied
// into a sealed memfd first, so the bytes checked cannot change). EINVAL
// with the reason ("checksum mismatch: ...", "bad magic", ...) if it is
// not a valid image; EFBIG if it is larger than any image can be.
[[nodiscard]] Result<SaveImageInfo> inspect_save_image(int image_fd);
// Writes an image to `path` atomically (a temporary file in the same
// directory, fsync, rename), mode 0600, sparse where the image has holes.
[[nodiscard]] Status write_save_file(int image_fd, const std::filesystem::path& path);
// Reads a save file into a sealed memfd (not checked: inspect_save_image
// and restore_domain do that).
[[nodiscard]] Result<SavedImage> read_save_file(const std::filesystem::path& path);

// --- Scheduling (xm sched-credit, xm vcpu-pin, xm vcpu-list) ------------------

// The credit scheduler's parameters of a domain (manual 4.2.2): weight
// 1..65535 (default 256: twice the weight, twice the CPU on a contended
// host), cap in percent of one CPU (0 = no cap, 50 = half a CPU, 400 = four).
struct SchedCredit {
  std::uint16_t weight = abi::kCreditDefaultWeight;
  std::uint16_t cap = 0;
  friend bool operator==(const SchedCredit&, const SchedCredit&) = default;
};

// The affinity of one VCPU.
struct VcpuAffinity {
  std::vector<std::uint32_t> cpus;  // CPUs it may run on, ascending
  std::uint32_t nr_cpus = 0;        // CPUs of the host
  std::int32_t cpu = -1;            // the CPU it last ran on (-1: it has no process)
  // Every CPU of the host (xm vcpu-list prints "any cpu").
  [[nodiscard]] bool any() const noexcept;
};

// A CPU list as xm vcpu-pin takes it: "all", or comma-separated CPUs and
// ranges, "^n" removing one ("0-3,^2,6"). CPUs must be < nr_cpus (the
// host's, physinfo().nr_cpus). Returns the CPUs ascending; EINVAL names the
// bad item.
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_cpu_list(std::string_view text,
                                                                std::uint32_t nr_cpus);
// The other way round, with ranges: {0,1,2,3,5} -> "0-3,5".
[[nodiscard]] std::string format_cpu_list(std::span<const std::uint32_t> cpus);

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
  // domctl set_start_info (shype/io/xenbus.hpp): tells a paused guest,
  // before it first runs, which of its ports are its console and xenstore
  // channels to Domain-0 (both 0: no devices). EBUSY the domain is not
  // paused; EINVAL a port that is not a channel to Domain-0.
  [[nodiscard]] Status set_start_info(abi::domid_t domid, abi::evtchn_port_t console_port,
                                      abi::evtchn_port_t store_port);
  [[nodiscard]] Status request_shutdown(abi::domid_t domid,
                                        abi::ShutdownReason reason = abi::ShutdownReason::poweroff);
  [[nodiscard]] Result<DomainInfo> domain_info(abi::domid_t domid);
  [[nodiscard]] Result<ConsoleChunk> console_read(abi::domid_t domid, std::uint64_t offset,
                                                  std::uint32_t max_bytes = kMaxConsoleRead);
  // Console input; longer text is sent in several messages.
  [[nodiscard]] Status console_write(abi::domid_t domid, std::string_view bytes);

  // -- save / restore (src/save_restore.cpp) --
  //
  // xm save: asks the guest to suspend (request_shutdown, reason suspend;
  // skipped if it already has), waits up to `suspend_timeout` for it to shut
  // down with reason suspend and its process to end, then has the
  // hypervisor make the image (domctl save_domain, which also runs XSM
  // domain_save: its Chinese Wall types stop counting) and destroy the
  // domain. `toolstack_record` (at most abi::kMaxToolstackRecordBytes) comes
  // back from inspect_save_image. Errors: ETIMEDOUT the guest did not
  // suspend in time (it keeps running; if it suspends later it stays shut
  // down with reason suspend until saved or destroyed); EINVAL the domain
  // is paused (a paused guest cannot suspend itself), shut down otherwise,
  // crashed or Domain-0; EIO it crashed while suspending; ESRCH.
  [[nodiscard]] Result<SavedImage> save_domain(
      abi::domid_t domid, std::span<const std::uint8_t> toolstack_record,
      std::chrono::milliseconds suspend_timeout = kDefaultSuspendTimeout);
  // xm restore: the hypervisor checks the image completely, checks
  // `ssidref` (the image's label looked up in the active policy: xend's
  // job) against the policy (XSM domain_restore: a VM label, admitted by
  // the Chinese Wall) and starts the domain resuming, with a new id and
  // the image's name. `image_fd`: a sealed memfd or any readable file
  // (copied into a sealed memfd first). Errors: EINVAL a damaged image
  // (the reason names what), an unknown label; EPERM Domain-0's label does
  // not authorize the label; EACCES refused by the Chinese Wall, or
  // `ssidref` names another label than the image records; EEXIST a domain
  // of that name runs; ENOSPC, ENOMEM, EIO.
  [[nodiscard]] Result<abi::domid_t> restore_domain(int image_fd, std::uint32_t ssidref,
                                                    bool paused = false);

  // -- scheduling (src/scheduling.cpp) --
  //
  // xm sched-credit -d <dom>: the weight and cap in force (Domain-0: 256, 0).
  [[nodiscard]] Result<SchedCredit> sched_credit_get(abi::domid_t domid);
  // xm sched-credit -d <dom> [-w weight] [-c cap]: sets what is given
  // (nullopt keeps it) and returns what is now in force. Enforced by the
  // domain's cpu cgroup: EOPNOTSUPP if it has none (the hypervisor's
  // boot.conf has no `cgroup =`, or the host no cpu controller) and
  // anything but the defaults is asked. EINVAL weight 0, cap 65535, a
  // domain that is not running, Domain-0.
  [[nodiscard]] Result<SchedCredit> sched_credit_set(abi::domid_t domid,
                                                     std::optional<std::uint16_t> weight,
                                                     std::optional<std::uint16_t> cap);
  // xm vcpu-list: where VCPU `vcpu` (0) may run and last ran.
  [[nodiscard]] Result<VcpuAffinity> vcpu_affinity(abi::domid_t domid, std::uint32_t vcpu = 0);
  // xm vcpu-pin: pins VCPU `vcpu` (0) to `cpus` (each < abi::kMaxCpus, at
  // least one). EINVAL no CPU of them is online, a domain that is not
  // running, Domain-0.
  [[nodiscard]] Status set_vcpu_affinity(abi::domid_t domid, std::uint32_t vcpu,
                                         std::span<const std::uint32_t> cpus);

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
  // xsm_op resource_access: may `domid` use a resource labeled `ssidref`?
  // kAcmAccessPermitted or kAcmAccessDenied (a denial is audited by the
  // hypervisor). What a backend asks before it connects a disk.
  [[nodiscard]] Result<std::int32_t> resource_access(abi::domid_t domid, std::uint32_t ssidref);
  // xsm_op frame_access: may a network frame pass from `from` to `to`?
  // kAcmAccessPermitted or kAcmAccessDenied (a denial is audited by the
  // hypervisor, hook frame_access). What a driver domain's bridge asks per
  // frame; Domain-0 may ask about any pair.
  [[nodiscard]] Result<std::int32_t> frame_access(abi::domid_t from, abi::domid_t to);
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
