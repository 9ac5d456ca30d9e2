// shype-hv's core: one single-threaded epoll loop that owns every domain,
// every Domain-0 connection and the XSM layer (ARCHITECTURE 2, 3).
//
// Sources the loop watches:
//  - the privileged socket SHYPE_ROOT/run/shype/privcmd.sock (SO_PEERCRED:
//    only root or the hypervisor's own uid become Domain-0 connections);
//  - each Domain-0 connection and each guest's hypercall channel;
//  - each guest's pidfd (its exit), and a signalfd for SIGTERM, SIGINT
//    (stop) and SIGCHLD (reaping anything else).
//
// Rules the loop keeps:
//  - decode first, then look up, then act (wire.hpp decodes; handlers look
//    up domains and call XSM; nothing is changed before both succeeded);
//  - fairness: at most `max_messages_per_turn` messages of one peer per
//    turn, so a flooding guest cannot starve the others or Domain-0;
//  - back-pressure: a peer whose replies are not being read is not read
//    from until its queue drains;
//  - a guest that breaks the framing is destroyed as crashed; a Domain-0
//    connection that does is closed; nothing a peer sends can stop the loop
//    (no exception escapes a turn).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <signal.h>

#include "acm/error.hpp"
#include "hv/channel.hpp"
#include "hv/domain_table.hpp"
#include "hv/kernel_store.hpp"
#include "hv/log.hpp"
#include "hv/reply.hpp"
#include "hv/unique_fd.hpp"
#include "hv/wire.hpp"
#include "xsm/audit.hpp"
#include "xsm/xsm.hpp"

namespace shype::hv {

struct HypervisorConfig {
  std::filesystem::path root = "/";  // SHYPE_ROOT
  std::optional<std::string> cgroup_parent;
  // Where guests start (hv/cpu_placement.hpp): empty, any CPU; otherwise
  // the CPUs boot.conf's dom0_cpus leaves them.
  std::vector<std::uint32_t> guest_cpus;
  unsigned max_messages_per_turn = 16;
  // A guest that sent SCHEDOP_shutdown but is still running after this is killed.
  std::chrono::milliseconds shutdown_grace{2000};
  // How long destroydomain waits for the killed process before answering
  // (it is released later if it takes longer).
  std::chrono::milliseconds destroy_wait{1000};
  // Watch SIGTERM/SIGINT/SIGCHLD through a signalfd (the caller blocks them).
  bool handle_signals = true;
};

// Paths under SHYPE_ROOT.
[[nodiscard]] std::filesystem::path privcmd_socket_path(const std::filesystem::path& root);
[[nodiscard]] std::filesystem::path console_log_dir(const std::filesystem::path& root);

// The listening privileged socket: SOCK_SEQPACKET, mode 0600, non-blocking.
// A stale socket file is replaced (the caller holds the instance lock).
[[nodiscard]] acm::Result<UniqueFd> listen_privileged(const std::filesystem::path& socket_path);

class Hypervisor {
 public:
  // Registers Domain-0 with the XSM layer (domain_create with its label).
  // `audit` and `log` must outlive the Hypervisor.
  [[nodiscard]] static acm::Result<std::unique_ptr<Hypervisor>> create(
      HypervisorConfig config, UniqueFd listener, xsm::AuditLog& audit,
      std::unique_ptr<xsm::Xsm> xsm, Log& log);
  ~Hypervisor();
  Hypervisor(const Hypervisor&) = delete;
  Hypervisor& operator=(const Hypervisor&) = delete;

  // Runs until SIGTERM/SIGINT or request_stop(), then destroys every domain.
  void run();
  // One turn: waits at most timeout_ms for events, serves them.
  void run_once(int timeout_ms);
  void request_stop() noexcept { stop_requested_ = true; }
  [[nodiscard]] bool stop_requested() const noexcept { return stop_requested_; }
  // Destroys every guest (bounded wait for their exits), closes every
  // connection and removes the socket file. Idempotent.
  void shutdown();

  [[nodiscard]] const DomainTable& domains() const noexcept { return domains_; }
  [[nodiscard]] const xsm::Xsm& xsm() const noexcept { return *xsm_; }

 private:
  struct ControlConnection {
    std::uint64_t id = 0;
    Channel channel;
    std::uint32_t events = 0;
    pid_t peer_pid = 0;
    uid_t peer_uid = 0;
  };
  using Fds = std::vector<UniqueFd>;

  Hypervisor(HypervisorConfig config, UniqueFd listener, xsm::AuditLog& audit,
             std::unique_ptr<xsm::Xsm> xsm, Log& log);
  acm::Status init();

