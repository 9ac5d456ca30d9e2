#include "path_walk.hpp"

#include <cerrno>
#include <deque>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shype::resources::detail {
namespace {

std::deque<std::string> split_components(std::string_view path) {
  std::deque<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/')
      ++i;
    const std::size_t start = i;
    while (i < path.size() && path[i] != '/')
      ++i;
    if (i > start) out.emplace_back(path.substr(start, i - start));
  }
  return out;
}

// The target of the symlink open as `link` (O_PATH | O_NOFOLLOW). readlinkat
// with an empty name reads the link the descriptor refers to.
tl::expected<std::string, int> read_link(int link) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlinkat(link, "", buf.data(), buf.size());
    if (n < 0) return tl::unexpected(errno);
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (buf.size() >= 65536) return tl::unexpected(ENAMETOOLONG);
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

std::string Walk::path() const {
  if (components.empty()) return "/";
  std::string out;
  for (const auto& c : components) {
    out += '/';
    out += c;
  }
  return out;
}

tl::expected<Walk, int> walk_in_root(int root_fd, std::string_view path,
                                     const WalkOptions& options) {
  if (path.find('\0') != std::string_view::npos) return tl::unexpected(EINVAL);
  Walk walk;
  UniqueFd root(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!root) return tl::unexpected(errno);
  walk.levels.push_back(WalkLevel{std::move(root), true});

  std::deque<std::string> pending = split_components(path);
  int symlinks = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == ".") continue;

    // Where we stand: an existing directory, an existing non-directory, or
    // somewhere below a component that does not exist.
    const bool at_existing = walk.exists();
    const bool in_directory = at_existing && walk.levels.back().is_dir;

    if (name == "..") {
      if (at_existing && !in_directory && options.must_exist) return tl::unexpected(ENOTDIR);
      // At the root, ".." is the root (as after chroot).
      if (!walk.components.empty()) {
        if (at_existing) walk.levels.pop_back();
        walk.components.pop_back();
      }
      continue;
    }
    if (!in_directory) {
      if (options.must_exist) return tl::unexpected(at_existing ? ENOTDIR : ENOENT);
      walk.components.push_back(std::move(name));  // kept as written
      continue;
    }

    UniqueFd next(
        ::openat(walk.levels.back().fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      if (errno == ENOENT && !options.must_exist) {
        walk.components.push_back(std::move(name));
        continue;
      }
      return tl::unexpected(errno);
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return tl::unexpected(errno);

    if (S_ISLNK(st.st_mode) && (options.follow_final || !pending.empty())) {
      if (++symlinks > kMaxSymlinks) return tl::unexpected(ELOOP);
      auto target = read_link(next.get());
      if (!target) return tl::unexpected(target.error());
      if (target->empty()) return tl::unexpected(ENOENT);
      auto parts = split_components(*target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      if ((*target)[0] == '/') {  // absolute: from the root, never the host's "/"
        walk.components.clear();
        walk.levels.resize(1);
      }
      continue;
    }
    walk.components.push_back(std::move(name));
    walk.levels.push_back(WalkLevel{std::move(next), S_ISDIR(st.st_mode)});
  }
  return walk;
}

tl::expected<UniqueFd, int> open_by_walk(int root_fd, std::string_view path, int flags,
                                         unsigned mode) {
  WalkOptions options;
  options.must_exist = (flags & O_CREAT) == 0;
  options.follow_final = (flags & O_NOFOLLOW) == 0;
  auto walk = walk_in_root(root_fd, path, options);
  if (!walk) return tl::unexpected(walk.error());

  const auto open_at = [&](int dir, const char* name) -> tl::expected<UniqueFd, int> {
    // O_NOFOLLOW: the walk resolved every symlink it was asked to follow; a
    // symlink appearing here now was put there since, and is refused.
    UniqueFd fd(::openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode)));
    if (!fd) return tl::unexpected(errno);
    return fd;
  };
  if (walk->components.empty()) return open_at(walk->levels.front().fd.get(), ".");
  if (walk->exists()) {
    const auto& parent = walk->levels[walk->levels.size() - 2];
    return open_at(parent.fd.get(), walk->components.back().c_str());
  }
  // Only the last component is missing and its directory exists: O_CREAT.
  if ((flags & O_CREAT) != 0 && walk->levels.size() == walk->components.size() &&
      walk->levels.back().is_dir) {
    return open_at(walk->levels.back().fd.get(), walk->components.back().c_str());
  }
  return tl::unexpected(walk->levels.back().is_dir ? ENOENT : ENOTDIR);
}

}  // namespace shype::resources::detail
