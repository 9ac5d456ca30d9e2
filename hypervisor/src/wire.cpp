#include "hv/wire.hpp"

#include "shype/io/xenbus.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace shype::hv::wire {

// Wire structs prove their layout (STYLE.md rule 15): every struct the codec
// copies in or out is standard layout, trivially copyable and of the size
// docs/hypercall-abi.md gives.
template <typename T, std::size_t Size>
constexpr bool kAbiStruct =
    std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T> && sizeof(T) == Size;
static_assert(kAbiStruct<abi::MessageHeader, 32>);
static_assert(kAbiStruct<abi::VersionInfo, 40>);
static_assert(kAbiStruct<abi::SchedShutdown, 4>);
static_assert(kAbiStruct<abi::DomctlCreateDomain, 1112>);
static_assert(kAbiStruct<abi::DomctlDomain, 4>);
static_assert(kAbiStruct<abi::DomctlShutdown, 8>);
static_assert(kAbiStruct<abi::DomainInfo, 120>);
static_assert(offsetof(abi::DomainInfo, name) == 40 &&
              offsetof(abi::DomainInfo, start_time_ns) == 104);
static_assert(kAbiStruct<abi::DomctlSchedulerOp, 16>);
static_assert(kAbiStruct<abi::DomctlVcpuAffinity, 144>);
static_assert(kAbiStruct<abi::DomctlSaveDomain, 16>);
static_assert(kAbiStruct<abi::DomctlRestoreDomain, 24>);
static_assert(offsetof(abi::DomctlVcpuAffinity, cpumap) == 16);
static_assert(offsetof(abi::DomctlRestoreDomain, domid) == 16);
static_assert(kAbiStruct<abi::DomctlConsoleRead, 16>);
static_assert(kAbiStruct<abi::DomctlConsoleData, 16>);
static_assert(kAbiStruct<abi::SysctlPhysinfo, 24>);
static_assert(kAbiStruct<abi::SysctlDomainList, 16>);
static_assert(kAbiStruct<abi::AcmErrorTuple, 8>);
static_assert(kAbiStruct<abi::AcmPolicyResult, 680>);
static_assert(kAbiStruct<abi::AcmSetPolicy, 8>);
static_assert(kAbiStruct<abi::AcmGetPolicy, 8>);
static_assert(kAbiStruct<abi::AcmStats, 72>);
static_assert(kAbiStruct<abi::AcmGetSsid, 320>);
static_assert(kAbiStruct<abi::AcmGetDecision, 32>);
static_assert(kAbiStruct<abi::AcmChangePolicy, 16>);
static_assert(kAbiStruct<abi::AcmRelabelEntry, 8>);
static_assert(kAbiStruct<abi::AcmRelabel, 8>);
static_assert(kAbiStruct<abi::AcmAuditRead, 24>);
static_assert(kAbiStruct<abi::AcmResourceAccess, 16>);
static_assert(kAbiStruct<abi::AcmFrameAccess, 16>);
static_assert(kAbiStruct<abi::EvtchnAllocUnbound, 8>);
static_assert(kAbiStruct<abi::EvtchnBindInterdomain, 12>);
static_assert(kAbiStruct<abi::EvtchnBindVirq, 12>);
static_assert(kAbiStruct<abi::EvtchnClose, 4>);
static_assert(kAbiStruct<abi::EvtchnSend, 4>);
static_assert(kAbiStruct<abi::EvtchnStatus, 24>);
static_assert(kAbiStruct<abi::GntMap, 16>);
static_assert(kAbiStruct<abi::GntUnmap, 4>);
static_assert(kAbiStruct<abi::GntCopy, 40>);
static_assert(kAbiStruct<abi::GntQuerySize, 8>);
static_assert(kAbiStruct<abi::GntGrantAccess, 16>);
static_assert(kAbiStruct<abi::GntEndAccess, 4>);
static_assert(offsetof(abi::MessageHeader, payload_length) == 24);
static_assert(offsetof(abi::DomctlCreateDomain, domid) == 1104);

namespace {

constexpr unsigned kind_bit(abi::MessageKind kind) {
  return 1u << static_cast<unsigned>(kind);
}

// A problem with a framed request: answered with `status`.
struct Bad {
  Errno status = Errno::inval;
  std::string reason;
};
using Check = std::optional<Bad>;

Check invalid(std::string reason) {
  return Bad{Errno::inval, std::move(reason)};
}

// A domain id an op may name: a guest's, Domain-0's or DOMID_SELF.
bool valid_domid(abi::domid_t domid) {
  return domid <= abi::kDomidMaxGuest || domid == abi::kDomidSelf;
}
Check check_domid(const char* field, abi::domid_t domid) {
  if (valid_domid(domid)) return std::nullopt;
  return invalid(std::string(field) + " " + std::to_string(domid) + " is not a domain id");
}
Check check_pad(const char* field, std::uint32_t value) {
  if (value == 0) return std::nullopt;
  return invalid(std::string(field) + " must be 0");
}
Check check_reason(std::uint32_t reason) {
  if (reason <= static_cast<std::uint32_t>(abi::ShutdownReason::crash)) return std::nullopt;
  return invalid("shutdown reason " + std::to_string(reason) + " is unknown");
}

// Domain names become file names (console logs), host names and cgroup
// directories: the sandbox's rule (sandbox::is_valid_domain_name), 1..63
// bytes of [A-Za-z0-9_.-], not starting with '.' or '-'.
Check check_domain_name(const char (&name)[abi::kDomainNameSize]) {
  const std::size_t length = ::strnlen(name, sizeof name);
  if (length == sizeof name) return invalid("name is not NUL-terminated within 64 bytes");
  if (length == 0) return invalid("name is empty");
  if (name[0] == '.' || name[0] == '-') return invalid("name starts with '.' or '-'");
  for (std::size_t i = 0; i < length; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) {
      return invalid("name has a character outside [A-Za-z0-9_.-] at offset " + std::to_string(i));
    }
  }
  return std::nullopt;
}

