// shype-hv start | stop | status (ARCHITECTURE 5): one hypervisor per
// SHYPE_ROOT, found through files under it:
//   run/shype/shype-hv.lock   an OFD write lock held while a hypervisor runs
//   run/shype/shype-hv.pid    its pid (written atomically once it serves)
//   run/shype/privcmd.sock    the privileged socket
//   var/log/xen/shype-hv.log  its log; audit.log the audit records;
//   var/log/xen/console/<name>.log  each domain's console
//   etc/shype/boot.conf       the boot configuration (boot_config.hpp)
// Each command prints what happened on stderr and returns the exit status.
#pragma once

#include <filesystem>

namespace shype::hv {

// 0 started (the socket answers); 1 failure (already running, bad boot
// configuration, no answer within the bounded wait).
int start_command(const std::filesystem::path& root, bool foreground);
// 0 stopped (or was not running); 1 failure.
int stop_command(const std::filesystem::path& root);
// 0 running and answering xen_version; 3 not running (LSB).
int status_command(const std::filesystem::path& root);

}  // namespace shype::hv
