// The bridge's audit log of refused frames:
// SHYPE_ROOT/var/log/xen/net-audit.log, one JSON object per line:
//   {"time":"2026-11-23T10:00:00.123Z","bridge":"xenbr0",
//    "from_domid":1,"from_mac":"00:16:3e:..","to_domid":2,"to_mac":"00:16:3e:..",
//    "decision":"denied","frames":1,"suppressed":0}
// "frames" is how many refusals the line stands for: 1, plus the refusals
// of the same pair that the rate limit kept out of the log since its last
// line ("suppressed"). Every refusal is also counted on the sending vif
// (xm network-list), so none is lost silently.
//
// Rate limit per (from, to) pair: a burst of kBurst lines, then one line a
// second; a flood of refusals costs a few lines a second per pair, and the
// file is rotated to net-audit.log.1 past max_bytes, so it cannot fill the
// disk. Lines are appended with one write(2) each.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include "hv/unique_fd.hpp"
#include "mac_address.hpp"
#include "shype/abi.hpp"

namespace shype::devices::net {

struct DenialRecord {
  std::string bridge;
  abi::domid_t from_domid = 0;
  MacAddress from_mac;
  abi::domid_t to_domid = 0;
  MacAddress to_mac;
};

// Which refusals get a line (pure; time passed in).
class AuditRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::uint32_t kBurst = 5;

  // A refusal of pair `pair` at `now`: the number of earlier refusals of the
  // pair it must report as suppressed if it gets a line, or nullopt if it
  // does not (then it is counted as suppressed).
  [[nodiscard]] std::optional<std::uint64_t> admit(std::uint32_t pair, Clock::time_point now);
  // Pairs whose suppressed refusals are due for a summary line at `now`
  // (their window passed): each is reported once and reset.
  template <typename Fn>
  void take_due(Clock::time_point now, Fn&& fn) {
    for (auto& [pair, state] : pairs_) {
      if (state.suppressed > 0 && now - state.window_start >= std::chrono::seconds{1}) {
        fn(pair, state.suppressed);
        state.suppressed = 0;
        state.window_start = now;
        state.tokens = 0;
      }
    }
  }
  [[nodiscard]] bool has_pending() const;

 private:
  struct PairState {
    Clock::time_point window_start;
    std::uint32_t tokens = kBurst;
    std::uint64_t suppressed = 0;
  };
  std::unordered_map<std::uint32_t, PairState> pairs_;
};

// One JSON line (without the newline) for a record standing for `frames`
// refusals, `suppressed` of them not logged before.
[[nodiscard]] std::string format_denial(const DenialRecord& record,
                                        std::chrono::system_clock::time_point when,
                                        std::uint64_t frames, std::uint64_t suppressed);

class NetAuditLog {
 public:
  explicit NetAuditLog(std::filesystem::path path, std::uint64_t max_bytes = 8u << 20);

  // A refused frame: logged now, or counted for the pair's next line.
  void denied(const DenialRecord& record);
  // Writes the summary lines that are due; call about once a second while
  // pending() is true.
  void flush_due();
  [[nodiscard]] bool pending() const { return limiter_.has_pending(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Lines written, and write errors (the log never stops the bridge).
  [[nodiscard]] std::uint64_t lines() const noexcept { return lines_; }
  [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }

 private:
  void append(const std::string& line);
  static std::uint32_t pair_key(const DenialRecord& record) {
    return (static_cast<std::uint32_t>(record.from_domid) << 16) | record.to_domid;
  }

  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  hv::UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t write_errors_ = 0;
  AuditRateLimiter limiter_;
  std::unordered_map<std::uint32_t, DenialRecord> last_record_;  // for summary lines
};

}  // namespace shype::devices::net