// Runs the per-op checks on one framed request.
class RequestDecoder {
 public:
  RequestDecoder(const abi::MessageHeader& header, std::span<const std::uint8_t> payload,
                 std::vector<UniqueFd>& fds, Caller caller)
      : header_(header), payload_(payload), fds_(fds), caller_(caller) {}

  Decoded run() {
    const auto op = static_cast<abi::Op>(header_.op);
    switch (op) {
      case abi::Op::xen_version:
        if (header_.subop != 0) return reject(Errno::nosys, "unknown sub-command");
        return empty<XenVersion>();
      case abi::Op::console_io:
        return console_io();
      case abi::Op::sched_op:
        return sched_op();
      case abi::Op::domctl:
        if (caller_ != Caller::domain0) return reject(Errno::perm, "for Domain-0 only");
        return domctl();
      case abi::Op::sysctl:
        if (caller_ != Caller::domain0) return reject(Errno::perm, "for Domain-0 only");
        return sysctl();
      case abi::Op::xsm_op:
        // A guest may ask the two driver-domain questions, nothing else.
        if (caller_ != Caller::domain0 &&
            header_.subop != static_cast<std::uint32_t>(abi::AcmOp::resource_access) &&
            header_.subop != static_cast<std::uint32_t>(abi::AcmOp::frame_access)) {
          return reject(Errno::perm, "for Domain-0 only");
        }
        return xsm_op();
      case abi::Op::event_channel_op:
        return event_channel_op();
      case abi::Op::grant_table_op:
        return grant_table_op();
    }
    return reject(Errno::nosys, "unknown op");
  }

 private:
  Decoded reject(Errno status, std::string reason) const {
    return tl::unexpected(Rejection{status, false, header_,
                                    op_name(static_cast<abi::Op>(header_.op), header_.subop) +
                                        ": " + std::move(reason)});
  }
  Decoded reject(Bad bad) const { return reject(bad.status, std::move(bad.reason)); }

  // The body is well-formed: check its descriptors and hand it out.
  template <typename B>
  Decoded accept(B body) {
    if (fds_.size() != B::kFdCount) {
      return reject(Errno::badf, "expects " + std::to_string(B::kFdCount) + " descriptor(s), got " +
                                     std::to_string(fds_.size()));
    }
    Request request;
    request.header = header_;
    request.body = std::move(body);
    request.fds = std::move(fds_);
    return request;
  }

  Decoded wrong_size(std::size_t expected) const {
    return reject(Errno::inval, "payload is " + std::to_string(payload_.size()) +
                                    " bytes, expected " + std::to_string(expected));
  }

  template <typename B>
  Decoded empty() {
    if (!payload_.empty()) return wrong_size(0);
    return accept(B{});
  }

  // A body that is one fixed ABI struct, then `check` over it.
  template <typename B, typename CheckFn>
  Decoded fixed(CheckFn&& check) {
    B body;
    auto args = load_exact<decltype(body.args)>(payload_);
    if (!args) return wrong_size(sizeof(body.args));
    body.args = *args;
    if (Check bad = check(body.args)) return reject(std::move(*bad));
    return accept(std::move(body));
  }
  template <typename B>
  Decoded fixed() {
    return fixed<B>([](const auto&) -> Check { return std::nullopt; });
  }

