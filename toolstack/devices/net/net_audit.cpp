#include "net_audit.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shype::devices::net {

std::optional<std::uint64_t> AuditRateLimiter::admit(std::uint32_t pair, Clock::time_point now) {
  auto [it, fresh] = pairs_.try_emplace(pair);
  PairState& state = it->second;
  if (fresh) state.window_start = now;
  // One token back per second since the window started, up to the burst.
  if (now - state.window_start >= std::chrono::seconds{1}) {
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now - state.window_start).count();
    const auto refill = static_cast<std::uint64_t>(seconds);
    state.tokens = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(kBurst, state.tokens + refill));
    state.window_start = now;
  }
  if (state.tokens == 0) {
    ++state.suppressed;
    return std::nullopt;
  }
  --state.tokens;
  const std::uint64_t suppressed = state.suppressed;
  state.suppressed = 0;
  return suppressed;
}

bool AuditRateLimiter::has_pending() const {
  for (const auto& [pair, state] : pairs_) {
    if (state.suppressed > 0) return true;
  }
  return false;
}

namespace {

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string iso8601(std::chrono::system_clock::time_point when) {
  const auto since = when.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds);
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return text;
}

}  // namespace

std::string format_denial(const DenialRecord& record, std::chrono::system_clock::time_point when,
                          std::uint64_t frames, std::uint64_t suppressed) {
  std::string line = "{\"time\":";
  append_json_string(line, iso8601(when));
  line += ",\"bridge\":";
  append_json_string(line, record.bridge);
  line += ",\"from_domid\":" + std::to_string(record.from_domid);
  line += ",\"from_mac\":";
  append_json_string(line, record.from_mac.to_string());
  line += ",\"to_domid\":" + std::to_string(record.to_domid);
  line += ",\"to_mac\":";
  append_json_string(line, record.to_mac.to_string());
  line += ",\"decision\":\"denied\",\"frames\":" + std::to_string(frames);
  line += ",\"suppressed\":" + std::to_string(suppressed) + "}";
  return line;
}

NetAuditLog::NetAuditLog(std::filesystem::path path, std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

void NetAuditLog::denied(const DenialRecord& record) {
  const std::uint32_t pair = pair_key(record);
  last_record_[pair] = record;
  const auto suppressed = limiter_.admit(pair, AuditRateLimiter::Clock::now());
  if (!suppressed) return;
  append(format_denial(record, std::chrono::system_clock::now(), 1 + *suppressed, *suppressed));
}

void NetAuditLog::flush_due() {
  limiter_.take_due(AuditRateLimiter::Clock::now(), [&](std::uint32_t pair, std::uint64_t count) {
    const auto it = last_record_.find(pair);
    if (it == last_record_.end()) return;
    append(format_denial(it->second, std::chrono::system_clock::now(), count, count));
  });
}

void NetAuditLog::append(const std::string& line_without_newline) {
  const std::string line = line_without_newline + "\n";
  if (fd_ && size_ + line.size() > max_bytes_) {
    // Rotate: the previous generation is kept as .1, older ones dropped.
    std::error_code ec;
    std::filesystem::rename(path_, std::filesystem::path(path_.string() + ".1"), ec);
    fd_.reset();
  }
  if (!fd_) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd_) {
      ++write_errors_;
      return;
    }
    struct stat st {};
    size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }
  const ssize_t written = ::write(fd_.get(), line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    ++write_errors_;
    fd_.reset();
    return;
  }
  size_ += line.size();
  ++lines_;
}

}  // namespace shype::devices::net
