// Internal: the kernel image as the launcher executes it.
#pragma once

#include "acm/error.hpp"
#include "sys_util.hpp"

namespace shype::sandbox {

// Reads the image from kernel_fd, validates it (validate_kernel_image) and
// returns a read-only descriptor of a sealed memfd copy whose mode lets
// other users execute but not read it.
[[nodiscard]] acm::Result<UniqueFd> prepare_kernel_image(int kernel_fd);

}  // namespace shype::sandbox
