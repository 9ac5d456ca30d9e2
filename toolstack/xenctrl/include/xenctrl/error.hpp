// Errors of the Domain-0 client library: the errno the hypervisor returned
// (or the local system call failed with), the operation, and the
// hypervisor's reason when it gave one, e.g.
//   "createdomain: Permission denied (EACCES): domain 'b' ... refused ..."
#pragma once

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "shype/xsm_op.hpp"

namespace shype::xc {

struct Error {
  int code = 0;         // a positive errno (EACCES, ESRCH, ETIMEDOUT, ...)
  std::string op;       // "createdomain", "setpolicy", "connect", ...
  std::string message;  // the hypervisor's reason, or local detail ("" if none)
  // setpolicy / chgpolicy / relabeldoms: the re-check's error tuples.
  std::vector<abi::AcmErrorTuple> acm_errors;

  // "<op>: <strerror> (<ENAME>)[: <message>]"
  [[nodiscard]] std::string to_string() const;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

[[nodiscard]] inline tl::unexpected<Error> make_error(int code, std::string op,
                                                      std::string message = {}) {
  return tl::unexpected(Error{code, std::move(op), std::move(message), {}});
}

// The text of a positive errno (thread-safe, unlike std::strerror).
[[nodiscard]] std::string errno_text(int err);

}  // namespace shype::xc
