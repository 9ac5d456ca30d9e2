#include "xm/format.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

namespace shype::xm {
namespace {

std::string printf_string(const char* format, auto... args) {
  const int size = std::snprintf(nullptr, 0, format, args...);
  std::string out(static_cast<std::size_t>(std::max(size, 0)) + 1, '\0');
  std::snprintf(out.data(), out.size(), format, args...);
  out.resize(static_cast<std::size_t>(std::max(size, 0)));
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string format_list(const Json& list, bool with_label) {
  std::vector<Json> rows(list.at("domains").begin(), list.at("domains").end());
  if (with_label) {
    // Sorted by label, case-insensitively (reference 1.12); Domain-0 and
    // ties by domain id.
    std::stable_sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) {
      return lower(a.value("label", std::string())) < lower(b.value("label", std::string()));
    });
  }
  std::string out = printf_string("%-40s %5s %5s %5s %10s %9s", "Name", "ID", "Mem", "VCPUs",
                                  "State", "Time(s)");
  if (with_label) out += printf_string(" %-10s", "Label");
  out += "\n";
  for (const auto& row : rows) {
    const long long domid = row.value("domid", -1LL);
    // Xen's row format: the time is " %8.1f" under a "%9s" header.
    out += printf_string("%-40s %5lld %5llu %5u %10s %8.1f", row.value("name", std::string()).c_str(),
                         domid, row.value("memory", 0ULL), row.value("vcpus", 1u),
                         row.value("state", std::string("------")).c_str(),
                         row.value("cpu_time", 0.0));
    if (with_label) out += printf_string(" %10s", row.value("label", std::string()).c_str());
    out += "\n";
  }
  return out;
}

std::string format_policy(const Json& policy) {
  std::string subsystems;
  for (const auto& s : policy.value("subsystems", Json::array())) {
    subsystems += s.get<std::string>() + " ";
  }
  if (subsystems.empty()) subsystems = "None";
  std::vector<std::string> states;
  if (policy.value("loaded", false)) states.emplace_back("loaded");
  if (policy.value("boot", false)) states.emplace_back("activated for boot");
  std::string configuration;
  for (const auto& s : states) configuration += (configuration.empty() ? "" : ", ") + s;
  std::string out = "Supported security subsystems   : " + subsystems + "\n\n";
  out += "Policy name           : " + policy.value("name", std::string()) + "\n";
  out += "Policy type           : " + policy.value("type", std::string("ACM")) + "\n";
  out += "Version of XML policy : " + policy.value("version", std::string()) + "\n";
  out += "Policy configuration  : " + configuration + "\n";
  return out;
}

std::string format_resources(const Json& resources) {
  std::string out;
  for (const auto& r : resources.at("resources")) {
    out += r.value("resource", std::string()) + "\n";
    out += "      type: " + r.value("type", std::string()) + "\n";
    out += "    policy: " + r.value("policy", std::string()) + "\n";
    out += "    label:  " + r.value("label", std::string()) + "\n";
  }
  return out;
}

std::string format_dry_run(const Json& report) {
  const Json& domain = report.at("domain");
  std::string out = "Checking domain:\n";
  const bool permitted = domain.value("permitted", false);
  out += "   " + report.value("name", std::string()) + ": " +
         (permitted ? "PERMITTED" : "DENIED") + "\n";
  if (!permitted) out += "   --> " + domain.value("reason", std::string()) + "\n";
  if (!permitted) {
    out += "Checking resources: (skipped)\n";
  } else {
    out += "Checking resources:\n";
    for (const auto& disk : report.value("disks", Json::array())) {
      const bool ok = disk.value("permitted", false);
      out += "   " + disk.value("resource", std::string()) + ": " +
             (ok ? "PERMITTED" : "DENIED") + "\n";
      if (!ok) {
        out += "   --> res: " + disk.value("label", std::string()) + " (" +
               disk.value("label_policy", std::string()) + ")\n";
        out += "   --> dom: " + domain.value("label", std::string()) + " (ACM:" +
               domain.value("policy", std::string()) + ")\n";
      }
    }
  }
  out += report.value("passed", false) ? "Dry Run: PASSED\n" : "Dry Run: FAILED\n";
  return out;
}

std::string format_uptime(const Json& list, long long now) {
  std::string out = printf_string("%-32s %5s %s\n", "Name", "ID", "Uptime");
  for (const auto& row : list.at("domains")) {
    const long long domid = row.value("domid", -1LL);
    if (domid < 0) continue;
    // The hypervisor's own measure of the uptime; else from the start time.
    long long seconds = row.contains("uptime") ? row.value("uptime", 0LL)
                                               : std::max(0LL, now - row.value("start_time", now));
    const long long days = seconds / 86400;
    seconds %= 86400;
    std::string uptime = days > 0 ? printf_string("%lld day%s, ", days, days == 1 ? "" : "s")
                                  : std::string();
    uptime += printf_string("%lld:%02lld:%02lld", seconds / 3600, (seconds / 60) % 60,
                            seconds % 60);
    out += printf_string("%-32s %5lld %s\n", row.value("name", std::string()).c_str(), domid,
                         uptime.c_str());
  }
  return out;
}

std::string format_audit(const Json& records) {
  std::string out;
  for (const auto& r : records.at("records")) {
    if (!r.is_object()) {
      out += r.dump() + "\n";
      continue;
    }
    const auto side = [&](const char* key) {
      const Json& party = r.value(key, Json::object());
      if (!party.is_object()) return std::string("-");
      return party.value("name", std::string("?")) + "(" +
             std::to_string(party.value("domid", 0)) + "," +
             party.value("label", std::string("?")) + ")";
    };
    const auto time_ns = r.value("time_ns", 0LL);
    const std::time_t seconds = static_cast<std::time_t>(time_ns / 1'000'000'000LL);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    out += std::to_string(r.value("seq", 0LL)) + " " + when + " " + r.value("decision", std::string()) +
           " " + r.value("hook", std::string()) + " " + side("subject") + " -> " + side("object") +
           ": " + r.value("reason", std::string()) + "\n";
  }
  return out;
}

}  // namespace shype::xm
