// The built-in DEFAULT policy: policies/DEFAULT-security_policy.xml compiled
// by acmtool (compact format) when shype is built and embedded by
// cmake/EmbedText.cmake, because the hypervisor never parses XML.
#pragma once

#include <string_view>

namespace shype::embedded {
extern const std::string_view kDefaultPolicy;
}  // namespace shype::embedded
