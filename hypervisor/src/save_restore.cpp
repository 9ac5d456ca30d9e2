// domctl save_domain and restore_domain: a suspended domain becomes a
// saved image (shype/save_image.hpp), and an image becomes a domain again
// (docs/hypercall-abi.md "save_domain (103) and restore_domain (104)").
//
// Save, as a Xen PV save: the guest takes part. Domain-0 asks it to
// suspend (request_shutdown with reason suspend); its runtime puts what it
// needs into guest memory and calls SCHEDOP_shutdown(suspend); once its
// process is gone, save_domain seals memory, kernel, cmdline, label and
// the toolstack's record into an image, runs XSM domain_save (its Chinese
// Wall types are released, manual 10.3.3) and destroys the domain.
//
// Restore: the image crosses a trust boundary (Domain-0 read it from a
// file), so it is checked completely first (save_image.hpp); then the
// label is checked against the active policy (XSM domain_restore: the
// ssidref must be a VM label, the Chinese Wall must admit it); only then is
// a domain built, with a new id, the saved memory and resume_count + 1 in
// its shared_info, and started.
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "acm/ssidref.hpp"
#include "hv/hypervisor.hpp"
#include "hv/save_image.hpp"
#include "hv/sealed_memfd.hpp"
#include "hv/errno_text.hpp"

