// Paths under SHYPE_ROOT (ARCHITECTURE.md 5). Domain configurations and
// resource names are written as on a real Xen host ("kernel =
// '/boot/vmlinuz'", "file:/home/xen/dom_fc5/fedora.fc5.img"); a RootFs
// resolves them inside its root directory, so the manual's own files and
// commands work unchanged under a temporary root, while everything shown to
// the user keeps the path as written.
//
// Two namespaces:
//  - the root's namespace: what users write and what output shows;
//    "/home/xen/x.img" means <root>/home/xen/x.img;
//  - the host namespace: what this process passes to open(2).
//
// Resolution inside the root: symlinks and ".." never leave the root. An
// absolute symlink target is taken relative to the root ("/etc" means
// <root>/etc), ".." at the root stays at the root (as chroot(2) would).
// open_in_root uses openat2(2) with RESOLVE_IN_ROOT; on kernels without it
// (before Linux 5.6: ENOSYS, or EPERM under a seccomp filter) it falls back
// to a per-component walk with the same rules (openat O_NOFOLLOW at every
// step, symlinks read and re-resolved by hand), so the guarantee does not
// depend on the kernel version. canonical_in_root always walks.
//
// Relative paths: canonical_in_root (and resources::canonicalize) take the
// caller's working directory as a path in the root's namespace - xm sends
// its cwd, mapped with from_host_path. xend's own cwd is never used (Xen's
// xend resolved relative names against its own cwd, which was "/").
// host_path and open_in_root have no cwd: a relative path there is relative
// to the root's "/".
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "acm/error.hpp"
#include "resources/unique_fd.hpp"

namespace shype::resources {

using acm::Errc;
using acm::Error;
using acm::Result;
using acm::Status;

class RootFs {
 public:
  // root: a host directory (made absolute and lexically normal). It need not
  // exist yet; operations on it fail with an error naming it.
  explicit RootFs(std::filesystem::path root = "/");

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
  [[nodiscard]] bool is_host_root() const noexcept { return root_ == "/"; }

  // The host path of a path in the root's namespace, lexically ("/a/../b" ->
  // <root>/b; ".." cannot climb above the root). No file system access and
  // no symlink resolution: for display, and for handing a path to a program
  // that cannot use open_in_root. Security-relevant opens use open_in_root.
  [[nodiscard]] std::filesystem::path host_path(std::string_view as_written) const;

  // The inverse for a host path at or under the root (symlinks in either are
  // resolved first where they exist): "<root>/home/xen" -> "/home/xen".
  // invalid_argument when the path lies outside the root.
  [[nodiscard]] Result<std::string> from_host_path(const std::filesystem::path& host) const;

  // open(2) of a path in the root's namespace, resolved inside the root.
  // flags are open(2) flags (O_CLOEXEC is always added); mode is used with
  // O_CREAT. Errors name the path as written and the root: not_found for
  // ENOENT, io_error otherwise.
  [[nodiscard]] Result<UniqueFd> open_in_root(std::string_view path, int flags,
                                              unsigned mode = 0) const;

  // realpath(3) as seen from inside the root: every symlink resolved within
  // the root, "." and ".." removed; the result is an absolute path in the
  // root's namespace, e.g. "/home/xen/dom_fc5/fedora.fc5.img".
  // path: absolute, or relative to cwd (an absolute path in the root's
  // namespace; "" means "/").
  // must_exist = true: every component must exist (not_found otherwise).
  // must_exist = false: components that do not exist are kept as written
  // (Xen's labeling did not require the resource to exist), while the
  // existing part of the path, including symlinks met before and after a
  // missing component ("missing/../link"), is still resolved - as Python's
  // os.path.realpath did.
  [[nodiscard]] Result<std::string> canonical_in_root(std::string_view path, std::string_view cwd,
                                                      bool must_exist) const;

 private:
  std::filesystem::path root_;
};

}  // namespace shype::resources