  // Event sources.
  void handle_event(std::uint64_t tag, std::uint32_t events);
  void set_interest(int fd, std::uint64_t tag, std::uint32_t& registered, std::uint32_t wanted);
  void accept_connections();
  void read_signals();
  void reap_children();
  void on_control_event(std::uint64_t id, std::uint32_t events);
  void serve_control(ControlConnection& connection);
  void close_connection(std::uint64_t id, const std::string& why);
  void update_interest(ControlConnection& connection);
  void on_channel_event(Domain& domain, std::uint32_t events);
  void serve_guest(Domain& domain, unsigned budget);
  void update_interest(Domain& domain);
  void on_process_exit(Domain& domain);
  void watch_process(Domain& domain);
  void run_deadlines();
  [[nodiscard]] int next_timeout(int timeout_ms) const;
  Domain* domain_for_tag(std::uint64_t key) const;

  // Domain life cycle.
  void crash_domain(Domain& domain, const std::string& why);
  void destroy_domain(Domain& domain);
  void finish_destroy(Domain& domain);
  bool reap(Domain& domain, siginfo_t* info);
  void channel_closed(Domain& domain);
  Errno notify(Domain& domain, abi::Op op, std::uint32_t subop,
               std::span<const std::uint8_t> payload);
  // notify() with descriptors (event_channel_op notices). For Domain-0 the
  // notification goes to connection `connection_id`; one that is gone or
  // overflowing loses it (not closed here: callers may be walking ports).
  // The descriptors are closed if the notification cannot be queued.
  Errno notify_with_fds(Domain& domain, std::uint64_t connection_id, abi::Op op,
                        std::uint32_t subop, std::span<const std::uint8_t> payload,
                        std::vector<UniqueFd> fds);
  void flush_console_input(Domain& domain);
  [[nodiscard]] xsm::DomainRef ref(const Domain& domain) const;
  [[nodiscard]] xsm::LiveState live_state() const;
  [[nodiscard]] std::string describe(const Domain& domain) const;
  [[nodiscard]] Domain& domain0() const;

  // Dispatch (decode -> look up -> act).
  Reply dispatch(Domain& caller, wire::Request& request);
  void respond(Domain& caller, ControlConnection* connection, const abi::MessageHeader& request,
               Reply reply);
  void log_rejection(Domain* guest, const wire::Rejection& rejection);

  // Look-ups shared by the domctl handlers.
  struct Target {
    Domain* domain = nullptr;
    Reply failure;
  };
  Target target(const Domain& caller, abi::domid_t domid, bool allow_domain0);

  // Handlers: every op, guest side (guest_ops.cpp).
  Reply handle(Domain& caller, wire::XenVersion& body, Fds& fds);
  Reply handle(Domain& caller, wire::ConsoleWrite& body, Fds& fds);
  Reply handle(Domain& caller, wire::ConsoleRead& body, Fds& fds);
  Reply handle(Domain& caller, wire::SchedYield& body, Fds& fds);
  Reply handle(Domain& caller, wire::SchedBlock& body, Fds& fds);
  Reply handle(Domain& caller, wire::SchedShutdown& body, Fds& fds);
  // domctl / sysctl (domctl_ops.cpp).
  Reply handle(Domain& caller, wire::CreateDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::DestroyDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::PauseDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::UnpauseDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::GetDomainInfo& body, Fds& fds);
  Reply handle(Domain& caller, wire::RequestShutdown& body, Fds& fds);
  Reply handle(Domain& caller, wire::DomainConsoleRead& body, Fds& fds);
  Reply handle(Domain& caller, wire::DomainConsoleWrite& body, Fds& fds);
  Reply handle(Domain& caller, wire::Physinfo& body, Fds& fds);
  Reply handle(Domain& caller, wire::DomainList& body, Fds& fds);
  // Builds and starts an admitted domain (createdomain, restore_domain) from
  // its kernel_image and cmdline; on failure releases the XSM admission and
  // returns the error (the caller drops the Domain).
  Reply start_domain(Domain& domain, const xsm::DomainRef& admitted, std::uint32_t memory_mib,
                     bool paused, std::span<const std::uint8_t> initial_memory);
  // Why XSM refused to admit a domain, with the rule from its audit record.
  [[nodiscard]] std::string refusal_text(const std::string& name, acm::Ssidref ssidref,
                                         std::uint64_t audited_before) const;
  // Scheduling (scheduling.cpp).
  Reply handle(Domain& caller, wire::SchedulerOp& body, Fds& fds);
  Reply handle(Domain& caller, wire::SetVcpuAffinity& body, Fds& fds);
  Reply handle(Domain& caller, wire::GetVcpuAffinity& body, Fds& fds);
  // Save and restore (save_restore.cpp).
  Reply handle(Domain& caller, wire::SaveDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::RestoreDomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::SetStartInfo& body, Fds& fds);
  // xsm_op (xsm_ops.cpp).
  Reply handle(Domain& caller, wire::AcmSetPolicy& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmGetPolicy& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmDumpStats& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmGetSsid& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmGetDecision& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmChangePolicy& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmRelabel& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmAuditRead& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmResourceAccess& body, Fds& fds);
  Reply handle(Domain& caller, wire::AcmFrameAccess& body, Fds& fds);
  Reply policy_reply(const char* op, xsm::PolicyChange change);
  // event_channel_op (event_channels.cpp).
  Reply handle(Domain& caller, wire::EvtchnAllocUnbound& body, Fds& fds);
  Reply handle(Domain& caller, wire::EvtchnBindInterdomain& body, Fds& fds);
  Reply handle(Domain& caller, wire::EvtchnBindVirq& body, Fds& fds);
  Reply handle(Domain& caller, wire::EvtchnClose& body, Fds& fds);
  Reply handle(Domain& caller, wire::EvtchnSend& body, Fds& fds);
  Reply handle(Domain& caller, wire::EvtchnStatus& body, Fds& fds);
  // Raises a virtual IRQ at `domain` if it bound one (no-op otherwise).
  void send_virq(Domain& domain, abi::Virq virq);
  // Closes every port of `domain` (peers get closed_notice). Called when its
  // process is gone and again when it is destroyed; idempotent.
  void release_event_channels(Domain& domain);
  // Closes the Domain-0 ports a closing connection owned.
  void release_connection_ports(std::uint64_t connection_id);
  // Every bound interdomain channel, for the chgpolicy / relabel re-check.
  void append_event_channel_sharings(xsm::LiveState& live) const;
  // Closes one port as EVTCHNOP_close does (the peer's port reverts to
  // unbound and gets closed_notice).
  void close_port(Domain& domain, abi::evtchn_port_t port);

