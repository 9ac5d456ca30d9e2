#include "hv/guest_builder.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "hv/shared_info_page.hpp"
#include "sandbox/sandbox.hpp"
#include "shype/shared_info.hpp"

namespace shype::hv {
namespace {

tl::unexpected<BuildFailure> failure(Errno status, std::string step, int err) {
  return tl::unexpected(
      BuildFailure{status, step + ": " + std::generic_category().message(err)});
}

Errno resource_errno(int err) {
  return err == ENOMEM || err == ENOSPC || err == EFBIG ? Errno::nomem : from_errno(err);
}

// A memfd of `size` bytes that can never be grown, shrunk or re-sealed.
tl::expected<UniqueFd, int> sized_memfd(const std::string& name, std::uint64_t size) {
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return tl::unexpected(errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return tl::unexpected(errno);
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return tl::unexpected(errno);
  }
  return fd;
}

bool page_is_zero(const std::uint8_t* page) {
  for (std::size_t i = 0; i < abi::kPageSize; ++i) {
    if (page[i] != 0) return false;
  }
  return true;
}

}  // namespace

tl::expected<void, BuildFailure> build_guest(Domain& domain, const GuestSpec& spec) {
  struct stat kernel {};
  if (::fstat(spec.kernel_fd, &kernel) != 0 || !S_ISREG(kernel.st_mode)) {
    return tl::unexpected(BuildFailure{Errno::badf, "the kernel descriptor is not a regular file"});
  }
  if (!spec.initial_memory.empty() &&
      spec.initial_memory.size() != (std::uint64_t{spec.memory_mib} << 20)) {
    return tl::unexpected(BuildFailure{Errno::inval, "the saved memory has the wrong size"});
  }
  const std::string tag = "shype-dom" + std::to_string(domain.id);
  const std::uint64_t memory_bytes = std::uint64_t{spec.memory_mib} << 20;
  domain.memory_mib = spec.memory_mib;

  auto memory = sized_memfd(tag + "-memory", memory_bytes);
  if (!memory) return failure(resource_errno(memory.error()), "guest memory memfd", memory.error());
  domain.guest.memory_fd = std::move(*memory);
  auto memory_map = Mapping::map_shared(domain.guest.memory_fd.get(), memory_bytes);
  if (!memory_map) return failure(resource_errno(memory_map.error()), "mapping guest memory", memory_map.error());
  domain.guest.memory = std::move(*memory_map);
  // A restore: only runs of pages with data are written, so untouched
  // memory stays unallocated as it was before the save; pwrite, so that a
  // shortage is an error (a store through the mapping would be a SIGBUS).
  const std::size_t saved = spec.initial_memory.size();
  std::size_t run = 0;  // start of a run of pages with data
  for (std::size_t page = 0; page <= saved; page += abi::kPageSize) {
    const bool at_end = page == saved;
    if (!at_end && !page_is_zero(spec.initial_memory.data() + page)) continue;
    for (std::size_t at = run; at < page;) {
      const ssize_t n = ::pwrite(domain.guest.memory_fd.get(), spec.initial_memory.data() + at,
                                 page - at, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        return failure(resource_errno(err), "restoring guest memory", err);
      }
      at += static_cast<std::size_t>(n);
    }
    run = page + abi::kPageSize;
  }

  auto shared = sized_memfd(tag + "-shared-info", abi::kPageSize);
  if (!shared) return failure(resource_errno(shared.error()), "shared_info memfd", shared.error());
  domain.guest.shared_info_fd = std::move(*shared);
  auto shared_map = Mapping::map_shared(domain.guest.shared_info_fd.get(), abi::kPageSize);
  if (!shared_map) return failure(resource_errno(shared_map.error()), "mapping shared_info", shared_map.error());
  domain.guest.shared_info = std::move(*shared_map);
  init_shared_info(domain.guest.shared_info, domain.id, memory_bytes, spec.resume_count);

  domain.guest.upcall_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!domain.guest.upcall_fd) return failure(resource_errno(errno), "upcall eventfd", errno);

  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    return failure(resource_errno(errno), "hypercall channel socketpair", errno);
  }
  UniqueFd hypervisor_end(ends[0]);
  UniqueFd guest_end(ends[1]);
  if (::fcntl(hypervisor_end.get(), F_SETFL, O_NONBLOCK) != 0) {
    return failure(resource_errno(errno), "hypercall channel O_NONBLOCK", errno);
  }
  domain.channel = Channel(std::move(hypervisor_end));

  domain.console_log.reset(
      ::open(spec.console_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  // A console log that cannot be opened is not fatal: the ring still works.

  sandbox::SandboxSpec sandbox_spec;
  sandbox_spec.name = domain.name;
  sandbox_spec.cmdline = spec.cmdline;
  sandbox_spec.kernel_fd = spec.kernel_fd;
  sandbox_spec.channel_fd = guest_end.get();
  sandbox_spec.memory_fd = domain.guest.memory_fd.get();
  sandbox_spec.shared_info_fd = domain.guest.shared_info_fd.get();
  sandbox_spec.upcall_fd = domain.guest.upcall_fd.get();
  sandbox_spec.memory_bytes = memory_bytes;
  sandbox_spec.start_stopped = spec.start_paused;
  sandbox_spec.cgroup_parent = spec.cgroup_parent;
  auto process = sandbox::launch(sandbox_spec);
  if (!process) {
    return tl::unexpected(BuildFailure{Errno::io, "sandbox: " + process.error().to_string()});
  }
  domain.pid = process->pid;
  domain.pidfd.reset(process->pidfd);
  domain.cgroup = process->cgroup;
  domain.process_alive = true;
  domain.paused = spec.start_paused;
  return {};
}

}  // namespace shype::hv
