// Save and restore (xm save / xm restore) and save files. Images are read
// only through the hypervisor's one reader (hv/save_image.hpp).
#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/save_image.hpp"
#include "hv/sealed_memfd.hpp"
#include "xenctrl/connection.hpp"

namespace shype::xc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kRequiredSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;

bool is_sealed_memfd(int fd) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (static_cast<unsigned>(seals) & kRequiredSeals) == kRequiredSeals;
}

// Copies `size` bytes of `from` to `to` (both at offset 0), skipping holes
// (SEEK_DATA / SEEK_HOLE) so that sparse images stay sparse.
std::string copy_sparse(int from, int to, std::uint64_t size) {
  std::vector<std::uint8_t> buffer(1 << 20);
  std::uint64_t at = 0;
  while (at < size) {
    off_t data = ::lseek(from, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;        // only a hole is left
    if (data < 0) data = static_cast<off_t>(at);  // cannot tell: copy everything
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0 || static_cast<std::uint64_t>(hole) > size) hole = static_cast<off_t>(size);
    for (auto offset = static_cast<std::uint64_t>(data);
         offset < static_cast<std::uint64_t>(hole);) {
      const std::size_t want = static_cast<std::size_t>(
          std::min<std::uint64_t>(buffer.size(), static_cast<std::uint64_t>(hole) - offset));
      const ssize_t got = ::pread(from, buffer.data(), want, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return "read: " + errno_text(errno);
      if (got == 0) return "read: the file shrank while it was copied";
      for (std::size_t done = 0; done < static_cast<std::size_t>(got);) {
        const ssize_t put = ::pwrite(to, buffer.data() + done, static_cast<std::size_t>(got) - done,
                                     static_cast<off_t>(offset + done));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return "write: " + errno_text(put < 0 ? errno : EIO);
        done += static_cast<std::size_t>(put);
      }
      offset += static_cast<std::uint64_t>(got);
    }
    if (static_cast<std::uint64_t>(hole) <= at) break;  // no progress
    at = static_cast<std::uint64_t>(hole);
  }
  return {};
}

// The size of a regular file or memfd that could hold an image.
Result<std::uint64_t> image_size_of(int fd, const std::string& op) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(errno, op, "fstat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(EINVAL, op, "the image is not a regular file or memfd");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > hv::wire::kMaxSaveImageBytes) {
    return make_error(EFBIG, op, std::to_string(size) + " bytes is larger than any save image");
  }
  return size;
}

// A sealed memfd with the contents of `fd` (or `fd` itself, duplicated, if
// it is one already).
Result<SavedImage> sealed_image(int fd, const std::string& op) {
  auto size = image_size_of(fd, op);
  if (!size) return tl::unexpected(size.error());
  SavedImage image;
  image.size = *size;
  if (is_sealed_memfd(fd)) {
    image.fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!image.fd) return make_error(errno, op, "dup: " + errno_text(errno));
    return image;
  }
  image.fd.reset(::memfd_create("shype-save-image", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!image.fd) return make_error(errno, op, "memfd_create: " + errno_text(errno));
  if (::ftruncate(image.fd.get(), static_cast<off_t>(*size)) != 0) {
    return make_error(errno, op, "sizing the memfd: " + errno_text(errno));
  }
  if (std::string error = copy_sparse(fd, image.fd.get(), *size); !error.empty()) {
    return make_error(EIO, op, error);
  }
  if (::fcntl(image.fd.get(), F_ADD_SEALS, static_cast<int>(hv::kBulkSeals)) != 0) {
    return make_error(errno, op, "sealing: " + errno_text(errno));
  }
  return image;
}

}  // namespace

Result<SaveImageInfo> inspect_save_image(int image_fd) {
  const std::string op = "inspect_save_image";
  auto image = sealed_image(image_fd, op);
  if (!image) return tl::unexpected(image.error());
  auto view = hv::SealedView::open(image->fd.get(), image->size);
  if (!view) return make_error(view.error().error, op, view.error().reason);
  auto parsed = hv::parse_save_image(view->bytes());
  if (!parsed) return make_error(EINVAL, op, parsed.error());
  const hv::SaveImageMetadata& m = parsed->parts.metadata;
  SaveImageInfo info;
  info.version_major = parsed->version_major;
  info.version_minor = parsed->version_minor;
  info.name = m.name;
  info.memory_mib = m.memory_mib;
  info.vcpus = m.vcpus;
  info.ssidref = m.ssidref;
  info.label = m.label;
  info.policy_name = m.policy_name;
  info.policy_fingerprint = m.policy_fingerprint;
  info.cmdline = m.cmdline;
  info.resume_count = m.resume_count;
  info.saved_at_ns = m.saved_at_ns;
  info.cpu_time_ns = m.cpu_time_ns;
  info.kernel_bytes = parsed->parts.kernel.size();
  info.image_bytes = image->size;
  info.toolstack_record.assign(parsed->parts.toolstack_record.begin(),
                               parsed->parts.toolstack_record.end());
  return info;
}

