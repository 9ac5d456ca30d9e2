// Guest grant tables (grant_table.hpp): the hypercalls, and the mappings
// that make a grant a shared page on this side.
//
// Granting frame n: the hypervisor answers with a one-page memfd holding the
// frame's contents; it is mapped over frame n (MAP_FIXED replaces that page
// of the guest-memory mapping), so from then on this domain and the grantee
// share that page. Ending access: the hypervisor copies the page back into
// guest memory, then guest memory (kMemoryFd) is mapped over frame n again.
// Mapping a grant of another domain: its memfd goes at kGrantMapBase + handle
// pages (MAP_FIXED_NOREPLACE: a slot in use is a bookkeeping bug, not
// something to overwrite).
#include "shype/guest/grant_table.hpp"

#include "internal.hpp"
#include "shype/guest/fd_table.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/syscall.hpp"

namespace shype::guest::gnttab {
namespace {

constexpr auto kOp = abi::Op::grant_table_op;

constexpr std::uint32_t sub(abi::GnttabOp op) {
  return static_cast<std::uint32_t>(op);
}

// The frame each of this domain's grants covers (the fd table keys grant
// frames by ref only). Refs are < kMaxGrantsPerDomain (the hypervisor's
// table size).
std::uint32_t g_granted_frame[abi::kMaxGrantsPerDomain];

std::uint64_t map_address(std::uint32_t handle) {
  return abi::kGrantMapBase + std::uint64_t{handle} * abi::kPageSize;
}

// Maps guest memory over `frame` again (the grant's page is replaced).
int restore_frame(std::uint32_t frame) {
  const std::uint64_t address = abi::kGuestMemoryBase + std::uint64_t{frame} * abi::kPageSize;
  const long mapped = sys::mmap(address, abi::kPageSize, sys::kProtRead | sys::kProtWrite,
                                sys::kMapShared | sys::kMapFixed, abi::kMemoryFd,
                                std::uint64_t{frame} * abi::kPageSize);
  if (mapped < 0) return static_cast<int>(mapped);
  return static_cast<std::uint64_t>(mapped) == address ? 0 : -sys::kEIO;
}

// A response that should carry one descriptor and a struct of `size` bytes
// but does not: the hypervisor broke the ABI.
int malformed(const int* fds, std::uint32_t fd_count) {
  for (std::uint32_t i = 0; i < fd_count; ++i)
    (void)sys::close(fds[i]);
  return -sys::kEPROTO;
}

}  // namespace

std::int64_t grant_access(abi::domid_t grantee, std::uint32_t frame, bool readonly) {
  if (frame_address(frame) == nullptr) return -sys::kEINVAL;
  const std::uint64_t address = abi::kGuestMemoryBase + std::uint64_t{frame} * abi::kPageSize;
  abi::GntGrantAccess request{};
  request.grantee = grantee;
  request.frame = frame;
  request.flags = readonly ? abi::kGrantReadOnly : 0;
  abi::GntGrantAccess response{};
  std::size_t length = 0;
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  const int status = hypercall(kOp, sub(abi::GnttabOp::grant_access), &request, sizeof request,
                               &response, sizeof response, &length, fds, 1, &fd_count);
  if (status < 0) return status;
  if (length != sizeof response || fd_count != 1 || response.ref >= abi::kMaxGrantsPerDomain) {
    return malformed(fds, fd_count);
  }
  const int fd = fds[0];
  // The hypervisor copied the frame into the memfd when it answered; this
  // domain has not run since, so nothing written to the frame is lost.
  const long mapped = sys::mmap(address, abi::kPageSize, sys::kProtRead | sys::kProtWrite,
                                sys::kMapShared | sys::kMapFixed, fd, 0);
  int failure = mapped < 0 ? static_cast<int>(mapped) : 0;
  if (failure == 0 && static_cast<std::uint64_t>(mapped) != address) failure = -sys::kEIO;
  if (failure == 0) failure = fd_table::add(fd, FdRole::grant_frame, response.ref);
  if (failure != 0) {
    // Undo: the grant's page still holds the frame's contents; ending the
    // grant copies them back, and guest memory goes over the frame again.
    (void)sys::close(fd);
    (void)hypercall(kOp, sub(abi::GnttabOp::end_access), &response.ref, sizeof response.ref);
    (void)restore_frame(frame);
    return failure;
  }
  g_granted_frame[response.ref] = frame;
  return response.ref;
}

int end_access(abi::grant_ref_t ref) {
  const int fd = fd_table::find(FdRole::grant_frame, ref);
  if (fd < 0) return -sys::kEINVAL;
  const abi::GntEndAccess request{ref};
  const int status = hypercall(kOp, sub(abi::GnttabOp::end_access), &request, sizeof request);
  if (status < 0) return status;
  // The hypervisor has copied the page into guest memory; map that back.
  const int restored = restore_frame(g_granted_frame[ref]);
  (void)fd_table::remove(fd);
  return restored;
}

int map(abi::domid_t granter, abi::grant_ref_t ref, bool readonly, Mapping* out) {
  abi::GntMap request{};
  request.granter = granter;
  request.ref = ref;
  request.flags = readonly ? abi::kGrantReadOnly : 0;
  abi::GntMap response{};
  std::size_t length = 0;
  int fds[abi::kMaxFds];
  std::uint32_t fd_count = 0;
  const int status = hypercall(kOp, sub(abi::GnttabOp::map_grant_ref), &request, sizeof request,
                               &response, sizeof response, &length, fds, 1, &fd_count);
  if (status < 0) return status;
  if (length != sizeof response || fd_count != 1 || response.handle >= abi::kMaxMapsPerDomain) {
    return malformed(fds, fd_count);
  }
  const int fd = fds[0];
  const std::uint64_t address = map_address(response.handle);
  const std::uint64_t prot = readonly ? sys::kProtRead : sys::kProtRead | sys::kProtWrite;
  const long mapped =
      sys::mmap(address, abi::kPageSize, prot, sys::kMapShared | sys::kMapFixedNoReplace, fd, 0);
  int failure = mapped < 0 ? static_cast<int>(mapped) : 0;
  if (failure == 0 && static_cast<std::uint64_t>(mapped) != address) failure = -sys::kEIO;
  if (failure == 0) failure = fd_table::add(fd, FdRole::grant_mapping, response.handle);
  if (failure != 0) {
    if (mapped >= 0) (void)sys::munmap(reinterpret_cast<void*>(mapped), abi::kPageSize);
    (void)sys::close(fd);
    const abi::GntUnmap unmap_request{response.handle};
    (void)hypercall(kOp, sub(abi::GnttabOp::unmap_grant_ref), &unmap_request, sizeof unmap_request);
    return failure;
  }
  out->handle = response.handle;
  // SAFETY: the page at `address` was just mapped from the grant's memfd.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the ABI fixes the address.
  out->address = reinterpret_cast<void*>(address);
  out->readonly = readonly;
  return 0;
}

int unmap(const Mapping& mapping) {
  const int fd = fd_table::find(FdRole::grant_mapping, mapping.handle);
  if (fd < 0) return abi::kGntstBadHandle;
  // Unmapped here first: once the hypervisor counts the mapping gone (and
  // the granter may end the grant), this domain really has no access.
  // SAFETY: the handle's slot holds exactly the one page map() placed there.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the ABI fixes the address.
  (void)sys::munmap(reinterpret_cast<void*>(map_address(mapping.handle)), abi::kPageSize);
  (void)fd_table::remove(fd);
  const abi::GntUnmap request{mapping.handle};
  return hypercall(kOp, sub(abi::GnttabOp::unmap_grant_ref), &request, sizeof request);
}

int copy(const abi::GntCopy& request) {
  return hypercall(kOp, sub(abi::GnttabOp::copy), &request, sizeof request);
}

int query_size(abi::GntQuerySize* out) {
  const abi::GntQuerySize request{};
  std::size_t length = 0;
  const int status = hypercall(kOp, sub(abi::GnttabOp::query_size), &request, sizeof request, out,
                               sizeof *out, &length, nullptr, 0, nullptr);
  if (status < 0) return status;
  return length == sizeof *out ? 0 : -sys::kEPROTO;
}

}  // namespace shype::guest::gnttab
