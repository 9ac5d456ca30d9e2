// One owner per file descriptor: the hypervisor's own UniqueFd
// (hypervisor/src/include/hv/unique_fd.hpp, exported by shype_hv_wire).
#pragma once

#include "hv/unique_fd.hpp"

namespace shype::resources {

using UniqueFd = hv::UniqueFd;

}  // namespace shype::resources
