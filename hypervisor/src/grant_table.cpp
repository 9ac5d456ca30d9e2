// grant_table_op: grant access / end access, map / unmap, copy, query
// (docs/hypercall-abi.md "grant_table_op (20)").
//
// A granted frame lives in its own one-page memfd for as long as the grant
// lasts: the granter maps it over the frame, grantees map it beside their
// memory, and the hypervisor keeps a mapping for copies and for the copy
// back into guest memory when access ends. The memfd is sealed against
// shrinking, growing and further seals, never against writing: the granter
// must keep writing its frame. Read-only grantees get a descriptor opened
// O_RDONLY, on which the kernel refuses PROT_WRITE shared mappings and
// write(2); a sandboxed guest cannot open another one (seccomp has no open).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/hypervisor.hpp"
#include "hv/errno_text.hpp"

namespace shype::hv {

// --- GrantTable ---------------------------------------------------------------

namespace {

// The lowest key in [0, limit) that `map` does not hold.
template <typename Map>
std::optional<std::uint32_t> lowest_free_key(const Map& map, std::uint32_t limit) {
  std::uint32_t candidate = 0;
  for (const auto& entry : map) {
    if (entry.first != candidate) break;  // keys are ordered: a gap before this key
    ++candidate;
  }
  if (candidate >= limit) return std::nullopt;
  return candidate;
}

}  // namespace

Errno GrantTable::check_grant(std::uint32_t frame, std::uint64_t frame_count) const {
  if (frame >= frame_count) return Errno::inval;
  if (frames_.count(frame) != 0) return Errno::inval;
  if (grants_.size() >= abi::kMaxGrantsPerDomain) return Errno::nospc;
  return Errno::ok;
}

abi::grant_ref_t GrantTable::add_grant(Grant grant) {
  const auto ref = lowest_free_key(grants_, abi::kMaxGrantsPerDomain);
  // check_grant refused a full table; reaching this is a bug in the caller.
  if (!ref) std::abort();
  frames_.emplace(grant.frame, *ref);
  grants_.emplace(*ref, std::move(grant));
  return *ref;
}

Grant* GrantTable::find_grant(abi::grant_ref_t ref) {
  const auto it = grants_.find(ref);
  return it == grants_.end() ? nullptr : &it->second;
}

const Grant* GrantTable::find_grant(abi::grant_ref_t ref) const {
  const auto it = grants_.find(ref);
  return it == grants_.end() ? nullptr : &it->second;
}

Grant* GrantTable::grant_of_frame(std::uint32_t frame) {
  const auto it = frames_.find(frame);
  return it == frames_.end() ? nullptr : find_grant(it->second);
}

Errno GrantTable::check_access(abi::grant_ref_t ref, abi::domid_t mapper,
                               std::uint32_t mapper_serial, bool writable) const {
  const Grant* grant = find_grant(ref);
  if (grant == nullptr || grant->grantee != mapper || grant->grantee_serial != mapper_serial) {
    return kGntBadGntref;
  }
  if (writable && grant->readonly) return kGntPermissionDenied;
  return Errno::ok;
}

Errno GrantTable::check_end(abi::grant_ref_t ref) const {
  const Grant* grant = find_grant(ref);
  if (grant == nullptr) return Errno::inval;
  if (grant->mappings != 0) return Errno::busy;
  return Errno::ok;
}

std::optional<Grant> GrantTable::take_grant(abi::grant_ref_t ref) {
  const auto it = grants_.find(ref);
  if (it == grants_.end()) return std::nullopt;
  Grant grant = std::move(it->second);
  grants_.erase(it);
  frames_.erase(grant.frame);
  return grant;
}

std::vector<abi::grant_ref_t> GrantTable::grant_refs() const {
  std::vector<abi::grant_ref_t> refs;
  refs.reserve(grants_.size());
  for (const auto& [ref, grant] : grants_)
    refs.push_back(ref);
  return refs;
}

std::uint32_t GrantTable::add_mapping(const GrantMapping& mapping) {
  const auto handle = lowest_free_key(mappings_, map_limit_);
  // mappings_full refused a full table; reaching this is a bug in the caller.
  if (!handle) std::abort();
  mappings_.emplace(*handle, mapping);
  return *handle;
}

const GrantMapping* GrantTable::find_mapping(std::uint32_t handle, std::uint64_t connection) const {
  const auto it = mappings_.find(handle);
  if (it == mappings_.end() || it->second.connection != connection) return nullptr;
  return &it->second;
}

std::optional<GrantMapping> GrantTable::take_mapping(std::uint32_t handle) {
  const auto it = mappings_.find(handle);
  if (it == mappings_.end()) return std::nullopt;
  GrantMapping mapping = it->second;
  mappings_.erase(it);
  return mapping;
}

std::vector<GrantMapping> GrantTable::take_mappings(std::optional<std::uint64_t> connection) {
  std::vector<GrantMapping> taken;
  for (auto it = mappings_.begin(); it != mappings_.end();) {
    if (!connection || it->second.connection == *connection) {
      taken.push_back(it->second);
      it = mappings_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

// --- the hypercalls ---------------------------------------------------------------

namespace {

std::uint64_t frame_count(const Domain& domain) {
  return domain.guest.memory.size() / abi::kPageSize;
}

// Where frame `frame` of `domain` is now: while it is granted its contents
// live in the grant's page, not in guest memory.
std::uint8_t* frame_page(Domain& domain, std::uint32_t frame) {
  if (Grant* grant = domain.grants.grant_of_frame(frame)) return grant->page.data();
  return domain.guest.memory.data() + std::size_t{frame} * abi::kPageSize;
}

// A one-page memfd holding `contents`, sealed against shrinking, growing and
// further seals (a grantee could otherwise seal it against writing and
// freeze the granter's frame), and the hypervisor's mapping of it.
tl::expected<std::pair<UniqueFd, Mapping>, int> make_grant_frame(const std::uint8_t* contents) {
  UniqueFd fd(::memfd_create("shype-grant", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return tl::unexpected(errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(abi::kPageSize)) != 0) {
    return tl::unexpected(errno);
  }
  auto page = Mapping::map_shared(fd.get(), abi::kPageSize);
  if (!page) return tl::unexpected(page.error());
  std::memcpy(page->data(), contents, abi::kPageSize);
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return tl::unexpected(errno);
  }
  return std::pair{std::move(fd), std::move(*page)};
}

// A descriptor of the grant frame for a grantee: a duplicate (read-write)
// or the same memfd opened again read-only. Only a fresh open gives a
// read-only file description; F_SETFL cannot change the access mode.
UniqueFd frame_descriptor(int frame_fd, bool readonly) {
  if (!readonly) return UniqueFd(::fcntl(frame_fd, F_DUPFD_CLOEXEC, 0));
  const std::string path = "/proc/self/fd/" + std::to_string(frame_fd);
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

// A mapping ended: the grant it mapped counts one mapping fewer. The
// granter may be gone (its grants ended with it) or be a later domain with
// the same id: then there is nothing to count down.
void count_unmap(const DomainTable& domains, const GrantMapping& mapping) {
  Domain* granter = domains.find(mapping.granter);
  if (granter == nullptr || granter->serial != mapping.granter_serial) return;
  Grant* grant = granter->grants.find_grant(mapping.ref);
  if (grant != nullptr && grant->mappings > 0) --grant->mappings;
}

std::string gntst_text(Errno status) {
  switch (static_cast<std::int32_t>(status)) {
    case abi::kGntstBadDomain:
      return "GNTST_bad_domain";
    case abi::kGntstBadGntref:
      return "GNTST_bad_gntref";
    case abi::kGntstBadHandle:
      return "GNTST_bad_handle";
    case abi::kGntstPermissionDenied:
      return "GNTST_permission_denied";
    default:
      return errno_name(status);
  }
}

}  // namespace

Reply Hypervisor::handle(Domain& caller, wire::GntGrantAccess& body, Fds& /*fds*/) {
  abi::GntGrantAccess& args = body.args;
  if (caller.is_domain0())
    return Reply::error(Errno::perm, "Domain-0 has no guest memory to grant");
  const abi::domid_t grantee_id = args.grantee == abi::kDomidSelf ? caller.id : args.grantee;
  if (grantee_id == caller.id) return Reply::error(Errno::inval, "a domain cannot grant to itself");
  Domain* grantee = domains_.find(grantee_id);
  if (grantee == nullptr || grantee->dying) {
    return Reply::error(Errno::srch, "grantee: no domain " + std::to_string(grantee_id));
  }
  if (const Errno bad = caller.grants.check_grant(args.frame, frame_count(caller)); failed(bad)) {
    return Reply::error(bad, bad == Errno::nospc
                                 ? "the grant table is full"
                                 : "frame " + std::to_string(args.frame) +
                                       " is not a frame of the domain or is already granted");
  }
  if (check_sharing_budget(caller, 1) != Errno::ok) {
    return Reply::error(Errno::nospc, "the hypervisor's descriptors for grants are used up");
  }
  if (const int rc = xsm_->share(xsm::Hook::grant_setup, ref(caller), ref(*grantee)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "grant to domain " + std::to_string(grantee_id) +
                                                     " refused by the " +
                                                     std::string(xsm_->module_name()) + " module");
  }
  auto frame = make_grant_frame(frame_page(caller, args.frame));
  if (!frame) {
    return Reply::error(from_errno(frame.error()), "grant frame: " + errno_text(frame.error()));
  }
  UniqueFd for_granter(::fcntl(frame->first.get(), F_DUPFD_CLOEXEC, 0));
  if (!for_granter) return Reply::error(from_errno(errno), "dup: " + errno_text(errno));

  Grant grant;
  grant.grantee = grantee->id;
  grant.grantee_serial = grantee->serial;
  grant.frame = args.frame;
  grant.readonly = (args.flags & abi::kGrantReadOnly) != 0;
  grant.frame_fd = std::move(frame->first);
  grant.page = std::move(frame->second);
  args.ref = caller.grants.add_grant(std::move(grant));
  Reply reply = Reply::of(args);
  reply.fds.push_back(std::move(for_granter));
  return reply;
}

Reply Hypervisor::handle(Domain& caller, wire::GntEndAccess& body, Fds& /*fds*/) {
  if (caller.is_domain0()) return Reply::error(Errno::perm, "Domain-0 has no grants");
  const abi::grant_ref_t grant_ref = body.args.ref;
  if (const Errno bad = caller.grants.check_end(grant_ref); failed(bad)) {
    return Reply::error(bad, bad == Errno::busy
                                 ? "grant " + std::to_string(grant_ref) + " is still mapped"
                                 : "no grant " + std::to_string(grant_ref));
  }
  std::optional<Grant> grant = caller.grants.take_grant(grant_ref);
  if (!grant) return Reply::error(Errno::inval, "no grant " + std::to_string(grant_ref));
  // The frame's contents go back to guest memory before the guest maps
  // that memory over the frame again (after this response), so the
  // hypervisor's view (save) and the guest's agree.
  std::memcpy(caller.guest.memory.data() + std::size_t{grant->frame} * abi::kPageSize,
              grant->page.data(), abi::kPageSize);
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::GntMapRef& body, Fds& /*fds*/) {
  abi::GntMap& args = body.args;
  const bool readonly = (args.flags & abi::kGrantReadOnly) != 0;
  const abi::domid_t granter_id = args.granter == abi::kDomidSelf ? caller.id : args.granter;
  Domain* granter = domains_.find(granter_id);
  if (granter == nullptr || granter->dying) {
    return Reply::error(kGntBadDomain, "GNTST_bad_domain: no domain " + std::to_string(granter_id));
  }
  if (const Errno bad = granter->grants.check_access(args.ref, caller.id, caller.serial, !readonly);
      failed(bad)) {
    return Reply::error(
        bad, gntst_text(bad) + ": grant " + std::to_string(args.ref) + " of domain " +
                 std::to_string(granter_id) +
                 (bad == kGntPermissionDenied ? " is read-only" : " is not granted to the caller"));
  }
  if (caller.grants.mappings_full()) return Reply::error(Errno::nospc, "too many mappings");
  std::uint64_t owner = 0;
  if (caller.is_domain0()) {
    // Domain-0's mappings are released with the connection that made them.
    if (current_connection_ == nullptr) return Reply::error(Errno::inval, "no connection");
    owner = current_connection_->id;
  }
  if (const int rc = xsm_->share(xsm::Hook::grant_map, ref(caller), ref(*granter)); rc != 0) {
    return Reply::error(from_negative_errno(rc),
                        "mapping a grant of domain " + std::to_string(granter_id) +
                            " refused by the " + std::string(xsm_->module_name()) + " module");
  }
  Grant* grant = granter->grants.find_grant(args.ref);
  if (grant == nullptr) return Reply::error(kGntBadGntref);  // check_access found it
  UniqueFd fd = frame_descriptor(grant->frame_fd.get(), readonly);
  if (!fd) return Reply::error(from_errno(errno), "grant frame descriptor: " + errno_text(errno));
  args.handle = caller.grants.add_mapping(
      GrantMapping{granter->id, granter->serial, args.ref, readonly, owner});
  ++grant->mappings;
  Reply reply = Reply::of(args);
  reply.fds.push_back(std::move(fd));
  return reply;
}

Reply Hypervisor::handle(Domain& caller, wire::GntUnmapRef& body, Fds& /*fds*/) {
  const std::uint32_t handle = body.args.handle;
  const std::uint64_t owner =
      caller.is_domain0() && current_connection_ != nullptr ? current_connection_->id : 0;
  if (caller.grants.find_mapping(handle, owner) == nullptr) {
    return Reply::error(kGntBadHandle, "GNTST_bad_handle: no mapping " + std::to_string(handle) +
                                           " of this caller");
  }
  count_unmap(domains_, *caller.grants.take_mapping(handle));
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::GntCopy& body, Fds& /*fds*/) {
  const abi::GntCopy& args = body.args;
  struct Side {
    std::uint8_t* page = nullptr;
    Domain* granter = nullptr;  // null: a frame of the caller
  };
  // Look-ups of both sides first; nothing is copied unless both pass.
  const auto resolve = [&](const abi::GntCopySide& side, bool writable, Side& out) -> Reply {
    if (side.dom == abi::kDomidSelf) {
      if (caller.is_domain0()) return Reply::error(Errno::perm, "Domain-0 has no frames");
      if (side.ref_or_frame >= frame_count(caller)) {
        return Reply::error(Errno::inval,
                            "frame " + std::to_string(side.ref_or_frame) + " out of range");
      }
      out.page = frame_page(caller, side.ref_or_frame);
      return Reply::ok();
    }
    Domain* granter = domains_.find(side.dom);
    if (granter == nullptr || granter->dying) {
      return Reply::error(kGntBadDomain, "GNTST_bad_domain: no domain " + std::to_string(side.dom));
    }
    if (const Errno bad =
            granter->grants.check_access(side.ref_or_frame, caller.id, caller.serial, writable);
        failed(bad)) {
      return Reply::error(bad, gntst_text(bad) + ": grant " + std::to_string(side.ref_or_frame) +
                                   " of domain " + std::to_string(side.dom));
    }
    const Grant* grant = granter->grants.find_grant(side.ref_or_frame);
    if (grant == nullptr) return Reply::error(kGntBadGntref);  // check_access found it
    out.page = grant->page.data();
    out.granter = granter;
    return Reply::ok();
  };
  Side source;
  Side dest;
  if (Reply bad = resolve(args.source, false, source); failed(bad.status)) return bad;
  if (Reply bad = resolve(args.dest, true, dest); failed(bad.status)) return bad;
  for (const Side* side : {&source, &dest}) {
    if (side->granter == nullptr) continue;
    if (const int rc = xsm_->share(xsm::Hook::grant_copy, ref(caller), ref(*side->granter));
        rc != 0) {
      return Reply::error(from_negative_errno(rc),
                          "copying with a grant of domain " + std::to_string(side->granter->id) +
                              " refused by the " + std::string(xsm_->module_name()) + " module");
    }
  }
  // memmove: both sides may be the same page.
  std::memmove(dest.page + args.dest.offset, source.page + args.source.offset, args.length);
  return Reply::ok();
}

Reply Hypervisor::handle(Domain& caller, wire::GntQuerySize& body, Fds& /*fds*/) {
  body.args.grants = caller.grants.grant_count();
  body.args.max_grants = abi::kMaxGrantsPerDomain;
  return Reply::of(body.args);
}

void Hypervisor::release_grants(Domain& domain, bool destroyed) {
  for (const GrantMapping& mapping : domain.grants.take_mappings(std::nullopt)) {
    count_unmap(domains_, mapping);
  }
  if (!destroyed) return;
  // Its memory goes with it, so nothing is copied back. Grantees that still
  // map a frame keep their descriptor (the kernel keeps the memfd alive);
  // their mapping records stay until they unmap, so that their handles (and
  // a guest's map window slots) are not reused under them.
  for (const abi::grant_ref_t grant_ref : domain.grants.grant_refs()) {
    (void)domain.grants.take_grant(grant_ref);
  }
}

void Hypervisor::release_connection_grants(std::uint64_t connection_id) {
  for (const GrantMapping& mapping : domain0().grants.take_mappings(connection_id)) {
    count_unmap(domains_, mapping);
  }
}

void Hypervisor::append_grant_sharings(xsm::LiveState& live) const {
  for (const auto& [id, mapper] : domains_.all()) {
    for (const auto& [handle, mapping] : mapper->grants.mappings()) {
      const Domain* granter = domains_.find(mapping.granter);
      if (granter == nullptr || granter->serial != mapping.granter_serial ||
          granter->grants.find_grant(mapping.ref) == nullptr) {
        continue;  // the granter is gone: nothing is shared any more
      }
      live.sharings.push_back(acm::DomainSharing{granter->id, mapper->id, acm::SharingKind::grant});
    }
  }
}

}  // namespace shype::hv
