#include "sandbox/kernel_image.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kernel_image_file.hpp"
#include "sandbox/limits.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {
namespace {

constexpr std::uint16_t kMaxProgramHeaders = 64;

acm::Status bad(std::string what) {
  return acm::make_error(acm::Errc::malformed_binary, "kernel image: " + std::move(what));
}

// `count` records of `size` bytes at `offset` lie inside an image of `total` bytes.
bool inside(std::uint64_t offset, std::uint64_t count, std::uint64_t size, std::uint64_t total) {
  if (size != 0 && count > total / size) return false;
  const std::uint64_t bytes = count * size;
  return offset <= total && bytes <= total - offset;
}

}  // namespace

acm::Status validate_kernel_image(std::string_view image) {
  Elf64_Ehdr ehdr{};
  if (image.size() < sizeof ehdr) return bad("shorter than an ELF header");
  // SAFETY: copies sizeof(Elf64_Ehdr) bytes, checked to be present, into a
  // trivially copyable struct.
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0)
    return bad("not an ELF file (e_ident magic)");
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64) return bad("not a 64-bit ELF file (EI_CLASS)");
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) return bad("not little-endian (EI_DATA)");
  if (ehdr.e_ident[EI_VERSION] != EV_CURRENT) return bad("unknown EI_VERSION");
  if (ehdr.e_machine != EM_X86_64) {
    return acm::make_error(acm::Errc::unsupported,
                           "kernel image: not an x86-64 executable (e_machine)");
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) return bad("not an executable (e_type)");
  if (ehdr.e_phentsize != sizeof(Elf64_Phdr)) return bad("unexpected e_phentsize");
  if (ehdr.e_phnum == 0 || ehdr.e_phnum > kMaxProgramHeaders) return bad("e_phnum out of range");
  if (!inside(ehdr.e_phoff, ehdr.e_phnum, sizeof(Elf64_Phdr), image.size())) {
    return bad("program headers outside the image (e_phoff)");
  }

  bool has_load = false;
  bool entry_executable = false;
  for (std::uint16_t i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr{};
    // SAFETY: the whole table was checked to lie inside the image above.
    std::memcpy(&phdr, image.data() + ehdr.e_phoff + std::uint64_t{i} * sizeof phdr, sizeof phdr);
    const std::string which = "program header " + std::to_string(i);
    switch (phdr.p_type) {
      case PT_INTERP:
        return bad(which + ": PT_INTERP (a dynamically linked kernel cannot run in an empty root)");
      case PT_GNU_STACK:
        if ((phdr.p_flags & PF_X) != 0) return bad(which + ": executable stack (PT_GNU_STACK)");
        break;
      case PT_LOAD:
        has_load = true;
        if ((phdr.p_flags & PF_W) != 0 && (phdr.p_flags & PF_X) != 0) {
          return bad(which + ": segment both writable and executable");
        }
        if (!inside(phdr.p_offset, phdr.p_filesz, 1, image.size())) {
          return bad(which + ": segment bytes outside the image (p_offset, p_filesz)");
        }
        if (phdr.p_filesz > phdr.p_memsz) return bad(which + ": p_filesz > p_memsz");
        if ((phdr.p_flags & PF_X) != 0 && ehdr.e_entry >= phdr.p_vaddr &&
            ehdr.e_entry - phdr.p_vaddr < phdr.p_memsz) {
          entry_executable = true;
        }
        break;
      default:
        break;
    }
  }
  if (!has_load) return bad("no PT_LOAD segment");
  if (!entry_executable) return bad("entry point outside every executable segment (e_entry)");
  return {};
}

acm::Result<UniqueFd> prepare_kernel_image(int kernel_fd) {
  struct stat st {};
  if (kernel_fd < 0 || ::fstat(kernel_fd, &st) != 0) {
    return acm::make_error(acm::Errc::invalid_argument, "kernel_fd: not an open descriptor");
  }
  if (!S_ISREG(st.st_mode)) {
    return acm::make_error(acm::Errc::invalid_argument, "kernel_fd: not a regular file");
  }
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > kMaxKernelImageBytes) {
    return acm::make_error(acm::Errc::limit_exceeded,
                           "kernel_fd: image size " + std::to_string(st.st_size) + " outside 1.." +
                               std::to_string(kMaxKernelImageBytes));
  }
  std::string image(static_cast<std::size_t>(st.st_size), '\0');
  if (!read_exact_at(kernel_fd, image.data(), image.size(), 0)) {
    return acm::make_error(acm::Errc::io_error,
                           "kernel_fd: reading the image: " + errno_text(errno));
  }
  if (auto ok = validate_kernel_image(image); !ok) return tl::unexpected(ok.error());

  // MFD_EXEC (Linux 6.3+) asks for an executable memfd where vm.memfd_noexec
  // would otherwise default to non-executable; older kernels reject the flag.
  constexpr unsigned kMfdExec = 0x0010U;
  UniqueFd writable(::memfd_create("shype-kernel", MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdExec));
  if (!writable && errno == EINVAL)
    writable.reset(::memfd_create("shype-kernel", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!writable)
    return acm::make_error(acm::Errc::io_error, "kernel: memfd_create: " + errno_text(errno));
  std::size_t done = 0;
  while (done < image.size()) {
    const ssize_t put = ::write(writable.get(), image.data() + done, image.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0)
      return acm::make_error(acm::Errc::io_error,
                             "kernel: copying the image: " + errno_text(errno));
    done += static_cast<std::size_t>(put);
  }
  if (::fcntl(writable.get(), F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return acm::make_error(acm::Errc::io_error, "kernel: sealing the image: " + errno_text(errno));
  }
  // execve refuses a file someone has open for writing, so the launcher keeps
  // a read-only descriptor only (reopened through /proc).
  const std::string self_path = "/proc/self/fd/" + std::to_string(writable.get());
  UniqueFd readonly(::open(self_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!readonly)
    return acm::make_error(acm::Errc::io_error,
                           "kernel: reopening the image read-only: " + errno_text(errno));
  writable.reset();
  // Owner (the launcher) read+execute, everyone else execute only: the guest
  // cannot read its own image, which makes the kernel mark the process
  // non-dumpable at exec (no core dumps, no ptrace by other processes of the
  // guest's host uid, /proc/<pid> owned by root).
  if (::fchmod(readonly.get(), 0511) != 0) {
    return acm::make_error(acm::Errc::io_error, "kernel: fchmod: " + errno_text(errno));
  }
  return readonly;
}

}  // namespace shype::sandbox
