// Domain-0's in-process view of xenstore (the store itself: xenstore.hpp).
// Backends and xend use it; every operation runs as Domain-0, which may do
// anything. Errors are errno values (ENOENT, EINVAL, EACCES, E2BIG...),
// exactly as a guest would get them by name in XS_ERROR.
//
// Thread: the device thread only (device_loop.hpp). Watch callbacks run on
// it, after the operation that fired them has returned.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "shype/abi.hpp"

namespace shype::devices {

template <typename T>
using XsResult = tl::expected<T, int>;  // int: a positive errno
using XsStatus = tl::expected<void, int>;

enum class XsAccess : std::uint8_t { none, read, write, both };

// One permission ("n0", "r5", "w5", "b5"). In a list the first names the
// owner and the access of every domain not listed (xs_wire.hpp).
struct XsPerm {
  abi::domid_t domid = 0;
  XsAccess access = XsAccess::none;
  friend bool operator==(const XsPerm&, const XsPerm&) = default;
};
using XsPerms = std::vector<XsPerm>;

[[nodiscard]] std::string format_perm(const XsPerm& perm);
[[nodiscard]] XsResult<XsPerm> parse_perm(std::string_view text);

using WatchId = std::uint64_t;
// Called with the path that changed (the watched node or one below it).
using WatchFn = std::function<void(const std::string& path)>;

class StoreClient {
 public:
  virtual ~StoreClient() = default;
  [[nodiscard]] virtual XsResult<std::string> read(std::string_view path) = 0;
  // Creates missing parents (owned like their parent, as Xen does).
  [[nodiscard]] virtual XsStatus write(std::string_view path, std::string_view value) = 0;
  [[nodiscard]] virtual XsStatus mkdir(std::string_view path) = 0;
  // The node and everything below it; ENOENT if it does not exist.
  [[nodiscard]] virtual XsStatus rm(std::string_view path) = 0;
  [[nodiscard]] virtual XsResult<std::vector<std::string>> directory(std::string_view path) = 0;
  [[nodiscard]] virtual XsResult<XsPerms> get_perms(std::string_view path) = 0;
  [[nodiscard]] virtual XsStatus set_perms(std::string_view path, const XsPerms& perms) = 0;
  // Fires once right away (as Xen does) and whenever `path` or a node below
  // it is written, created or removed.
  [[nodiscard]] virtual WatchId watch(std::string_view path, WatchFn fn) = 0;
  virtual void unwatch(WatchId id) = 0;
};

}  // namespace shype::devices
