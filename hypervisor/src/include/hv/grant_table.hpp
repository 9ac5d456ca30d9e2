// A domain's grant table and the mappings it holds (grant_table.cpp,
// docs/hypercall-abi.md "grant_table_op").
//
// Two halves, both bounded by the ABI (shype/grant_table.hpp):
//  - the grants this domain gave (at most kMaxGrantsPerDomain): frame n of
//    its memory, moved into a one-page memfd that the granter maps over the
//    frame and grantees map beside their own memory;
//  - the mappings this domain holds of other domains' grants (at most
//    kMaxMapsPerDomain). A guest maps handle h at kGrantMapBase + h pages,
//    so handles are small and reused lowest first. Domain-0's mappings
//    belong to the connection that made them.
//
// The table is pure bookkeeping: it decides whether a grant, a map, an
// unmap or an end of access is allowed by the table's own state (bad ref,
// wrong grantee, read-only, busy, full) and records the outcome. Domain
// look-ups, XSM and memfds are the hypervisor's (grant_table.cpp); a
// refusal changes nothing here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "hv/errno.hpp"
#include "hv/mapping.hpp"
#include "hv/unique_fd.hpp"
#include "shype/abi.hpp"
#include "shype/grant_table.hpp"

namespace shype::hv {

// GNTST_* codes as the hypervisor's status (they are not errno values; the
// response carries them where Xen put them in the op's status field).
inline constexpr Errno kGntBadDomain = static_cast<Errno>(abi::kGntstBadDomain);
inline constexpr Errno kGntBadGntref = static_cast<Errno>(abi::kGntstBadGntref);
inline constexpr Errno kGntBadHandle = static_cast<Errno>(abi::kGntstBadHandle);
inline constexpr Errno kGntPermissionDenied = static_cast<Errno>(abi::kGntstPermissionDenied);

// One grant this domain gave.
struct Grant {
  abi::domid_t grantee = 0;
  std::uint32_t grantee_serial = 0;  // Domain::serial: a later domain with the same id is not it
  std::uint32_t frame = 0;
  bool readonly = false;
  std::uint32_t mappings = 0;  // live maps of it (by the grantee)
  UniqueFd frame_fd;           // the one-page memfd, read-write
  Mapping page;                // the hypervisor's mapping of it (copy, end of access)
};

// One mapping this domain holds of another domain's grant.
struct GrantMapping {
  abi::domid_t granter = 0;
  std::uint32_t granter_serial = 0;  // Domain::serial: a later domain with the same id is not it
  abi::grant_ref_t ref = 0;
  bool readonly = false;
  std::uint64_t connection = 0;  // Domain-0: the connection that owns it; guests: 0
};

class GrantTable {
 public:
  // --- grants this domain gave --------------------------------------------

  // Whether `frame` (of a domain with `frame_count` frames) may be granted:
  // inval (not a frame of the domain, or already granted), nospc (the table
  // holds kMaxGrantsPerDomain grants).
  [[nodiscard]] Errno check_grant(std::uint32_t frame, std::uint64_t frame_count) const;
  // Records a grant that passed check_grant under the lowest free ref.
  abi::grant_ref_t add_grant(Grant grant);
  [[nodiscard]] Grant* find_grant(abi::grant_ref_t ref);
  [[nodiscard]] const Grant* find_grant(abi::grant_ref_t ref) const;
  // The grant of `frame`, if it is granted (its page is where the frame's
  // contents live meanwhile).
  [[nodiscard]] Grant* grant_of_frame(std::uint32_t frame);
  // The grant `ref` as the domain (`mapper`, `mapper_serial`) may map or
  // copy it: kGntBadGntref if there is no such grant or it is for another
  // domain; kGntPermissionDenied if `writable` is asked of a read-only grant.
  [[nodiscard]] Errno check_access(abi::grant_ref_t ref, abi::domid_t mapper,
                                   std::uint32_t mapper_serial, bool writable) const;
  // Whether `ref` may end: inval (no such grant), busy (still mapped).
  [[nodiscard]] Errno check_end(abi::grant_ref_t ref) const;
  // Removes the grant (after check_end, or when the domain is destroyed).
  [[nodiscard]] std::optional<Grant> take_grant(abi::grant_ref_t ref);
  [[nodiscard]] std::vector<abi::grant_ref_t> grant_refs() const;
  [[nodiscard]] std::uint32_t grant_count() const noexcept {
    return static_cast<std::uint32_t>(grants_.size());
  }

  // --- mappings this domain holds ----------------------------------------------

  [[nodiscard]] bool mappings_full() const noexcept { return mappings_.size() >= map_limit_; }
  // kMaxMapsPerDomain, or kMaxMapsDomain0 for Domain-0.
  void set_map_limit(std::uint32_t limit) noexcept { map_limit_ = limit; }
  [[nodiscard]] std::uint32_t map_limit() const noexcept { return map_limit_; }
  // Records a mapping (the caller checked mappings_full) under the lowest
  // free handle.
  std::uint32_t add_mapping(const GrantMapping& mapping);
  // The mapping `handle` if `connection` owns it (guests pass 0).
  [[nodiscard]] const GrantMapping* find_mapping(std::uint32_t handle,
                                                 std::uint64_t connection) const;
  // Removes a mapping found by find_mapping.
  [[nodiscard]] std::optional<GrantMapping> take_mapping(std::uint32_t handle);
  // Removes every mapping (all of them, or those of one connection).
  [[nodiscard]] std::vector<GrantMapping> take_mappings(std::optional<std::uint64_t> connection);
  [[nodiscard]] const std::map<std::uint32_t, GrantMapping>& mappings() const noexcept {
    return mappings_;
  }

 private:
  std::uint32_t map_limit_ = abi::kMaxMapsPerDomain;
  std::map<abi::grant_ref_t, Grant> grants_;
  std::map<std::uint32_t, abi::grant_ref_t> frames_;  // granted frame -> its ref
  std::map<std::uint32_t, GrantMapping> mappings_;    // handle -> mapping
};

}  // namespace shype::hv
