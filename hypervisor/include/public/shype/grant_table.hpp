// grant_table_op (Op::grant_table_op). A guest grants one frame of its
// memory to one domain; the grantee maps it and receives that frame only,
// as a sealed memfd of one page (read-only when the grant says so). Xen
// kept the grant table in guest memory; here the hypervisor keeps it, and
// granting is a hypercall (sub-commands 100 and 101).
//
// Granting frame n moves it into its own one-page memfd: the response
// carries that descriptor and the granting guest maps it over frame n
// (its contents are copied first), so both domains share exactly that page.
// Ending access copies the page back to guest memory; a grant still mapped
// cannot be ended (-EBUSY).
#pragma once

#include <cstdint>

#include "shype/abi.hpp"

namespace shype::abi {

enum class GnttabOp : std::uint32_t {
  map_grant_ref = 0,    // GntMap; response fd: the frame (sealed memfd)
  unmap_grant_ref = 1,  // GntUnmap
  copy = 5,             // GntCopy
  query_size = 6,       // GntQuerySize
  grant_access = 100,   // GntGrantAccess; response fd: the frame to map over frame n
  end_access = 101,     // GntEndAccess
};

inline constexpr std::uint32_t kGrantReadOnly = 1u << 0;  // GNTMAP_readonly / GTF_readonly
inline constexpr std::uint32_t kMaxGrantsPerDomain = 1024;
inline constexpr std::uint32_t kMaxMapsPerDomain = 1024;
// ABI 1.2: Domain-0 runs the backends of every guest's devices, whose data
// pages stay mapped (persistent grants): it may hold more.
inline constexpr std::uint32_t kMaxMapsDomain0 = 32768;

// Xen's GNTST_* status codes, returned as the (negative) response status
// where Xen returned them in the op's status field.
inline constexpr std::int32_t kGntstGeneralError = -1;
inline constexpr std::int32_t kGntstBadDomain = -2;
inline constexpr std::int32_t kGntstBadGntref = -3;
inline constexpr std::int32_t kGntstBadHandle = -4;
inline constexpr std::int32_t kGntstPermissionDenied = -8;

struct GntGrantAccess {
  domid_t grantee;      // IN
  std::uint16_t pad;
  std::uint32_t frame;  // IN: frame number in the granter's memory
  std::uint32_t flags;  // IN: kGrantReadOnly
  grant_ref_t ref;      // OUT
};
static_assert(sizeof(GntGrantAccess) == 16);

struct GntEndAccess {
  grant_ref_t ref;
};

struct GntMap {
  domid_t granter;      // IN
  std::uint16_t pad;
  grant_ref_t ref;      // IN
  std::uint32_t flags;  // IN: kGrantReadOnly to map read-only
  std::uint32_t handle; // OUT
};
static_assert(sizeof(GntMap) == 16);

struct GntUnmap {
  std::uint32_t handle;
};

// One side of a copy: a grant of another domain, or a frame of the caller.
struct GntCopySide {
  domid_t dom;          // kDomidSelf: `frame` of the caller; else `ref` of dom
  std::uint16_t pad;
  std::uint32_t ref_or_frame;
  std::uint32_t offset; // within the page
  std::uint32_t pad2;
};
static_assert(sizeof(GntCopySide) == 16);

struct GntCopy {
  GntCopySide source;
  GntCopySide dest;
  std::uint32_t length;  // source.offset + length and dest.offset + length <= kPageSize
  std::uint32_t pad;
};
static_assert(sizeof(GntCopy) == 40);

struct GntQuerySize {
  std::uint32_t grants;       // OUT: grants in use
  std::uint32_t max_grants;   // OUT: kMaxGrantsPerDomain
};

}  // namespace shype::abi
