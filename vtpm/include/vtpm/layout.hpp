// Where the vTPM manager keeps things under SHYPE_ROOT (default "/"):
//   var/lib/vtpm/registry.json          the bindings (registry.hpp), written atomically
//   var/lib/vtpm/manager-key.sealed     the manager key, sealed to the platform TPM
//   var/lib/vtpm/manifest.json          generations and NV counter value (MACed)
//   var/lib/vtpm/instances/<N>/saved/   instance N's protected state (manager-owned, 0700):
//                                       instance.key, tpm2-00.permall, tpm2-00.volatilestate,
//                                       each an AES-256-GCM blob (state_store.hpp)
//   run/vtpm/<N>/state/                 the worker's own (plaintext) state directory
//                                       (0700, the worker's uid), rebuilt from saved/
//                                       at each start; run/ is a tmpfs in production
//   var/lib/vtpm/ca/                    the manager's local CA (local_ca.hpp): ca-key.pem
//                                       (0600), ca-cert.pem
//   var/lib/vtpm/instances/<N>/ek-cert.pem, ek-public.bin
//                                       instance N's EK certificate and public key
//                                       (TPM2B_PUBLIC), kept from its manufacturing
//   run/vtpm/vtpm_managerd.sock         vtpmctl's JSON-RPC socket (0600); .lock, .pid
//   run/vtpm/<N>/tpm.sock               instance N's TPM (swtpm protocol, 0600);
//   run/vtpm/<N>/tpm.sock.ctrl          its control channel; swtpm.log its log
//   var/log/vtpm/vtpm_managerd.log      the manager's log
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace shype::vtpm {

struct Layout {
  std::filesystem::path root;
  std::filesystem::path state_dir;
  std::filesystem::path registry;
  std::filesystem::path run_dir;
  std::filesystem::path socket;
  std::filesystem::path lock;
  std::filesystem::path pid;
  std::filesystem::path log;

  explicit Layout(const std::filesystem::path& r)
      : root(r),
        state_dir(r / "var/lib/vtpm"),
        registry(state_dir / "registry.json"),
        run_dir(r / "run/vtpm"),
        socket(run_dir / "vtpm_managerd.sock"),
        lock(run_dir / "vtpm_managerd.lock"),
        pid(run_dir / "vtpm_managerd.pid"),
        log(r / "var/log/vtpm/vtpm_managerd.log") {}

  [[nodiscard]] std::filesystem::path instance_dir(std::uint32_t n) const {
    return state_dir / "instances" / std::to_string(n);
  }
  [[nodiscard]] std::filesystem::path ca_dir() const { return state_dir / "ca"; }
  [[nodiscard]] std::filesystem::path ek_cert(std::uint32_t n) const {
    return instance_dir(n) / "ek-cert.pem";
  }
  [[nodiscard]] std::filesystem::path ek_public(std::uint32_t n) const {
    return instance_dir(n) / "ek-public.bin";
  }
  [[nodiscard]] std::filesystem::path saved_dir(std::uint32_t n) const {
    return instance_dir(n) / "saved";
  }
  // Plaintext TPM state lives only here, never under var/lib.
  [[nodiscard]] std::filesystem::path work_dir(std::uint32_t n) const {
    return instance_run_dir(n) / "state";
  }
  [[nodiscard]] std::filesystem::path instance_run_dir(std::uint32_t n) const {
    return run_dir / std::to_string(n);
  }
  [[nodiscard]] std::filesystem::path tpm_socket(std::uint32_t n) const {
    return instance_run_dir(n) / "tpm.sock";
  }
  [[nodiscard]] std::filesystem::path ctrl_socket(std::uint32_t n) const {
    return instance_run_dir(n) / "tpm.sock.ctrl";
  }
  // The tpm2-tss TCTI configuration string for instance n (tpm2-tools -T or
  // TPM2TOOLS_TCTI): the swtpm TCTI on the instance's Unix socket.
  [[nodiscard]] std::string tcti(std::uint32_t n) const {
    return "swtpm:path=" + tpm_socket(n).string();
  }
};

// The root from SHYPE_ROOT (default "/").
[[nodiscard]] std::filesystem::path root_from_environment();

// The platform TPM the manager anchors its instances in (sealing, deep
// quotes), as a tpm2-tss TCTI configuration: $SHYPE_VTPM_PLATFORM_TCTI, else
// "device:/dev/tpmrm0" (the kernel's resource manager on a hardware TPM).
// Tests and the demo point it at a swtpm.
[[nodiscard]] std::string platform_tcti_from_environment();

}  // namespace shype::vtpm