namespace shype::hv {
namespace {

std::uint64_t wall_clock_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(now.tv_nsec);
}

// Writes all of `bytes` at `offset` (pwrite: a full memfd is ENOSPC or
// ENOMEM here, not a SIGBUS as a store through a mapping would be).
std::string write_at(int fd, std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_text(n < 0 ? errno : EIO);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// The ranges of a memfd that hold data (SEEK_DATA / SEEK_HOLE), page
// aligned and merged; all of it if the file system cannot tell.
std::vector<MemoryExtent> data_extents(int fd, std::uint64_t size) {
  std::vector<MemoryExtent> extents;
  std::uint64_t at = 0;
  while (at < size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after `at`
      return {MemoryExtent{0, size}};
    }
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return {MemoryExtent{0, size}};
    std::uint64_t from = static_cast<std::uint64_t>(data) / abi::kPageSize * abi::kPageSize;
    std::uint64_t to = std::min<std::uint64_t>(
        (static_cast<std::uint64_t>(hole) + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize,
        size);
    if (to <= from) break;  // no progress: do not loop
    if (!extents.empty() && from <= extents.back().offset + extents.back().length) {
      from = extents.back().offset;
      extents.pop_back();
    }
    extents.push_back(MemoryExtent{from, to - from});
    at = to;
  }
  return extents;
}

}  // namespace

Reply Hypervisor::handle(Domain& caller, wire::SaveDomain& body, Fds& fds) {
  Target t = target(caller, body.args.domid, /*allow_domain0=*/false);
  if (t.domain == nullptr) return std::move(t.failure);
  Domain& domain = *t.domain;
  if (domain.dying) return Reply::error(Errno::inval, describe(domain) + " is being destroyed");
  if (domain.crashed) {
    return Reply::error(Errno::inval,
                        describe(domain) + " crashed; only a suspended domain can be saved");
  }
  if (!domain.shut_down || domain.shutdown_reason != abi::ShutdownReason::suspend) {
    return Reply::error(
        Errno::inval,
        describe(domain) +
            " has not suspended (ask it with request_shutdown, reason suspend, and wait for its shutdown)");
  }
  if (domain.process_alive) {
    return Reply::error(Errno::again,
                        describe(domain) + " has suspended but its process has not exited yet");
  }
  if (!domain.kernel_image || !domain.guest.memory.valid() || !domain.guest.memory_fd) {
    return Reply::error(Errno::inval, describe(domain) + " has no memory or kernel to save");
  }
  auto record = SealedView::open(fds.at(0).get(), body.args.record_size);
  if (!record) {
    return Reply::error(from_errno(record.error().error),
                        "toolstack record: " + record.error().reason);
  }

  // Frames still granted live in their grant pages (docs/hypercall-abi.md
  // "grant_table_op"): their contents go back into guest memory first. The
  // guest's process is gone, so nothing sees the copy (a retry after a
  // failed save makes it again).
  const int memory_fd = domain.guest.memory_fd.get();
  for (const abi::grant_ref_t grant_ref : domain.grants.grant_refs()) {
    const Grant* grant = domain.grants.find_grant(grant_ref);
    if (grant == nullptr || !grant->page.valid()) continue;
    if (std::string error = write_at(memory_fd, std::uint64_t{grant->frame} * abi::kPageSize,
                                     {grant->page.data(), abi::kPageSize});
        !error.empty()) {
      return Reply::error(Errno::nomem, "copying granted frame " + std::to_string(grant->frame) +
                                            " back: " + error);
    }
  }

  const std::uint64_t memory_bytes = std::uint64_t{domain.memory_mib} << 20;
  const std::vector<MemoryExtent> extents = data_extents(memory_fd, memory_bytes);
  const xsm::PolicyInfo policy = xsm_->policy_info();
  SaveImageParts parts;
  parts.metadata.name = domain.name;
  parts.metadata.memory_mib = domain.memory_mib;
  parts.metadata.vcpus = domain.vcpus;
  parts.metadata.ssidref = domain.ssidref;
  parts.metadata.resume_count = domain.resume_count;
  parts.metadata.saved_at_ns = wall_clock_ns();
  parts.metadata.cpu_time_ns = domain.last_cpu_time_ns;
  parts.metadata.label = xsm_->label_of(domain.ssidref);
  parts.metadata.policy_name = policy.name;
  std::memcpy(parts.metadata.policy_fingerprint.data(), policy.fingerprint.data(),
              parts.metadata.policy_fingerprint.size());
  parts.metadata.cmdline = domain.cmdline;
  parts.kernel = *domain.kernel_image;
  parts.toolstack_record = record->bytes();
  parts.memory = {domain.guest.memory.data(), static_cast<std::size_t>(memory_bytes)};
  parts.memory_extents = extents;
  auto size = save_image_size(parts);
  if (!size)
    return Reply::error(Errno::inval, "cannot save " + describe(domain) + ": " + size.error());

  // The image: a memfd of its size (sparse), written with pwrite, sealed.
  UniqueFd image(
      ::memfd_create(("shype-save-" + domain.name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!image) return Reply::error(from_errno(errno), "memfd_create: " + errno_text(errno));
  if (::ftruncate(image.get(), static_cast<off_t>(*size)) != 0) {
    return Reply::error(Errno::nomem, "sizing the image: " + errno_text(errno));
  }
  auto written =
      write_save_image(parts, [&](std::uint64_t offset, std::span<const std::uint8_t> bytes) {
        return write_at(image.get(), offset, bytes);
      });
  if (!written) return Reply::error(Errno::nomem, "writing the image: " + written.error());
  if (::fcntl(image.get(), F_ADD_SEALS, static_cast<int>(kBulkSeals)) != 0) {
    return Reply::error(from_errno(errno), "sealing the image: " + errno_text(errno));
  }

  // Commit: the XSM layer lets go of its Chinese Wall types, then the domain
  // goes. A refusal leaves the domain as it was (suspended).
  if (const int rc = xsm_->domain_save(ref(domain)); rc != 0) {
    return Reply::error(from_negative_errno(rc), "domain_save refused by the " +
                                                     std::string(xsm_->module_name()) + " module");
  }
  log_.info(describe(domain) + " saved: " + std::to_string(*size) + " bytes, label " +
            acm::hex32(domain.ssidref) +
            (parts.metadata.label.empty() ? "" : " (" + parts.metadata.label + ")"));
  destroy_domain(domain);  // `domain` is gone after this

  abi::DomctlSaveDomain out = body.args;
  out.image_size = *size;
  Reply reply = Reply::of(out);
  reply.fds.push_back(std::move(image));
  return reply;
}

Reply Hypervisor::handle(Domain& /*caller*/, wire::RestoreDomain& body, Fds& fds) {
  // 1. The image, checked completely before anything else.
  auto view = SealedView::open(fds.at(0).get(), body.args.image_size);
  if (!view) return Reply::error(from_errno(view.error().error), "image: " + view.error().reason);
  auto image = parse_save_image(view->bytes());
  if (!image) return Reply::error(Errno::inval, "image refused: " + image.error());
  const SaveImageMetadata& saved = image->parts.metadata;

  // 2. Look-ups: the name is free, an id is left.
  if (domains_.find_by_name(saved.name) != nullptr) {
    return Reply::error(Errno::exist, "a domain named '" + saved.name + "' exists");
  }
  const auto domid = domains_.next_domid();
  if (!domid) return Reply::error(Errno::nospc, "every domain id is in use");

  // 3. The label under the active policy. The toolstack looked the ssidref
  // up by the label name the image records; where both names are known
  // they must agree, so that a restore cannot quietly change a domain's
  // label.
  const std::uint32_t ssidref = body.args.ssidref;
  const std::string label_now = xsm_->label_of(ssidref);
  if (!saved.label.empty() && !label_now.empty() && saved.label != label_now) {
    const std::string text = "image of '" + saved.name + "' has label '" + saved.label +
                             "' but ssidref " + acm::hex32(ssidref) + " is label '" + label_now +
                             "' under policy '" + xsm_->policy_info().name + "'";
    log_.warning("restore_domain: " + text);
    return Reply::error(Errno::acces, text);
  }
  auto domain = std::make_unique<Domain>(*domid, domains_.next_serial(), saved.name, ssidref);
  domain->mark_started();
  const xsm::DomainRef restored = ref(*domain);
  const std::uint64_t audited_before = audit_.records_written();
  if (const int rc = xsm_->domain_restore(restored); rc != 0) {
    const std::string text = refusal_text(saved.name, ssidref, audited_before);
    log_.warning("restore_domain: " + text);
    return Reply::error(from_negative_errno(rc), text);
  }

  // 4. Build and start it, resuming.
  domain->kernel_image = kernels_.intern({image->parts.kernel.begin(), image->parts.kernel.end()});
  domain->cmdline = saved.cmdline;
  domain->resume_count = saved.resume_count + 1;  // the reader refused UINT32_MAX
  if (Reply failed_start =
          start_domain(*domain, restored, saved.memory_mib,
                       (body.args.flags & abi::kRestorePaused) != 0, image->parts.memory);
      failed(failed_start.status)) {
    return failed_start;
  }
  Domain& stored = domains_.insert(std::move(domain));
  update_interest(stored);
  watch_process(stored);
  log_.info(describe(stored) + " restored: ssidref " + acm::hex32(stored.ssidref) +
            (label_now.empty() ? "" : " (" + label_now + ")") + ", " +
            std::to_string(stored.memory_mib) + " MiB, resume " +
            std::to_string(stored.resume_count) + ", pid " + std::to_string(stored.pid) +
            (stored.paused ? ", paused" : ""));

  abi::DomctlRestoreDomain out = body.args;
  out.domid = stored.id;
  return Reply::of(out);
}

}  // namespace shype::hv
