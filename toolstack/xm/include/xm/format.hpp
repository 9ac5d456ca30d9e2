// xm's output: the layouts of the manual's transcripts and of Xen 3.3's xm
// (reference xen-acm-tools.md 1), built from xend's JSON answers. Pure
// functions, so tests check them without a daemon.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace shype::xm {

using Json = nlohmann::json;

// `xm list`, `xm list --label`: xend's domain.list result.
[[nodiscard]] std::string format_list(const Json& list, bool with_label);
// `xm getpolicy`: xend's policy.get result.
[[nodiscard]] std::string format_policy(const Json& policy);
// `xm resources`: xend's resource.list result.
[[nodiscard]] std::string format_resources(const Json& resources);
// `xm dry-run`: xend's domain.dry_run result.
[[nodiscard]] std::string format_dry_run(const Json& report);
// `xm uptime`: xend's domain.list result and the current time (s since epoch).
[[nodiscard]] std::string format_uptime(const Json& list, long long now);
// `xm audit`: xend's audit.read result, one line per record.
[[nodiscard]] std::string format_audit(const Json& records);

}  // namespace shype::xm
