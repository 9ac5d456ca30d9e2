// Guest grant tables (docs/hypercall-abi.md "Grant tables"): granting one
// of this domain's frames to another domain, and mapping another domain's
// grant. The descriptors involved live in the fd table (fd_table.hpp).
#pragma once

#include <cstdint>

#include "shype/abi.hpp"
#include "shype/grant_table.hpp"

namespace shype::guest::gnttab {

// GNTTABOP_grant_access: lets `grantee` map frame `frame` of this domain
// (read-only if `readonly`). The frame's contents are kept: the runtime
// maps the returned one-page memfd over the frame, so both domains share
// exactly that page from now on. Returns the grant reference, or -errno
// (-EACCES refused by the policy, -ESRCH no such domain, -EINVAL not a
// frame of this domain or already granted, -ENOSPC table full).
[[nodiscard]] std::int64_t grant_access(abi::domid_t grantee, std::uint32_t frame, bool readonly);

// GNTTABOP_end_access: ends a grant (the frame stays in place with its
// contents: the runtime maps guest memory over it again). -EBUSY while the
// grantee still maps it; -EINVAL not a grant of this domain.
int end_access(abi::grant_ref_t ref);

// A mapping of another domain's grant.
struct Mapping {
  std::uint32_t handle;  // for unmap
  void* address;         // one page at abi::kGrantMapBase + handle * kPageSize
  bool readonly;
};

// GNTTABOP_map_grant_ref: maps `ref` of `granter` (PROT_READ only when
// `readonly`). 0, or as Xen's status field (abi::kGntst*):
// kGntstBadDomain no such domain, kGntstBadGntref no such grant for us,
// kGntstPermissionDenied a writable map of a read-only grant; or -EACCES
// refused by the policy, -ENOSPC kMaxMapsPerDomain mappings held.
int map(abi::domid_t granter, abi::grant_ref_t ref, bool readonly, Mapping* out);

// GNTTABOP_unmap_grant_ref: unmaps the page, then tells the hypervisor.
// 0, or abi::kGntstBadHandle if `mapping` is not a mapping of this domain.
int unmap(const Mapping& mapping);

// GNTTABOP_copy: copies `length` bytes between a grant of another domain
// and a frame of this one (see abi::GntCopy; either side may be either). 0,
// or kGntstBadDomain / kGntstBadGntref / kGntstPermissionDenied (writing a
// read-only grant) for a grant side, -EINVAL for a frame side, -EACCES
// refused by the policy.
int copy(const abi::GntCopy& request);

// GNTTABOP_query_size: grants this domain has given and the limit. 0 or -errno.
int query_size(abi::GntQuerySize* out);

}  // namespace shype::guest::gnttab