Status write_save_file(int image_fd, const std::filesystem::path& path) {
  const std::string op = "write_save_file";
  auto size = image_size_of(image_fd, op);
  if (!size) return tl::unexpected(size.error());
  std::filesystem::path temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid());
  hv::UniqueFd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!file) return make_error(errno, op, "'" + temporary.string() + "': " + errno_text(errno));
  const auto fail = [&](int err, const std::string& why) -> Status {
    ::unlink(temporary.c_str());
    return make_error(err, op, "'" + path.string() + "': " + why);
  };
  if (::ftruncate(file.get(), static_cast<off_t>(*size)) != 0) {
    return fail(errno, "sizing: " + errno_text(errno));
  }
  if (std::string error = copy_sparse(image_fd, file.get(), *size); !error.empty()) {
    return fail(EIO, error);
  }
  if (::fsync(file.get()) != 0) return fail(errno, "fsync: " + errno_text(errno));
  file.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return fail(errno, "rename: " + errno_text(errno));
  }
  return {};
}

Result<SavedImage> read_save_file(const std::filesystem::path& path) {
  const std::string op = "read_save_file";
  hv::UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return make_error(errno, op, "'" + path.string() + "': " + errno_text(errno));
  auto image = sealed_image(file.get(), op);
  if (!image) {
    Error error = image.error();
    error.message = "'" + path.string() + "': " + error.message;
    return tl::unexpected(std::move(error));
  }
  return image;
}

Result<SavedImage> Connection::save_domain(abi::domid_t domid,
                                           std::span<const std::uint8_t> toolstack_record,
                                           std::chrono::milliseconds suspend_timeout) {
  const std::string op = "save_domain";
  if (toolstack_record.size() > abi::kMaxToolstackRecordBytes) {
    return make_error(EINVAL, op,
                      "the toolstack record is larger than " +
                          std::to_string(abi::kMaxToolstackRecordBytes) + " bytes");
  }
  const auto suspended = [](const DomainInfo& d) {
    return d.shutdown() && !d.crashed() && d.shutdown_reason == abi::ShutdownReason::suspend;
  };
  auto info = domain_info(domid);
  if (!info) return tl::unexpected(info.error());
  const std::string who = "domain " + std::to_string(info->domid) + " (" + info->name + ")";
  if (domid == abi::kDomain0 || info->domid == abi::kDomain0) {
    return make_error(EINVAL, op, "Domain-0 cannot be saved");
  }
  if (info->dying() || info->crashed() || (info->shutdown() && !suspended(*info))) {
    return make_error(EINVAL, op, who + " is " + info->state_string() + ", not running");
  }
  if (!suspended(*info)) {
    if (info->paused()) {
      return make_error(
          EINVAL, op, who + " is paused: unpause it first (a paused guest cannot suspend itself)");
    }
    if (auto asked = request_shutdown(domid, abi::ShutdownReason::suspend); !asked) {
      Error error = asked.error();
      error.op = op;
      return tl::unexpected(std::move(error));
    }
  }
  // Bounded wait: shut down with reason suspend and its process reaped.
  const auto deadline = Clock::now() + suspend_timeout;
  for (;;) {
    info = domain_info(domid);
    if (!info) return tl::unexpected(info.error());
    if (info->crashed()) return make_error(EIO, op, who + " crashed while suspending");
    if (suspended(*info) && info->host_pid == 0) break;
    if (info->shutdown() && !suspended(*info)) {
      return make_error(EINVAL, op,
                        who + " shut down (reason " +
                            std::to_string(static_cast<unsigned>(info->shutdown_reason)) +
                            ") instead of suspending");
    }
    if (Clock::now() >= deadline) {
      return make_error(ETIMEDOUT, op,
                        who + " did not suspend within " + std::to_string(suspend_timeout.count()) +
                            " ms; it was not saved and keeps running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  auto record = hv::make_sealed_memfd("shype-toolstack-record", toolstack_record);
  if (!record) return make_error(EIO, op, record.error());
  hv::wire::SaveDomain body;
  body.args.domid = domid;
  body.args.record_size = static_cast<std::uint32_t>(toolstack_record.size());
  const int fds[] = {record->get()};
  auto message = call_ok(op, body, fds);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlSaveDomain>(message->payload);
  if (!out || message->fds.size() != 1) {
    return make_error(EPROTO, op, "response is not a DomctlSaveDomain with one descriptor");
  }
  SavedImage image;
  image.fd = std::move(message->fds.front());
  image.size = out->image_size;
  if (!is_sealed_memfd(image.fd.get()))
    return make_error(EPROTO, op, "the image is not a sealed memfd");
  return image;
}

Result<abi::domid_t> Connection::restore_domain(int image_fd, std::uint32_t ssidref, bool paused) {
  const std::string op = "restore_domain";
  auto image = sealed_image(image_fd, op);
  if (!image) return tl::unexpected(image.error());
  if (image->size == 0) return make_error(EINVAL, op, "the image is empty");
  hv::wire::RestoreDomain body;
  body.args.ssidref = ssidref;
  body.args.flags = paused ? abi::kRestorePaused : 0;
  body.args.image_size = image->size;
  const int fds[] = {image->fd.get()};
  auto message = call_ok(op, body, fds);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlRestoreDomain>(message->payload);
  if (!out) return make_error(EPROTO, op, "response is not a DomctlRestoreDomain");
  return out->domid;
}

}  // namespace shype::xc
