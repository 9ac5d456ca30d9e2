// The life cycle of a shype daemon (ARCHITECTURE 5: `shype-hv` and `xend`
// start|stop|restart|status under SHYPE_ROOT). One instance runs per root:
// its lock file carries an open-file-description write lock for as long as
// the daemon lives, so a second start is refused and a crashed daemon leaves
// no stale lock. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "acm/error.hpp"

namespace shype::daemon {

struct Identity {
  std::string name;                    // "xend": prefixes every message
  std::filesystem::path lock;          // e.g. run/xend/xend.lock
  std::filesystem::path pid;           // e.g. run/xend/xend.pid
  std::filesystem::path socket;        // removed by stop if the daemon had to be killed
};

// Prints "<name>: <text>" on stderr.
void say(const Identity& id, const std::string& text);

// --- inside a starting daemon's `serve` ---
class ReadyReport;
// A start that cannot go on: reported to the waiting `start`, said on
// stderr in the foreground. Returns 1, the daemon's exit status.
int fail_start(const Identity& id, ReadyReport& report, const std::string& why);
// The daemon serves: reported, and "running (pid N)" in the foreground.
void announce_running(const Identity& id, ReadyReport& report);
// Blocks SIGTERM and SIGINT (and SIGCHLD with `children`) and returns a
// non-blocking signalfd for them; SIGPIPE is ignored. -1 on failure.
[[nodiscard]] int stop_signal_fd(bool children = false);
// A daemon that stops removes its socket and pid file.
void remove_run_files(const Identity& id);

// The held instance lock (closing it releases the lock).
class InstanceLock {
 public:
  // Errors: io_error (cannot open) or invalid_argument "already running"
  // (message names the pid if known).
  [[nodiscard]] static acm::Result<InstanceLock> acquire(const Identity& id);
  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&& other) noexcept;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

[[nodiscard]] bool lock_held(const Identity& id);
[[nodiscard]] std::optional<pid_t> read_pid(const Identity& id);
[[nodiscard]] acm::Status write_pid(const Identity& id);

// Reports readiness from the daemon to the waiting `start` (once).
class ReadyReport {
 public:
  explicit ReadyReport(int fd) : fd_(fd) {}
  ReadyReport(const ReadyReport&) = delete;
  ReadyReport& operator=(const ReadyReport&) = delete;
  ~ReadyReport();
  void ready();
  void failed(const std::string& why);
  [[nodiscard]] bool foreground() const noexcept { return fd_ < 0; }

 private:
  int fd_ = -1;
};

struct StartOptions {
  bool foreground = false;
  std::chrono::milliseconds wait{15'000};
  // Polled after the daemon reported ready until it returns true (bounded by
  // `wait`); e.g. "the socket answers".
  std::function<bool()> answers;
};

// Forks the daemon (own session, stdio on /dev/null) and runs `serve` in it,
// which must call report.ready() once it serves (or report.failed(why)),
// then returns the daemon's exit status. The parent waits (bounded) for the
// report and for `answers`, and returns 0 started / 1 failure. With
// options.foreground, `serve` runs in this process.
int start(const Identity& id, const StartOptions& options,
          const std::function<int(ReadyReport&)>& serve);

// SIGTERM to the pid through a pidfd, wait up to `wait`, then SIGKILL (5 s
// more). 0 stopped or not running; 1 failure.
int stop(const Identity& id, std::chrono::milliseconds wait = std::chrono::milliseconds(15'000));

// 0 when the lock is held by a live pid and `answers` returns true; 3 (LSB
// "not running") otherwise. `describe` (optional) adds text to the message.
int status(const Identity& id, const std::function<acm::Result<std::string>()>& probe);

// A daemon program's commands: "start" (0 with "already running" when it
// is), "stop", "restart" (stop, then start) and "status" (with `probe`).
// nullopt for any other command: the caller prints its usage.
[[nodiscard]] std::optional<int> run_command(std::string_view command, const Identity& id,
                                             const StartOptions& options,
                                             const std::function<int(ReadyReport&)>& serve,
                                             const std::function<acm::Result<std::string>()>& probe);

}  // namespace shype::daemon
