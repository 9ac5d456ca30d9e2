// The vTPM daemons' log (vtpm_managerd, vtpm_migratord): one line per event,
// "2026-01-31T12:00:00Z text", also on stderr in the foreground. A log that
// cannot be written is ignored: the daemon keeps serving.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace shype::vtpm {

class LogFile {
 public:
  LogFile(const std::filesystem::path& path, bool also_stderr) : also_stderr_(also_stderr) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(std::string_view text) const {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ ", &utc);
    const std::string line = std::string(stamp) + std::string(text) + "\n";
    if (fd_ >= 0) (void)!::write(fd_, line.data(), line.size());
    if (also_stderr_) (void)!::write(2, line.data(), line.size());
  }

 private:
  int fd_ = -1;
  bool also_stderr_ = false;
};

}  // namespace shype::vtpm
