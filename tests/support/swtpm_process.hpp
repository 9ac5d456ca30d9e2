// A bare swtpm (TPM 2.0) on Unix sockets under a directory, for tests and
// benchmarks that need a TPM of their own: the stand-in for the platform
// TPM (a hardware TPM through device:/dev/tpmrm0 in production), or a
// baseline. Powered on and started (TPM2_Startup(CLEAR) done by swtpm).
// Stopped by pid in the destructor, also when the test fails; every wait is
// bounded.
#pragma once

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace shype::testing {

class SwtpmProcess {
 public:
  // Starts swtpm (`program`, else $SHYPE_SWTPM, else swtpm on PATH) with its
  // state in `dir` (created), and waits up to 5 s for its sockets. Throws
  // std::runtime_error if it does not come up. The state in `dir` is kept,
  // so a second SwtpmProcess on the same directory is the same TPM after a
  // power cycle.
  explicit SwtpmProcess(std::filesystem::path dir, std::string program = {});
  SwtpmProcess(const SwtpmProcess&) = delete;
  SwtpmProcess& operator=(const SwtpmProcess&) = delete;
  ~SwtpmProcess();

  // The tpm2-tss TCTI configuration: "swtpm:path=<dir>/tpm.sock".
  [[nodiscard]] std::string tcti() const;
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // SIGTERM, then SIGKILL after 2 s; idempotent.
  void stop();

  // Whether a swtpm program can be found (tests skip with a message if not).
  [[nodiscard]] static bool available();

 private:
  std::filesystem::path dir_;
  pid_t pid_ = 0;
};

}  // namespace shype::testing
