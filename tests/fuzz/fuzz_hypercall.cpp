// Property fuzzer for the hypercall codec (STYLE.md rule 12). Input: one
// control byte, then the datagram. The control byte's low three bits say
// how many descriptors came with the datagram (0..7: real descriptors of
// /dev/null, so closing them is real). Every input is decoded twice, as a
// guest's and as Domain-0's. For every input:
//  - decoding never crashes (ASan/UBSan watch the decoder);
//  - an accepted request re-encodes to exactly the datagram, holds exactly
//    the descriptors its op takes, and is never a Domain-0 op from a guest
//    (xsm_op resource_access and frame_access, the driver domains'
//    questions, are the only xsm_ops a guest may send);
//  - a rejection carries a negative errno; a protocol violation carries no
//    header to answer, any other rejection does;
//  - every descriptor is closed once the decode result is gone, whatever
//    happened (no leaks).
// Any violation aborts.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "hv/wire.hpp"

namespace {

using namespace shype;
using namespace shype::hv;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_hypercall: property violated: %s\n", property);
  std::abort();
}

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

void check(std::span<const std::uint8_t> datagram, unsigned fd_count, wire::Caller caller) {
  std::vector<UniqueFd> fds;
  std::vector<int> numbers;
  for (unsigned i = 0; i < fd_count; ++i) {
    fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fds.back()) violated("could not open /dev/null");
    numbers.push_back(fds.back().get());
  }
  {
    const wire::Decoded decoded = wire::decode_request(datagram, std::move(fds), caller);
    if (decoded) {
      const wire::Request& request = *decoded;
      if (wire::encode_request(request.header.seq, request.body) !=
          std::vector<std::uint8_t>(datagram.begin(), datagram.end())) {
        violated("an accepted request does not re-encode to the same bytes");
      }
      if (request.fds.size() != wire::fd_count_of(request.body)) {
        violated("an accepted request holds the wrong number of descriptors");
      }
      const auto [op, subop] = wire::op_of(request.body);
      // The xsm_ops a guest may send are resource_access and frame_access
      // (a driver domain asks them about its clients; the hypervisor checks
      // the channels), nothing else.
      const bool guest_xsm_op_allowed =
          op == abi::Op::xsm_op &&
          (subop == static_cast<std::uint32_t>(abi::AcmOp::resource_access) ||
           subop == static_cast<std::uint32_t>(abi::AcmOp::frame_access));
      if (caller == wire::Caller::guest &&
          (op == abi::Op::domctl || op == abi::Op::sysctl ||
           (op == abi::Op::xsm_op && !guest_xsm_op_allowed))) {
        violated("a guest got a Domain-0 op through");
      }
      for (const auto& fd : request.fds) {
        if (!is_open(fd.get())) violated("an accepted descriptor was closed");
      }
    } else {
      const wire::Rejection& rejection = decoded.error();
      if (to_wire(rejection.status) >= 0) violated("a rejection without an errno");
      if (rejection.protocol_violation == rejection.header.has_value()) {
        violated("a violation with a header, or a rejection without one");
      }
      if (rejection.reason.empty()) violated("a rejection without a reason");
    }
  }
  for (int fd : numbers) {
    if (is_open(fd)) violated("a descriptor leaked");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::span<const std::uint8_t> datagram(data + 1, size - 1);
  const unsigned fd_count = control & 7u;
  // Both callers see every input: the privilege check must hold either way.
  check(datagram, fd_count, wire::Caller::guest);
  check(datagram, fd_count, wire::Caller::domain0);
  return 0;
}
