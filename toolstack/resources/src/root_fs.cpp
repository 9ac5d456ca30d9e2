#include "resources/root_fs.hpp"

#include <atomic>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "path_walk.hpp"
#include "errno_text.hpp"

namespace shype::resources {
namespace {

// Set once the kernel has said it has no openat2 (ENOSYS), so later opens
// go straight to the walk.
std::atomic<bool> g_openat2_missing{false};

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

RootFs::RootFs(std::filesystem::path root) {
  if (root.empty()) root = "/";
  std::error_code ec;
  auto absolute = std::filesystem::absolute(root, ec);
  if (ec) absolute = root;
  root_ = absolute.lexically_normal();
  // "/tmp/r/" -> "/tmp/r", so that host paths compare and print cleanly.
  const std::string text = root_.string();
  if (text.size() > 1 && text.back() == '/') root_ = text.substr(0, text.size() - 1);
}

std::filesystem::path RootFs::host_path(std::string_view as_written) const {
  // Lexically normal from "/": ".." cannot climb above it.
  const auto in_root = (std::filesystem::path("/") / std::string(as_written)).lexically_normal();
  const auto relative = in_root.relative_path();
  if (relative.empty()) return root_;
  return root_ / relative;
}

Result<std::string> RootFs::from_host_path(const std::filesystem::path& host) const {
  std::error_code ec;
  const auto real_root = std::filesystem::weakly_canonical(root_, ec);
  if (ec)
    return make_error(Errc::io_error,
                      "cannot resolve root " + in_quotes(root_.string()) + ": " + ec.message());
  auto absolute = std::filesystem::absolute(host, ec);
  if (ec)
    return make_error(Errc::io_error,
                      "cannot resolve " + in_quotes(host.string()) + ": " + ec.message());
  const auto real = std::filesystem::weakly_canonical(absolute, ec);
  if (ec)
    return make_error(Errc::io_error,
                      "cannot resolve " + in_quotes(host.string()) + ": " + ec.message());
  const auto relative = real.lexically_relative(real_root);
  if (relative.empty() || *relative.begin() == "..") {
    return make_error(Errc::invalid_argument, in_quotes(host.string()) + " is outside the root " +
                                                  in_quotes(root_.string()));
  }
  if (relative == ".") return std::string("/");
  return "/" + relative.generic_string();
}

Result<UniqueFd> RootFs::open_in_root(std::string_view path, int flags, unsigned mode) const {
  const auto fail = [&](int err) -> Result<UniqueFd> {
    return make_error(err == ENOENT ? Errc::not_found : Errc::io_error,
                      "cannot open " + in_quotes(path) + " in root " + in_quotes(root_.string()) +
                          ": " + errno_text(err));
  };
  if (path.empty() || path.find('\0') != std::string_view::npos) return fail(EINVAL);
  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    return make_error(Errc::io_error,
                      "cannot open root " + in_quotes(root_.string()) + ": " + errno_text(errno));
  }
  const std::string path_text(path);

  if (!g_openat2_missing.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(static_cast<unsigned>(flags | O_CLOEXEC));
    const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
    how.mode = creates ? mode : 0;
    // RESOLVE_IN_ROOT: "/" and ".." stop at the root, absolute symlinks
    // start from it. RESOLVE_NO_MAGICLINKS: no /proc/<pid>/fd jumps out.
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, root.get(), path_text.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    const int err = errno;
    if (err == ENOSYS) {
      g_openat2_missing.store(true, std::memory_order_relaxed);
    } else if (err != EPERM) {
      // EPERM may be a seccomp filter refusing an unknown system call; the
      // walk below either succeeds or reports the real permission error.
      return fail(err);
    }
  }
  auto fd = detail::open_by_walk(root.get(), path_text, flags, mode);
  if (!fd) return fail(fd.error());
  return std::move(*fd);
}

Result<std::string> RootFs::canonical_in_root(std::string_view path, std::string_view cwd,
                                              bool must_exist) const {
  if (path.empty()) return make_error(Errc::invalid_argument, "empty path");
  if (cwd.empty()) cwd = "/";
  if (cwd.front() != '/') {
    return make_error(Errc::invalid_argument,
                      "working directory " + in_quotes(cwd) + " is not an absolute path");
  }
  std::string full =
      path.front() == '/' ? std::string(path) : std::string(cwd) + "/" + std::string(path);

  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    return make_error(Errc::io_error,
                      "cannot open root " + in_quotes(root_.string()) + ": " + errno_text(errno));
  }
  detail::WalkOptions options;
  options.must_exist = must_exist;
  auto walk = detail::walk_in_root(root.get(), full, options);
  if (!walk) {
    return make_error(walk.error() == ENOENT ? Errc::not_found : Errc::io_error,
                      "cannot resolve " + in_quotes(full) + " in root " +
                          in_quotes(root_.string()) + ": " + errno_text(walk.error()));
  }
  return walk->path();
}

}  // namespace shype::resources
