// The guest kernel image: the one place the sandbox decodes it (STYLE.md
// rule 5). launch() copies the image into a sealed memfd first and checks
// that copy, so what runs is exactly what was checked.
#pragma once

#include <string_view>

#include "acm/error.hpp"

namespace shype::sandbox {

// Accepts a static x86-64 ELF executable (ET_EXEC, or ET_DYN without an
// interpreter): 64-bit little-endian, program headers inside the image, at
// least one PT_LOAD, every PT_LOAD's file bytes inside the image, no segment
// both writable and executable, no executable stack, no PT_INTERP (the
// sandbox's root is empty), entry point inside an executable segment.
// Errors (malformed_binary / unsupported) name the field that was wrong.
[[nodiscard]] acm::Status validate_kernel_image(std::string_view image);

}  // namespace shype::sandbox
