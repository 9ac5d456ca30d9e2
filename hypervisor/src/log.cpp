#include "hv/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace shype::hv {
namespace {

std::string timestamp() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[24];
  std::snprintf(millis, sizeof millis, ".%03ldZ", now.tv_nsec / 1'000'000);
  return std::string(text, n) + millis;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
  }
  return "?";
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Log::Log(const std::filesystem::path& file, bool also_stderr)
    : fd_(::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)),
      also_stderr_(also_stderr) {}

Log::~Log() {
  if (fd_ >= 0) ::close(fd_);
}

void Log::write(LogLevel level, std::string_view message) noexcept {
  try {
    std::string line = timestamp();
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += message;
    line += '\n';
    // One write per line with O_APPEND: lines never interleave.
    if (fd_ >= 0 && !write_all(fd_, line)) ++write_errors_;
    if (also_stderr_) {
      std::string tagged = "shype-hv: " + line.substr(line.find(' ') + 1);
      (void)write_all(STDERR_FILENO, tagged);
    }
  } catch (...) {
    ++write_errors_;  // out of memory while formatting: drop the line
  }
}

}  // namespace shype::hv
