#include "hv/proc_stat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <string>

#include "hv/unique_fd.hpp"

namespace shype::hv {

std::optional<ProcessSample> parse_proc_stat(std::string_view text, long clock_ticks_per_second) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || clock_ticks_per_second <= 0) return std::nullopt;
  text.remove_prefix(close + 1);
  // Fields 3.. of proc(5): state is field 3, utime 14, stime 15, processor
  // 39 (the CPU it last ran on; older texts may end before it).
  std::array<std::string_view, 37> fields{};
  std::size_t count = 0;
  while (count < fields.size()) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.empty()) break;
    const std::size_t end = std::min(text.find(' '), text.size());
    fields[count++] = text.substr(0, end);
    text.remove_prefix(end);
  }
  if (count < 13 || fields[0].size() != 1) return std::nullopt;
  const auto number = [](std::string_view s) -> std::optional<std::uint64_t> {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
  };
  const auto utime = number(fields[11]);
  const auto stime = number(fields[12]);
  if (!utime || !stime) return std::nullopt;
  ProcessSample sample;
  sample.state = fields[0][0];
  if (count == fields.size()) {
    if (const auto processor = number(fields[36]); processor && *processor < 1u << 20) {
      sample.processor = static_cast<int>(*processor);
    }
  }
  const auto ticks = static_cast<std::uint64_t>(clock_ticks_per_second);
  const std::uint64_t total = *utime + *stime;
  sample.cpu_time_ns = total / ticks * 1'000'000'000ull + total % ticks * 1'000'000'000ull / ticks;
  return sample;
}

std::optional<ProcessSample> sample_process(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::array<char, 4096> buffer{};
  const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
  if (got <= 0) return std::nullopt;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return parse_proc_stat(std::string_view(buffer.data(), static_cast<std::size_t>(got)), ticks);
}

}  // namespace shype::hv
