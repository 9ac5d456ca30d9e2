// The hypervisor's hot-path status (STYLE.md rule 10): a small enum whose
// value IS the ABI's result, a negative errno as in Xen (abi.hpp). Anything
// that answers a hypercall returns one of these; richer Result types with
// context are for start-up, configuration and tools.
#pragma once

#include <cerrno>
#include <cstdint>

namespace shype::hv {

enum class [[nodiscard]] Errno : std::int32_t {
  ok = 0,
  perm = -EPERM,            // Domain-0 only, or not allowed on this domain
  noent = -ENOENT,
  srch = -ESRCH,            // no such domain
  toobig = -E2BIG,
  badf = -EBADF,            // a descriptor is missing or of the wrong kind
  again = -EAGAIN,          // try later (a queue is full)
  nomem = -ENOMEM,
  acces = -EACCES,          // the security policy denies (XSM), or ACM interface mismatch
  fault = -EFAULT,          // a policy refused by the ACM (Xen's code)
  busy = -EBUSY,
  exist = -EEXIST,          // a domain name already in use
  inval = -EINVAL,          // an argument out of range (the reason names it)
  nospc = -ENOSPC,          // no domain id left
  nametoolong = -ENAMETOOLONG,
  nosys = -ENOSYS,          // unknown op or sub-command, or not in this stage
  proto = -EPROTO,          // the message cannot be framed
  protonosupport = -EPROTONOSUPPORT,  // another ABI major version
  msgsize = -EMSGSIZE,
  overflow = -EOVERFLOW,
  opnotsupp = -EOPNOTSUPP,  // the host cannot do it (no cpu cgroup for a domain)
  timedout = -ETIMEDOUT,
  io = -EIO,
};

[[nodiscard]] constexpr std::int32_t to_wire(Errno status) noexcept {
  return static_cast<std::int32_t>(status);
}
// A negative errno from another layer (XSM hooks, syscalls); 0 is ok.
[[nodiscard]] constexpr Errno from_negative_errno(int value) noexcept {
  return static_cast<Errno>(value > 0 ? -value : value);
}
[[nodiscard]] constexpr Errno from_errno(int positive) noexcept {
  return static_cast<Errno>(-positive);
}
[[nodiscard]] constexpr bool failed(Errno status) noexcept { return status != Errno::ok; }

// "EINVAL", "EPERM", ... ("E?" for a value without a name).
[[nodiscard]] const char* errno_name(Errno status) noexcept;

}  // namespace shype::hv
