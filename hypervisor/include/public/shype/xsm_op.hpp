// xsm_op (Op::xsm_op): the ACM operations of Xen 3.3/3.4 (ACMOP_*, with
// Xen's numbers and error-tuple codes), for Domain-0 only (-EPERM). Every
// payload starts with the interface version; a mismatch is -EACCES, as in
// Xen. Policies travel as a sealed memfd, not in the message.
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi {

inline constexpr std::uint32_t kAcmInterfaceVersion = 0xAAAA000Au;

enum class AcmOp : std::uint32_t {
  setpolicy = 1,    // AcmSetPolicy + fd -> AcmPolicyResult
  getpolicy = 2,    // AcmGetPolicy -> AcmGetPolicy + fd (the active binary)
  dumpstats = 3,    // AcmStats
  getssid = 4,      // AcmGetSsid
  getdecision = 5,  // AcmGetDecision
  chgpolicy = 6,    // AcmChangePolicy + u32 arrays + fd -> AcmPolicyResult
  relabeldoms = 7,  // AcmRelabel + AcmRelabelEntry[] -> AcmPolicyResult
  audit_read = 100, // AcmAuditRead -> AcmAuditRead + fd (JSON lines)
  // ABI 1.2, also for guests that serve devices (driver domains):
  resource_access = 101,  // AcmResourceAccess
  frame_access = 102,     // AcmFrameAccess
};

inline constexpr std::uint32_t kAcmGetBySsidref = 1;  // ACM_GETBY_ssidref
inline constexpr std::uint32_t kAcmGetByDomid = 2;    // ACM_GETBY_domainid

enum class AcmHook : std::uint32_t {
  none = 0,
  sharing = 1,        // ACMHOOK_sharing
  authorization = 2,  // ACMHOOK_authorization
  conflictset = 3,    // ACMHOOK_conflictset
};

inline constexpr std::int32_t kAcmAccessPermitted = 0;
inline constexpr std::int32_t kAcmAccessDenied = -111;

// Error tuples of chgpolicy / relabeldoms (Xen's codes).
inline constexpr std::int32_t kAcmEvtchnSharingViolation = 0x100;
inline constexpr std::int32_t kAcmGnttabSharingViolation = 0x101;
inline constexpr std::int32_t kAcmDomainLookup = 0x102;
inline constexpr std::int32_t kAcmChwallConflict = 0x103;
inline constexpr std::int32_t kAcmSsidrefInUse = 0x104;

struct AcmErrorTuple {
  std::int32_t code;
  std::int32_t data;  // two-domain codes: (domid << 16) | remote domid
};

inline constexpr std::uint32_t kAcmMaxErrors = 20;
inline constexpr std::size_t kAcmMessageSize = 512;

// The result of setpolicy, chgpolicy and relabeldoms: the error tuples of
// the hypervisor's re-check, and a readable reason when the binary itself
// was refused.
struct AcmPolicyResult {
  std::uint32_t interface_version;
  std::uint32_t error_count;
  AcmErrorTuple errors[kAcmMaxErrors];
  char message[kAcmMessageSize];  // NUL-terminated; empty on success
};
static_assert(sizeof(AcmPolicyResult) == 8 + 8 * 20 + 512);

struct AcmSetPolicy {
  std::uint32_t interface_version;
  std::uint32_t size;  // bytes of the policy in the attached memfd
};

struct AcmGetPolicy {
  std::uint32_t interface_version;
  std::uint32_t size;  // OUT: bytes in the returned memfd
};

struct AcmStats {
  std::uint32_t interface_version;
  std::uint32_t pad;
  // Xen's STE counters (acm_ste_stats_buffer), plus shype's per-hook ones.
  std::uint64_t ec_eval_count;
  std::uint64_t gt_eval_count;
  std::uint64_t ec_denied_count;
  std::uint64_t gt_denied_count;
  std::uint64_t ec_cachehit_count;
  std::uint64_t gt_cachehit_count;
  std::uint64_t domain_create_denied;
  std::uint64_t audit_records;
};
static_assert(sizeof(AcmStats) == 8 + 8 * 8);

struct AcmGetSsid {
  std::uint32_t interface_version;
  std::uint32_t get_by;  // kAcmGetBy*
  std::uint32_t id;      // ssidref or domid
  std::uint32_t ssidref;           // OUT
  std::uint32_t primary_code;      // OUT: PolicyCode
  std::uint32_t secondary_code;    // OUT
  std::uint32_t version_major;     // OUT: XML policy version
  std::uint32_t version_minor;
  char policy_name[128];           // OUT
  char label[128];                 // OUT: the VM label of the ssidref, if known
  std::uint8_t fingerprint[32];    // OUT: SHA-256 of the active binary policy
};
static_assert(sizeof(AcmGetSsid) == 32 + 128 + 128 + 32);

// resource_access (101): may domain `domid` use a resource labeled
// `ssidref` (its resource label's ssidref under the active policy)? The XSM
// resource_access hook decides (STE: a type in common) and audits a
// refusal. Domain-0 may ask about any domain; a guest only about a domain it
// serves, i.e. one it has an interdomain event channel with (a backend
// asking for its frontend) - otherwise -EPERM. This is how a driver domain
// enforces resource labels for the disks it serves.
struct AcmResourceAccess {
  std::uint32_t interface_version;
  std::uint32_t domid;    // IN: the domain using the resource (a frontend)
  std::uint32_t ssidref;  // IN: the resource's label
  std::int32_t decision;  // OUT: kAcmAccessPermitted / kAcmAccessDenied
};
static_assert(sizeof(AcmResourceAccess) == 16);

// frame_access (102): may a network frame pass from domain `from` to domain
// `to`? The same STE sharing decision (a type in common) that Domain-0's
// bridge asks through getdecision/ACMHOOK_sharing, made by the XSM
// frame_access hook, which audits a refusal. Domain-0 may ask about any
// pair; a guest only about two domains it BOTH has an interdomain event
// channel with (a driver domain's bridge asking about two of its clients) -
// otherwise -EPERM. -ESRCH: either domain does not exist. Nothing is cached
// on either side: the answer follows relabels and policy changes at once.
struct AcmFrameAccess {
  std::uint32_t interface_version;
  std::uint32_t from;     // IN: the sending domain
  std::uint32_t to;       // IN: the receiving domain
  std::int32_t decision;  // OUT: kAcmAccessPermitted / kAcmAccessDenied
};
static_assert(sizeof(AcmFrameAccess) == 16);

struct AcmGetDecision {
  std::uint32_t interface_version;
  std::uint32_t get_by1;  // kAcmGetBy*
  std::uint32_t get_by2;
  std::uint32_t id1;
  std::uint32_t id2;
  std::uint32_t hook;     // AcmHook
  std::int32_t decision;  // OUT: kAcmAccessPermitted / kAcmAccessDenied
  std::uint32_t pad;
};
static_assert(sizeof(AcmGetDecision) == 32);

// chgpolicy: the policy in the attached memfd; after this struct,
// del_count u32 deleted label indexes, then chg_count (old, new) u32 pairs.
struct AcmChangePolicy {
  std::uint32_t interface_version;
  std::uint32_t size;
  std::uint32_t del_count;
  std::uint32_t chg_count;
};

struct AcmRelabelEntry {
  std::uint32_t domid;
  std::uint32_t ssidref;
};
// relabeldoms: after this struct, count AcmRelabelEntry.
struct AcmRelabel {
  std::uint32_t interface_version;
  std::uint32_t count;
};

struct AcmAuditRead {
  std::uint32_t interface_version;
  std::uint32_t pad;
  std::uint64_t from_seq;  // IN: first record wanted; OUT: next sequence number
  std::uint32_t count;     // OUT: records in the attached memfd (JSON lines)
  std::uint32_t size;      // OUT: bytes in the attached memfd
};
static_assert(sizeof(AcmAuditRead) == 24);

}  // namespace shype::abi
