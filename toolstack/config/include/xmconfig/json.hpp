// DomainConfig as JSON: the form xend stores managed domains and running-
// domain records in. to_json and domain_config_from_json invert each other
// exactly (tests/fuzz/fuzz_domain_config.cpp checks it).
//
// Layout: one object whose keys are DomainConfig's field names ("disks",
// "vifs", "vtpms", "access_control" {policy, label}, ...); enums as the
// configuration file spells them ("w!", "rename-restart"); optional fields
// that are unset are left out. docs/domain-config.md shows an example.
#pragma once

#include <nlohmann/json.hpp>

#include "xmconfig/domain_config.hpp"

namespace shype::xmconfig {

[[nodiscard]] nlohmann::json to_json(const DomainConfig& config);

// Strict: unknown keys, wrong types and out-of-range values are errors
// (Errc::invalid_argument, message prefixed with the JSON path such as
// "/disks/0/mode"), and every value passes the same checks as in a
// configuration file. Missing keys take the configuration-file defaults
// except "name" and "kernel", which are required. "cmdline" is derived: it
// may be left out, and if present must equal build_cmdline().
[[nodiscard]] Result<DomainConfig> domain_config_from_json(const nlohmann::json& json);

}  // namespace shype::xmconfig