  Decoded console_io() {
    switch (static_cast<abi::ConsoleIoOp>(header_.subop)) {
      case abi::ConsoleIoOp::write: {
        if (payload_.empty()) return reject(Errno::inval, "nothing to write");
        ConsoleWrite body;
        body.bytes.assign(payload_.begin(), payload_.end());
        return accept(std::move(body));
      }
      case abi::ConsoleIoOp::read:
        return empty<ConsoleRead>();
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  Decoded sched_op() {
    switch (static_cast<abi::SchedOp>(header_.subop)) {
      case abi::SchedOp::yield:
        return empty<SchedYield>();
      case abi::SchedOp::block:
        return empty<SchedBlock>();
      case abi::SchedOp::shutdown:
        return fixed<SchedShutdown>([](const abi::SchedShutdown& a) { return check_reason(a.reason); });
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  Decoded domctl() {
    const auto on_domain = [](const abi::DomctlDomain& a) -> Check {
      if (Check bad = check_domid("domid", a.domid)) return bad;
      return check_pad("pad", a.pad);
    };
    switch (static_cast<abi::DomctlOp>(header_.subop)) {
      case abi::DomctlOp::createdomain:
        return fixed<CreateDomain>([](const abi::DomctlCreateDomain& a) -> Check {
          if (a.memory_mib < 1 || a.memory_mib > abi::kMaxMemoryMib) {
            return invalid("memory_mib " + std::to_string(a.memory_mib) + " outside 1.." +
                           std::to_string(abi::kMaxMemoryMib));
          }
          if (a.vcpus != 1) return invalid("vcpus " + std::to_string(a.vcpus) + " (must be 1)");
          if ((a.flags & ~abi::kCreateStartPaused) != 0) {
            return invalid("flags has unknown bits");
          }
          if (Check bad = check_domain_name(a.name)) return bad;
          if (::strnlen(a.cmdline, sizeof a.cmdline) == sizeof a.cmdline) {
            return invalid("cmdline is not NUL-terminated within 1024 bytes");
          }
          return std::nullopt;
        });
      case abi::DomctlOp::destroydomain:
        return fixed<DestroyDomain>(on_domain);
      case abi::DomctlOp::pausedomain:
        return fixed<PauseDomain>(on_domain);
      case abi::DomctlOp::unpausedomain:
        return fixed<UnpauseDomain>(on_domain);
      case abi::DomctlOp::getdomaininfo:
        return fixed<GetDomainInfo>(on_domain);
      case abi::DomctlOp::request_shutdown:
        return fixed<RequestShutdown>([](const abi::DomctlShutdown& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return check_reason(a.reason);
        });
      case abi::DomctlOp::console_read:
        return fixed<DomainConsoleRead>([](const abi::DomctlConsoleRead& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          constexpr auto kMax = abi::kMaxPayload - sizeof(abi::DomctlConsoleData);
          if (a.max_bytes < 1 || a.max_bytes > kMax) {
            return invalid("max_bytes " + std::to_string(a.max_bytes) + " outside 1.." +
                           std::to_string(kMax));
          }
          return std::nullopt;
        });
      case abi::DomctlOp::console_write: {
        constexpr std::size_t kHead = sizeof(abi::DomctlDomain);
        if (payload_.size() <= kHead) {
          return reject(Errno::inval, "payload is " + std::to_string(payload_.size()) +
                                          " bytes, expected a DomctlDomain and 1 or more bytes");
        }
        DomainConsoleWrite body;
        body.args = load_at<abi::DomctlDomain>(payload_, 0);
        if (Check bad = on_domain(body.args)) return reject(std::move(*bad));
        body.bytes.assign(payload_.begin() + kHead, payload_.end());
        return accept(std::move(body));
      }
      case abi::DomctlOp::scheduler_op:
        return fixed<SchedulerOp>([](const abi::DomctlSchedulerOp& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.sched_id != abi::kSchedulerCredit) {
            return invalid("sched_id " + std::to_string(a.sched_id) +
                           " is not the credit scheduler (" +
                           std::to_string(abi::kSchedulerCredit) + ")");
          }
          if (a.cmd != abi::kSchedOpPutInfo && a.cmd != abi::kSchedOpGetInfo) {
            return invalid("cmd " + std::to_string(a.cmd) + " is unknown");
          }
          return std::nullopt;  // every weight and cap is meaningful (0 / 0xffff keep)
        });
      case abi::DomctlOp::setvcpuaffinity:
        return fixed<SetVcpuAffinity>([](const abi::DomctlVcpuAffinity& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.vcpu != 0) {
            return invalid("vcpu " + std::to_string(a.vcpu) + " (domains have VCPU 0 only)");
          }
          if (a.nr_cpus < 1 || a.nr_cpus > abi::kMaxCpus) {
            return invalid("nr_cpus " + std::to_string(a.nr_cpus) + " outside 1.." +
                           std::to_string(abi::kMaxCpus));
          }
          if (a.cpu != 0) return invalid("cpu must be 0");
          bool any = false;
          for (std::uint32_t word = 0; word < abi::kMaxCpus / 64; ++word) {
            std::uint64_t bits = a.cpumap[word];
            const std::uint32_t first = word * 64;
            if (first >= a.nr_cpus) {
              if (bits != 0) return invalid("cpumap has bits at or past nr_cpus");
              continue;
            }
            if (a.nr_cpus - first < 64 && (bits >> (a.nr_cpus - first)) != 0) {
              return invalid("cpumap has bits at or past nr_cpus");
            }
            any = any || bits != 0;
          }
          if (!any) return invalid("cpumap is empty");
          return std::nullopt;
        });
      case abi::DomctlOp::getvcpuaffinity:
        return fixed<GetVcpuAffinity>([](const abi::DomctlVcpuAffinity& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.vcpu != 0) {
            return invalid("vcpu " + std::to_string(a.vcpu) + " (domains have VCPU 0 only)");
          }
          return std::nullopt;
        });
      case abi::DomctlOp::save_domain:
        return fixed<SaveDomain>([](const abi::DomctlSaveDomain& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.record_size > abi::kMaxToolstackRecordBytes) {
            return invalid("record_size " + std::to_string(a.record_size) + " exceeds " +
                           std::to_string(abi::kMaxToolstackRecordBytes));
          }
          return std::nullopt;
        });
      case abi::DomctlOp::restore_domain:
        return fixed<RestoreDomain>([](const abi::DomctlRestoreDomain& a) -> Check {
          if ((a.flags & ~abi::kRestorePaused) != 0) return invalid("flags has unknown bits");
          if (a.image_size < 1 || a.image_size > kMaxSaveImageBytes) {
            return invalid("image_size " + std::to_string(a.image_size) + " outside 1.." +
                           std::to_string(kMaxSaveImageBytes));
          }
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return check_pad("pad2", a.pad2);
        });
      case abi::DomctlOp::set_start_info:
        return fixed<SetStartInfo>([](const abi::DomctlStartInfo& a) -> Check {
          if (Check bad = check_domid("domid", a.domid)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.flags == 0) {
            if (a.console_evtchn != 0 || a.store_evtchn != 0) {
              return invalid("ports given without kStartDevices");
            }
            return std::nullopt;
          }
          if (a.flags != abi::io::kStartDevices) return invalid("flags has unknown bits");
          for (const auto port : {a.console_evtchn, a.store_evtchn}) {
            if (port < 1 || port >= abi::kMaxEventChannels) {
              return invalid("port " + std::to_string(port) + " outside 1.." +
                             std::to_string(abi::kMaxEventChannels - 1));
            }
          }
          if (a.console_evtchn == a.store_evtchn) {
            return invalid("console and store share port " + std::to_string(a.store_evtchn));
          }
          return std::nullopt;
        });
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  Decoded sysctl() {
    switch (static_cast<abi::SysctlOp>(header_.subop)) {
      case abi::SysctlOp::physinfo:
        return empty<Physinfo>();
      case abi::SysctlOp::getdomaininfolist:
        return fixed<DomainList>([](const abi::SysctlDomainList& a) -> Check {
          if (Check bad = check_pad("pad", a.pad)) return bad;
          if (a.max_domains < 1 || a.max_domains > abi::kMaxDomainInfoPerMessage) {
            return invalid("max_domains " + std::to_string(a.max_domains) + " outside 1.." +
                           std::to_string(abi::kMaxDomainInfoPerMessage));
          }
          return std::nullopt;
        });
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  static Check check_policy_size(std::uint32_t size) {
    if (size >= 1 && size <= kMaxPolicyBytes) return std::nullopt;
    return invalid("policy size " + std::to_string(size) + " outside 1.." +
                   std::to_string(kMaxPolicyBytes));
  }
  static Check check_get_by(const char* field, std::uint32_t get_by, std::uint32_t id) {
    if (get_by == abi::kAcmGetBySsidref) return std::nullopt;
    if (get_by == abi::kAcmGetByDomid) {
      if (id <= abi::kDomidMaxGuest || id == abi::kDomidSelf) return std::nullopt;
      return invalid(std::string(field) + ": id " + std::to_string(id) + " is not a domain id");
    }
    return invalid(std::string(field) + " " + std::to_string(get_by) + " is unknown");
  }

  Decoded xsm_op() {
    // Every ACM payload starts with the interface version (Xen: -EACCES).
    if (payload_.size() < sizeof(std::uint32_t)) return reject(Errno::inval, "no interface_version");
    if (load_at<std::uint32_t>(payload_, 0) != abi::kAcmInterfaceVersion) {
      return reject(Errno::acces, "interface_version mismatch");
    }
    switch (static_cast<abi::AcmOp>(header_.subop)) {
      case abi::AcmOp::setpolicy:
        return fixed<AcmSetPolicy>([](const abi::AcmSetPolicy& a) { return check_policy_size(a.size); });
      case abi::AcmOp::getpolicy:
        return fixed<AcmGetPolicy>();
      case abi::AcmOp::dumpstats:
        return fixed<AcmDumpStats>();
      case abi::AcmOp::getssid:
        return fixed<AcmGetSsid>(
            [](const abi::AcmGetSsid& a) { return check_get_by("get_by", a.get_by, a.id); });
      case abi::AcmOp::getdecision:
        return fixed<AcmGetDecision>([](const abi::AcmGetDecision& a) -> Check {
          if (Check bad = check_get_by("get_by1", a.get_by1, a.id1)) return bad;
          if (Check bad = check_get_by("get_by2", a.get_by2, a.id2)) return bad;
          if (a.hook < static_cast<std::uint32_t>(abi::AcmHook::sharing) ||
              a.hook > static_cast<std::uint32_t>(abi::AcmHook::conflictset)) {
            return invalid("hook " + std::to_string(a.hook) + " is unknown");
          }
          return std::nullopt;
        });
      case abi::AcmOp::chgpolicy:
        return change_policy();
      case abi::AcmOp::relabeldoms:
        return relabel();
      case abi::AcmOp::audit_read:
        return fixed<AcmAuditRead>();
      case abi::AcmOp::resource_access:
        return fixed<AcmResourceAccess>([](const abi::AcmResourceAccess& a) -> Check {
          if (a.domid > abi::kDomidMaxGuest) {
            return invalid("domid " + std::to_string(a.domid) + " is not a domain");
          }
          if (a.decision != 0) return invalid("decision must be 0");
          return std::nullopt;
        });
      case abi::AcmOp::frame_access:
        return fixed<AcmFrameAccess>([](const abi::AcmFrameAccess& a) -> Check {
          if (a.from > abi::kDomidMaxGuest) {
            return invalid("from " + std::to_string(a.from) + " is not a domain");
          }
          if (a.to > abi::kDomidMaxGuest) {
            return invalid("to " + std::to_string(a.to) + " is not a domain");
          }
          if (a.decision != 0) return invalid("decision must be 0");
          return std::nullopt;
        });
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  Decoded change_policy() {
    constexpr std::size_t kHead = sizeof(abi::AcmChangePolicy);
    if (payload_.size() < kHead) return wrong_size(kHead);
    AcmChangePolicy body;
    body.args = load_at<abi::AcmChangePolicy>(payload_, 0);
    // 64-bit arithmetic: the counts are 32-bit, so no product overflows.
    const std::uint64_t expected = kHead + std::uint64_t{body.args.del_count} * 4 +
                                   std::uint64_t{body.args.chg_count} * 8;
    if (expected != payload_.size()) {
      return reject(Errno::inval, "payload is " + std::to_string(payload_.size()) +
                                      " bytes, but del_count " +
                                      std::to_string(body.args.del_count) + " and chg_count " +
                                      std::to_string(body.args.chg_count) + " need " +
                                      std::to_string(expected));
    }
    if (Check bad = check_policy_size(body.args.size)) return reject(std::move(*bad));
    std::size_t at = kHead;
    body.deleted.reserve(body.args.del_count);
    for (std::uint32_t i = 0; i < body.args.del_count; ++i, at += 4) {
      body.deleted.push_back(load_at<std::uint32_t>(payload_, at));
    }
    body.changed.reserve(body.args.chg_count);
    for (std::uint32_t i = 0; i < body.args.chg_count; ++i, at += 8) {
      body.changed.emplace_back(load_at<std::uint32_t>(payload_, at),
                                load_at<std::uint32_t>(payload_, at + 4));
    }
    return accept(std::move(body));
  }

  Decoded relabel() {
    constexpr std::size_t kHead = sizeof(abi::AcmRelabel);
    if (payload_.size() < kHead) return wrong_size(kHead);
    AcmRelabel body;
    body.args = load_at<abi::AcmRelabel>(payload_, 0);
    const std::uint64_t expected =
        kHead + std::uint64_t{body.args.count} * sizeof(abi::AcmRelabelEntry);
    if (expected != payload_.size()) {
      return reject(Errno::inval, "payload is " + std::to_string(payload_.size()) +
                                      " bytes, but count " + std::to_string(body.args.count) +
                                      " needs " + std::to_string(expected));
    }
    if (body.args.count == 0) return reject(Errno::inval, "count is 0");
    body.entries.reserve(body.args.count);
    for (std::size_t at = kHead; at < payload_.size(); at += sizeof(abi::AcmRelabelEntry)) {
      const auto entry = load_at<abi::AcmRelabelEntry>(payload_, at);
      if (entry.domid > abi::kDomidMaxGuest && entry.domid != abi::kDomidSelf) {
        return reject(Errno::inval, "entry domid " + std::to_string(entry.domid) +
                                        " is not a domain id");
      }
      body.entries.push_back(entry);
    }
    return accept(std::move(body));
  }

  Decoded event_channel_op() {
    const auto port = [](const char* field, abi::evtchn_port_t p) -> Check {
      if (p < abi::kMaxEventChannels) return std::nullopt;
      return invalid(std::string(field) + " " + std::to_string(p) + " out of range");
    };
    switch (static_cast<abi::EvtchnOp>(header_.subop)) {
      case abi::EvtchnOp::alloc_unbound:
        return fixed<EvtchnAllocUnbound>([](const abi::EvtchnAllocUnbound& a) -> Check {
          if (Check bad = check_domid("dom", a.dom)) return bad;
          return check_domid("remote_dom", a.remote_dom);
        });
      case abi::EvtchnOp::bind_interdomain:
        return fixed<EvtchnBindInterdomain>([&](const abi::EvtchnBindInterdomain& a) -> Check {
          if (Check bad = check_domid("remote_dom", a.remote_dom)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return port("remote_port", a.remote_port);
        });
      case abi::EvtchnOp::bind_virq:
        return fixed<EvtchnBindVirq>([](const abi::EvtchnBindVirq& a) -> Check {
          switch (static_cast<abi::Virq>(a.virq)) {
            case abi::Virq::timer:
            case abi::Virq::console:
            case abi::Virq::dom_exc:
            case abi::Virq::suspend:
              break;
            default:
              return invalid("virq " + std::to_string(a.virq) + " is unknown");
          }
          if (a.vcpu != 0) return invalid("vcpu " + std::to_string(a.vcpu) + " (must be 0)");
          return std::nullopt;
        });
      case abi::EvtchnOp::close:
        return fixed<EvtchnClose>([&](const abi::EvtchnClose& a) { return port("port", a.port); });
      case abi::EvtchnOp::send:
        return fixed<EvtchnSend>([&](const abi::EvtchnSend& a) { return port("port", a.port); });
      case abi::EvtchnOp::status:
        return fixed<EvtchnStatus>([&](const abi::EvtchnStatus& a) -> Check {
          if (Check bad = check_domid("dom", a.dom)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return port("port", a.port);
        });
      case abi::EvtchnOp::bound_notice:
      case abi::EvtchnOp::closed_notice:
        break;  // notifications, never requests
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  Decoded grant_table_op() {
    const auto flags = [](std::uint32_t f) -> Check {
      if ((f & ~abi::kGrantReadOnly) == 0) return std::nullopt;
      return invalid("flags has unknown bits");
    };
    const auto copy_side = [](const char* field, const abi::GntCopySide& s,
                              std::uint32_t length) -> Check {
      if (Check bad = check_domid(field, s.dom)) return bad;
      if (s.pad != 0 || s.pad2 != 0) return invalid(std::string(field) + " padding must be 0");
      if (std::uint64_t{s.offset} + length > abi::kPageSize) {
        return invalid(std::string(field) + " offset + length beyond the page");
      }
      return std::nullopt;
    };
    switch (static_cast<abi::GnttabOp>(header_.subop)) {
      case abi::GnttabOp::map_grant_ref:
        return fixed<GntMapRef>([&](const abi::GntMap& a) -> Check {
          if (Check bad = check_domid("granter", a.granter)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return flags(a.flags);
        });
      case abi::GnttabOp::unmap_grant_ref:
        return fixed<GntUnmapRef>();
      case abi::GnttabOp::copy:
        return fixed<GntCopy>([&](const abi::GntCopy& a) -> Check {
          if (a.length > abi::kPageSize) return invalid("length beyond a page");
          if (Check bad = copy_side("source", a.source, a.length)) return bad;
          if (Check bad = copy_side("dest", a.dest, a.length)) return bad;
          return check_pad("pad", a.pad);
        });
      case abi::GnttabOp::query_size:
        return fixed<GntQuerySize>();
      case abi::GnttabOp::grant_access:
        return fixed<GntGrantAccess>([&](const abi::GntGrantAccess& a) -> Check {
          if (Check bad = check_domid("grantee", a.grantee)) return bad;
          if (Check bad = check_pad("pad", a.pad)) return bad;
          return flags(a.flags);
        });
      case abi::GnttabOp::end_access:
        return fixed<GntEndAccess>([](const abi::GntEndAccess& a) -> Check {
          if (a.ref < abi::kMaxGrantsPerDomain) return std::nullopt;
          return invalid("ref " + std::to_string(a.ref) + " out of range");
        });
    }
    return reject(Errno::nosys, "unknown sub-command");
  }

  const abi::MessageHeader& header_;
  std::span<const std::uint8_t> payload_;
  std::vector<UniqueFd>& fds_;
  Caller caller_;
};

const char* subop_name(abi::Op op, std::uint32_t subop) {
  switch (op) {
    case abi::Op::xen_version:
      return subop == 0 ? "" : nullptr;
    case abi::Op::console_io:
      switch (static_cast<abi::ConsoleIoOp>(subop)) {
        case abi::ConsoleIoOp::write: return "write";
        case abi::ConsoleIoOp::read: return "read";
      }
      return nullptr;
    case abi::Op::sched_op:
      switch (static_cast<abi::SchedOp>(subop)) {
        case abi::SchedOp::yield: return "yield";
        case abi::SchedOp::block: return "block";
        case abi::SchedOp::shutdown: return "shutdown";
      }
      return nullptr;
    case abi::Op::domctl:
      switch (static_cast<abi::DomctlOp>(subop)) {
        case abi::DomctlOp::createdomain: return "createdomain";
        case abi::DomctlOp::destroydomain: return "destroydomain";
        case abi::DomctlOp::pausedomain: return "pausedomain";
        case abi::DomctlOp::unpausedomain: return "unpausedomain";
        case abi::DomctlOp::getdomaininfo: return "getdomaininfo";
        case abi::DomctlOp::request_shutdown: return "request_shutdown";
        case abi::DomctlOp::console_read: return "console_read";
        case abi::DomctlOp::console_write: return "console_write";
        case abi::DomctlOp::scheduler_op: return "scheduler_op";
        case abi::DomctlOp::setvcpuaffinity: return "setvcpuaffinity";
        case abi::DomctlOp::getvcpuaffinity: return "getvcpuaffinity";
        case abi::DomctlOp::save_domain: return "save_domain";
        case abi::DomctlOp::restore_domain: return "restore_domain";
        case abi::DomctlOp::set_start_info: return "set_start_info";
      }
      return nullptr;
    case abi::Op::sysctl:
      switch (static_cast<abi::SysctlOp>(subop)) {
        case abi::SysctlOp::physinfo: return "physinfo";
        case abi::SysctlOp::getdomaininfolist: return "getdomaininfolist";
      }
      return nullptr;
    case abi::Op::xsm_op:
      switch (static_cast<abi::AcmOp>(subop)) {
        case abi::AcmOp::setpolicy: return "setpolicy";
        case abi::AcmOp::getpolicy: return "getpolicy";
        case abi::AcmOp::dumpstats: return "dumpstats";
        case abi::AcmOp::getssid: return "getssid";
        case abi::AcmOp::getdecision: return "getdecision";
        case abi::AcmOp::chgpolicy: return "chgpolicy";
        case abi::AcmOp::relabeldoms: return "relabeldoms";
        case abi::AcmOp::audit_read: return "audit_read";
        case abi::AcmOp::resource_access: return "resource_access";
        case abi::AcmOp::frame_access: return "frame_access";
      }
      return nullptr;
    case abi::Op::event_channel_op:
      switch (static_cast<abi::EvtchnOp>(subop)) {
        case abi::EvtchnOp::bind_interdomain: return "bind_interdomain";
        case abi::EvtchnOp::bind_virq: return "bind_virq";
        case abi::EvtchnOp::close: return "close";
        case abi::EvtchnOp::send: return "send";
        case abi::EvtchnOp::status: return "status";
        case abi::EvtchnOp::alloc_unbound: return "alloc_unbound";
        case abi::EvtchnOp::bound_notice: return "bound_notice";
        case abi::EvtchnOp::closed_notice: return "closed_notice";
      }
      return nullptr;
    case abi::Op::grant_table_op:
      switch (static_cast<abi::GnttabOp>(subop)) {
        case abi::GnttabOp::map_grant_ref: return "map_grant_ref";
        case abi::GnttabOp::unmap_grant_ref: return "unmap_grant_ref";
        case abi::GnttabOp::copy: return "copy";
        case abi::GnttabOp::query_size: return "query_size";
        case abi::GnttabOp::grant_access: return "grant_access";
        case abi::GnttabOp::end_access: return "end_access";
      }
      return nullptr;
  }
  return nullptr;
}

const char* base_op_name(abi::Op op) {
  switch (op) {
    case abi::Op::xen_version: return "xen_version";
    case abi::Op::console_io: return "console_io";
    case abi::Op::grant_table_op: return "grant_table_op";
    case abi::Op::xsm_op: return "xsm_op";
    case abi::Op::sched_op: return "sched_op";
    case abi::Op::event_channel_op: return "event_channel_op";
    case abi::Op::sysctl: return "sysctl";
    case abi::Op::domctl: return "domctl";
  }
  return nullptr;
}

abi::MessageHeader make_header(abi::MessageKind kind, abi::Op op, std::uint32_t subop,
                               std::uint32_t seq, std::int32_t status, std::size_t payload_length,
                               std::uint32_t fd_count) {
  abi::MessageHeader header{};
  header.magic = abi::kMagic;
  header.version_major = abi::kVersionMajor;
  header.kind = static_cast<std::uint16_t>(kind);
  header.op = static_cast<std::uint32_t>(op);
  header.subop = subop;
  header.seq = seq;
  header.status = status;
  header.payload_length = static_cast<std::uint32_t>(payload_length);
  header.fd_count = fd_count;
  return header;
}

std::vector<std::uint8_t> assemble(const abi::MessageHeader& header,
                                   std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  out.reserve(sizeof header + payload.size());
  append_bytes(out, bytes_of(header));
  append_bytes(out, payload);
  return out;
}

std::span<const std::uint8_t> text_bytes(const std::string& s) {
  // SAFETY: char and uint8_t have the same size and alignment; read only.
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The payload a body encodes to.
struct PayloadWriter {
  std::vector<std::uint8_t> out;

  template <typename B>
    requires requires(B b) { b.args; }
  void fixed_part(const B& body) {
    append_bytes(out, bytes_of(body.args));
  }

  void operator()(const ConsoleWrite& b) { append_bytes(out, text_bytes(b.bytes)); }
  void operator()(const DomainConsoleWrite& b) {
    append_bytes(out, bytes_of(b.args));
    append_bytes(out, text_bytes(b.bytes));
  }
  void operator()(const AcmChangePolicy& b) {
    abi::AcmChangePolicy args = b.args;
    args.del_count = static_cast<std::uint32_t>(b.deleted.size());
    args.chg_count = static_cast<std::uint32_t>(b.changed.size());
    append_bytes(out, bytes_of(args));
    for (std::uint32_t index : b.deleted) append_bytes(out, bytes_of(index));
    for (const auto& [from, to] : b.changed) {
      append_bytes(out, bytes_of(from));
      append_bytes(out, bytes_of(to));
    }
  }
  void operator()(const AcmRelabel& b) {
    abi::AcmRelabel args = b.args;
    args.count = static_cast<std::uint32_t>(b.entries.size());
    append_bytes(out, bytes_of(args));
    for (const auto& entry : b.entries) append_bytes(out, bytes_of(entry));
  }
  template <typename B>
  void operator()(const B& body) {
    if constexpr (requires { body.args; }) fixed_part(body);
  }
};

}  // namespace

tl::expected<abi::MessageHeader, std::string> frame_header(std::span<const std::uint8_t> datagram,
                                                           std::size_t fds_received,
                                                           unsigned allowed_kinds) {
  if (datagram.size() < sizeof(abi::MessageHeader)) {
    return tl::unexpected("datagram of " + std::to_string(datagram.size()) +
                          " bytes is shorter than the 32-byte header");
  }
  const auto header = load_at<abi::MessageHeader>(datagram, 0);
  if (header.magic != abi::kMagic) return tl::unexpected(std::string("bad magic"));
  if (header.kind > 31 || (allowed_kinds & (1u << header.kind)) == 0) {
    return tl::unexpected("unexpected message kind " + std::to_string(header.kind));
  }
  if (header.payload_length > abi::kMaxPayload) {
    return tl::unexpected("payload_length " + std::to_string(header.payload_length) +
                          " exceeds " + std::to_string(abi::kMaxPayload));
  }
  if (header.payload_length != datagram.size() - sizeof(abi::MessageHeader)) {
    return tl::unexpected("payload_length " + std::to_string(header.payload_length) +
                          " disagrees with the datagram's " +
                          std::to_string(datagram.size() - sizeof(abi::MessageHeader)) +
                          " payload bytes");
  }
  if (header.fd_count > abi::kMaxFds) {
    return tl::unexpected("fd_count " + std::to_string(header.fd_count) + " exceeds " +
                          std::to_string(abi::kMaxFds));
  }
  if (header.fd_count != fds_received) {
    return tl::unexpected("fd_count " + std::to_string(header.fd_count) + " but " +
                          std::to_string(fds_received) + " descriptor(s) came");
  }
  return header;
}

Decoded decode_request(std::span<const std::uint8_t> datagram, std::vector<UniqueFd> fds,
                       Caller caller) {
  auto framed = frame_header(datagram, fds.size(), kind_bit(abi::MessageKind::request));
  if (!framed) {
    return tl::unexpected(Rejection{Errno::proto, true, std::nullopt, std::move(framed.error())});
  }
  const abi::MessageHeader& header = *framed;
  if (header.version_major != abi::kVersionMajor) {
    return tl::unexpected(Rejection{Errno::protonosupport, false, header,
                                    "ABI major version " + std::to_string(header.version_major) +
                                        " (this hypervisor speaks " +
                                        std::to_string(abi::kVersionMajor) + ")"});
  }
  if (header.status != 0) {
    return tl::unexpected(Rejection{Errno::inval, false, header, "status must be 0 in a request"});
  }
  RequestDecoder decoder(header, datagram.subspan(sizeof header), fds, caller);
  return decoder.run();
}

std::pair<abi::Op, std::uint32_t> op_of(const Body& body) {
  return std::visit(
      [](const auto& b) {
        using B = std::decay_t<decltype(b)>;
        return std::pair<abi::Op, std::uint32_t>{B::kOp, B::kSubop};
      },
      body);
}

std::uint32_t fd_count_of(const Body& body) {
  return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::kFdCount; }, body);
}

std::string op_name(abi::Op op, std::uint32_t subop) {
  const char* base = base_op_name(op);
  if (base == nullptr) return "op " + std::to_string(static_cast<std::uint32_t>(op));
  const char* sub_name = subop_name(op, subop);
  if (sub_name == nullptr) return std::string(base) + "/" + std::to_string(subop);
  if (*sub_name == '\0') return base;
  return std::string(base) + "/" + sub_name;
}

std::string op_name(const Body& body) {
  const auto [op, subop] = op_of(body);
  return op_name(op, subop);
}

std::vector<std::uint8_t> encode_request(std::uint32_t seq, const Body& body) {
  PayloadWriter writer;
  std::visit(writer, body);
  const auto [op, subop] = op_of(body);
  const auto header = make_header(abi::MessageKind::request, op, subop, seq, 0, writer.out.size(),
                                  fd_count_of(body));
  return assemble(header, writer.out);
}

std::vector<std::uint8_t> encode_response(const abi::MessageHeader& request, Errno status,
                                          std::span<const std::uint8_t> payload,
                                          std::uint32_t fd_count) {
  const auto header = make_header(abi::MessageKind::response, static_cast<abi::Op>(request.op),
                                  request.subop, request.seq, to_wire(status), payload.size(),
                                  fd_count);
  return assemble(header, payload);
}

std::vector<std::uint8_t> encode_notification(abi::Op op, std::uint32_t subop,
                                              std::span<const std::uint8_t> payload,
                                              std::uint32_t fd_count) {
  const auto header =
      make_header(abi::MessageKind::notification, op, subop, 0, 0, payload.size(), fd_count);
  return assemble(header, payload);
}

tl::expected<Message, std::string> decode_reply(std::span<const std::uint8_t> datagram,
                                                std::vector<UniqueFd> fds) {
  auto framed = frame_header(datagram, fds.size(),
                             kind_bit(abi::MessageKind::response) |
                                 kind_bit(abi::MessageKind::notification));
  if (!framed) return tl::unexpected(std::move(framed.error()));
  if (framed->version_major != abi::kVersionMajor) {
    return tl::unexpected("ABI major version " + std::to_string(framed->version_major));
  }
  Message message;
  message.header = *framed;
  const auto payload = datagram.subspan(sizeof(abi::MessageHeader));
  message.payload.assign(payload.begin(), payload.end());
  message.fds = std::move(fds);
  return message;
}

Received receive_datagram(int socket_fd, std::span<std::uint8_t> buffer, bool dontwait) {
  Received result;
  iovec iov{buffer.data(), buffer.size()};
  // One SCM_RIGHTS block of kMaxFds descriptors: more is truncated (MSG_CTRUNC).
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * abi::kMaxFds)> control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t got;
  do {
    got = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    result.error = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result.status = RecvStatus::would_block;
    } else if (errno == ECONNRESET) {
      result.status = RecvStatus::closed;
    } else {
      result.status = RecvStatus::error;
    }
    return result;
  }
  // Take ownership of every descriptor first, so each path below closes them.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      // SAFETY: CMSG_DATA points at cmsg_len - CMSG_LEN(0) bytes of ints the
      // kernel wrote inside `control`; memcpy avoids any alignment assumption.
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      result.fds.emplace_back(fd);
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    result.status = RecvStatus::violation;
    result.reason = "more than " + std::to_string(abi::kMaxFds) + " descriptors (control truncated)";
    return result;
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0) {
    result.status = RecvStatus::violation;
    result.reason = "datagram larger than " + std::to_string(buffer.size()) + " bytes";
    return result;
  }
  if (got == 0) {
    // SOCK_SEQPACKET reports both an empty datagram and the peer's close
    // as 0 bytes; the hang-up flag tells them apart.
    pollfd p{socket_fd, POLLIN | POLLRDHUP, 0};
    const bool hung_up = ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP)) != 0;
    if (hung_up && result.fds.empty()) {
      result.status = RecvStatus::closed;
    } else {
      result.status = RecvStatus::violation;
      result.reason = "empty datagram";
    }
    return result;
  }
  result.status = RecvStatus::message;
  result.size = static_cast<std::size_t>(got);
  return result;
}

SendStatus send_datagram(int socket_fd, std::span<const std::uint8_t> bytes,
                         std::span<const int> fds, bool dontwait, int* error) {
  iovec iov{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * abi::kMaxFds)> control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    if (fds.size() > abi::kMaxFds) {
      if (error != nullptr) *error = EINVAL;
      return SendStatus::error;
    }
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    // SAFETY: CMSG_DATA has room for kMaxFds ints inside `control`
    // (checked above); memcpy makes no alignment assumption.
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(socket_fd, &msg, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0) return SendStatus::sent;
  if (error != nullptr) *error = errno;
  switch (errno) {
    case EAGAIN:
      return SendStatus::would_block;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
      return SendStatus::peer_gone;
    default:
      return SendStatus::error;
  }
}

}  // namespace shype::hv::wire
