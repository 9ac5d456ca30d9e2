// Resolution of a path inside a root directory by walking it one component
// at a time: every step is an openat(O_PATH | O_NOFOLLOW) relative to the
// directory reached so far, symlinks are read and re-resolved by hand
// (absolute targets from the root), and ".." never climbs above the root.
// RootFs::canonical_in_root is built on it, and open_in_root uses it where
// the kernel has no openat2(2). Internal; tests include it to exercise the
// fallback directly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "resources/unique_fd.hpp"

namespace shype::resources::detail {

// Linux's own limit on symlinks followed in one resolution.
inline constexpr int kMaxSymlinks = 40;

struct WalkOptions {
  bool must_exist = true;    // a missing component is ENOENT (else kept as written)
  bool follow_final = true;  // false: a symlink as the last component is not followed
};

struct WalkLevel {
  UniqueFd fd;  // O_PATH
  bool is_dir = false;
};

struct Walk {
  // The resolved components, no symlinks among those that exist.
  std::vector<std::string> components;
  // levels[0] is the root; levels[i] is components[i - 1] while it exists.
  std::vector<WalkLevel> levels;

  // Every component exists (levels cover them all).
  [[nodiscard]] bool exists() const noexcept { return levels.size() == components.size() + 1; }
  // "/" + components joined by "/".
  [[nodiscard]] std::string path() const;
};

// Errors are errno values (ENOENT, ENOTDIR, ELOOP, EACCES, ...).
[[nodiscard]] tl::expected<Walk, int> walk_in_root(int root_fd, std::string_view path,
                                                   const WalkOptions& options);

// open(2) of `path` inside the root with the same rules as openat2's
// RESOLVE_IN_ROOT: O_NOFOLLOW in flags leaves a final symlink unfollowed,
// O_CREAT creates a missing last component in an existing directory.
[[nodiscard]] tl::expected<UniqueFd, int> open_by_walk(int root_fd, std::string_view path,
                                                       int flags, unsigned mode);

}  // namespace shype::resources::detail
