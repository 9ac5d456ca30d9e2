// One running vTPM instance = one worker process: Debian's swtpm (libtpms
// holds one TPM per process), started confined:
//  - its own process and session, an empty environment, stdin/stdout/stderr
//    on /dev/null and no other inherited descriptor than its two directories;
//  - it reaches the file system only through those two descriptors (its state
//    directory and its socket directory, passed as /proc/self/fd/3 and 4);
//  - when the manager runs as root, its own uid and gid (kWorkerUidBase + N)
//    that own only its two directories (0700), no supplementary groups, so it
//    cannot open another instance's files;
//  - no new privileges, no core dumps, swtpm's seccomp filter (action=kill),
//    and SIGKILL when the manager dies (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include <sys/types.h>

#include "acm/error.hpp"

namespace shype::vtpm {

inline constexpr std::uint32_t kWorkerUidBase = 400000;

struct WorkerSpec {
  std::uint32_t instance = 0;
  std::filesystem::path swtpm;      // the swtpm program
  std::filesystem::path state_dir;  // the worker's work/ directory (exists)
  std::filesystem::path run_dir;    // its socket directory (exists)
  std::filesystem::path ctrl_socket;
  bool drop_privileges = false;  // use kWorkerUidBase + instance
};

// The uid/gid a worker runs as (the manager's own when not root).
[[nodiscard]] uid_t worker_uid(std::uint32_t instance, bool drop_privileges) noexcept;

// Starts the worker and waits (bounded by `timeout`) until its control
// channel answers. On error no process is left behind; the error includes
// the end of swtpm's log if it exited.
[[nodiscard]] acm::Result<pid_t> launch_worker(const WorkerSpec& spec,
                                               std::chrono::milliseconds timeout);

// Waits up to `timeout` for `pid` to exit (reaping it), then SIGKILLs and
// reaps it. Returns true if it exited by itself.
bool reap_worker(pid_t pid, std::chrono::milliseconds timeout);

// The swtpm program: $SHYPE_SWTPM, else swtpm found on PATH, else
// /usr/bin/swtpm.
[[nodiscard]] std::filesystem::path find_swtpm();

}  // namespace shype::vtpm
