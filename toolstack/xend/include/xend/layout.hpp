// Where xend keeps things under SHYPE_ROOT (ARCHITECTURE 5; manual 10.3.1;
// reference xen-acm-tools.md 2.2):
//   etc/xen/acm-security/policies/   administrators' policies (a.b.c ->
//                                    a/b/c-security_policy.xml); setpolicy reads here
//   var/lib/xend/security/policies/  the managed store: the active policy's XML,
//                                    .map and .bin, DEFAULT, resource_labels
//   var/lib/xend/domains/            running-domain records and managed domains
//   boot/<a.b.c>.bin                 the boot copy of the policy ("activated for boot")
//   etc/shype/boot.conf              the hypervisor's boot configuration (the grub line)
//   run/xend/xend.sock               xm's socket (mode 0600); xend.lock, xend.pid
//   var/log/xen/xend.log             the log
#pragma once

#include <filesystem>
#include <string_view>

namespace shype::xend {

struct Layout {
  std::filesystem::path root;
  std::filesystem::path admin_policies;
  std::filesystem::path store;
  std::filesystem::path resource_labels;
  std::filesystem::path running_domains;
  std::filesystem::path managed_domains;
  std::filesystem::path boot_dir;
  std::filesystem::path boot_conf;
  std::filesystem::path run_dir;
  std::filesystem::path socket;
  std::filesystem::path lock;
  std::filesystem::path pid;
  std::filesystem::path log;

  explicit Layout(const std::filesystem::path& r)
      : root(r),
        admin_policies(r / "etc/xen/acm-security/policies"),
        store(r / "var/lib/xend/security/policies"),
        resource_labels(store / "resource_labels"),
        running_domains(r / "var/lib/xend/domains/running"),
        managed_domains(r / "var/lib/xend/domains/managed"),
        boot_dir(r / "boot"),
        boot_conf(r / "etc/shype/boot.conf"),
        run_dir(r / "run/xend"),
        socket(run_dir / "xend.sock"),
        lock(run_dir / "xend.lock"),
        pid(run_dir / "xend.pid"),
        log(r / "var/log/xen/xend.log") {}
};

// The socket xm uses for a root.
[[nodiscard]] inline std::filesystem::path xend_socket(const std::filesystem::path& root) {
  return root / "run/xend/xend.sock";
}

// vtpm_managerd's socket under a root (vtpm/include/vtpm/layout.hpp).
[[nodiscard]] inline std::filesystem::path vtpm_manager_socket(const std::filesystem::path& root) {
  return root / "run/vtpm/vtpm_managerd.sock";
}

}  // namespace shype::xend
