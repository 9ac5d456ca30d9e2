// Building a guest domain once XSM has admitted it (createdomain after
// domain_create, restore_domain after domain_restore): guest memory (memfd
// of memory_mib MiB, sealed against resizing; a restore fills it with the
// saved contents), shared_info (one page), the upcall eventfd, the hypercall
// channel (socketpair, SOCK_SEQPACKET), the hypervisor's own mappings, the
// console log, and finally the sandboxed process (sandbox::launch).
// Everything is owned by the Domain as soon as it exists, so a failure at
// any step releases what was made by destroying the Domain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "hv/domain.hpp"
#include "hv/errno.hpp"

namespace shype::hv {

struct GuestSpec {
  std::string cmdline;
  std::uint32_t memory_mib = 0;
  bool start_paused = false;
  int kernel_fd = -1;  // borrowed: the sandbox reads it (a sealed copy of the kernel)
  // A restore: the saved memory (exactly memory_mib MiB; zero pages are
  // skipped, the memfd is zero already) and the resume count the guest sees.
  std::span<const std::uint8_t> initial_memory;
  std::uint32_t resume_count = 0;
  std::optional<std::string> cgroup_parent;
  std::filesystem::path console_log;  // appended to (created 0640)
};

struct BuildFailure {
  Errno status = Errno::nomem;
  std::string message;  // names the step that failed
};

// Fills `domain` (constructed with id, name and ssidref). On success the
// process runs (or is stopped, start_paused) and domain.process_alive is set.
[[nodiscard]] tl::expected<void, BuildFailure> build_guest(Domain& domain, const GuestSpec& spec);

}  // namespace shype::hv
