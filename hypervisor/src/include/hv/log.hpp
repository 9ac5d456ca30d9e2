// The hypervisor's log: SHYPE_ROOT/var/log/xen/shype-hv.log, one line per
// event ("2025-01-31T12:00:00.123Z info domain 1 (web) created ..."), and
// stderr too when running in the foreground. Writing never fails the
// caller: a log that cannot be written is counted and otherwise ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace shype::hv {

enum class LogLevel { info, warning, error };

class Log {
 public:
  Log() = default;  // writes nowhere (tests)
  Log(const std::filesystem::path& file, bool also_stderr);
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  ~Log();

  void write(LogLevel level, std::string_view message) noexcept;
  void info(std::string_view message) noexcept { write(LogLevel::info, message); }
  void warning(std::string_view message) noexcept { write(LogLevel::warning, message); }
  void error(std::string_view message) noexcept { write(LogLevel::error, message); }

  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }

 private:
  int fd_ = -1;
  bool also_stderr_ = false;
  std::uint64_t write_errors_ = 0;
};

}  // namespace shype::hv