  // Descriptors kept for sharings (grant frames, event-channel doorbells)
  // come out of one budget, half of RLIMIT_NOFILE, so that domain
  // creation, connections and every existing binding keep working however
  // many a guest asks for; and one domain may hold at most an equal share
  // of it (at least kMinSharingShare), so a flooding guest cannot take the
  // budget from the others. Errno::nospc when `count` more would exceed
  // either, else ok.
  [[nodiscard]] Errno check_sharing_budget(const Domain& domain, std::size_t count) const;
  static constexpr std::size_t kMinSharingShare = 64;

  // grant_table_op (grant_table.cpp).
  Reply handle(Domain& caller, wire::GntMapRef& body, Fds& fds);
  Reply handle(Domain& caller, wire::GntUnmapRef& body, Fds& fds);
  Reply handle(Domain& caller, wire::GntCopy& body, Fds& fds);
  Reply handle(Domain& caller, wire::GntQuerySize& body, Fds& fds);
  Reply handle(Domain& caller, wire::GntGrantAccess& body, Fds& fds);
  Reply handle(Domain& caller, wire::GntEndAccess& body, Fds& fds);
  // Drops every mapping `domain` holds of other domains' grants and, once
  // it is destroyed (`destroyed`), every grant it gave. Idempotent.
  void release_grants(Domain& domain, bool destroyed);
  // Every grant mapped by another domain, for the re-check.
  void append_grant_sharings(xsm::LiveState& live) const;
  // Drops the Domain-0 mappings a closing connection owned.
  void release_connection_grants(std::uint64_t connection_id);

  HypervisorConfig config_;
  UniqueFd listener_;
  xsm::AuditLog& audit_;
  std::unique_ptr<xsm::Xsm> xsm_;
  Log& log_;

  UniqueFd epoll_;
  UniqueFd signals_;
  UniqueFd reserve_fd_;  // given up to accept (and drop) a connection at EMFILE
  DomainTable domains_;
  KernelStore kernels_;  // the domains' kernel images, for save
  std::map<std::uint64_t, std::unique_ptr<ControlConnection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  std::vector<std::uint8_t> buffer_;
  bool stop_requested_ = false;
  bool shut_down_ = false;
  std::size_t pending_deadlines_ = 0;
  // The Domain-0 connection whose request is being served (null for guest
  // requests): Domain-0's event-channel ports belong to a connection.
  ControlConnection* current_connection_ = nullptr;
  std::size_t sharing_budget_ = 0;  // set by init() from RLIMIT_NOFILE
};

}  // namespace shype::hv
