// xm's label commands for configuration files (reference 1.3-1.5), on text.
// The line rules are Xen 3.3's regular expressions, written out:
//   labeled:      ^\s*access_control\s*=   (re.IGNORECASE)
//   entry start:  ^access_control\s*=      (re.IGNORECASE)
//   entry end:    .*'\].*
// and lines are what Python's readlines() returns (split after each '\n').
#include "xmconfig/label_editing.hpp"

#include <utility>
#include <vector>

#include "text.hpp"
#include "xmconfig/config_file.hpp"

namespace shype::xmconfig {
namespace {

using acm::Errc;
using acm::make_error;
using detail::is_python_space;

constexpr std::string_view kVariable = "access_control";
constexpr std::string_view kNotLabeled = "Domain not labeled";

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

// `access_control` optional-whitespace `=` at the start of `line`.
bool assigns_access_control(std::string_view line) {
  if (!equals_ignoring_case(line.substr(0, kVariable.size()), kVariable)) return false;
  std::size_t i = kVariable.size();
  while (i < line.size() && is_python_space(line[i]))
    ++i;
  return i < line.size() && line[i] == '=';
}

bool starts_entry(std::string_view line) {
  return assigns_access_control(line);
}

bool ends_entry(std::string_view line) {
  return line.find("']") != std::string_view::npos;
}

// Characters that would break the entry `['policy=P,label=L']` or its
// parsing (reference 2.1 splits on ',' and '=' and strips whitespace).
std::string check_entry_name(std::string_view what, std::string_view name) {
  if (name.empty()) return std::string(what) + " name is empty";
  if (is_python_space(name.front()) || is_python_space(name.back())) {
    return std::string(what) + " name " + detail::quoted(name) + " has surrounding whitespace";
  }
  for (char c : name) {
    if (c == '\'' || c == '\\' || c == ',' || c == '=' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      return std::string(what) + " name " + detail::quoted(name) +
             " cannot be written into a configuration file (it contains a quote, backslash, ',', '=' or a control character)";
    }
  }
  if (detail::first_invalid_utf8(name)) return std::string(what) + " name is not UTF-8 text";
  return {};
}

}  // namespace

acm::Status check_config_sanity(std::string_view text, std::string file_name) {
  auto file = parse_config(text, file_name);
  if (!file) return tl::unexpected(std::move(file.error()));
  int defined = 0;
  for (std::string_view key : {"kernel", "bootloader", "memory", "name"}) {
    if (file->find(key) != nullptr) ++defined;
  }
  if (defined < 3) {
    return make_error(Errc::invalid_argument, "Invalid config file",
                      acm::SourceLocation{std::move(file_name), 0, 0});
  }
  return {};
}

bool is_labeled(std::string_view text) {
  for (std::string_view line : lines_of(text)) {
    std::size_t i = 0;
    while (i < line.size() && is_python_space(line[i]))
      ++i;
    if (assigns_access_control(line.substr(i))) return true;
  }
  return false;
}

acm::Result<std::string> add_label_line(std::string_view text, std::string_view policy,
                                        std::string_view label) {
  for (auto [what, name] : {std::pair{std::string_view("policy"), policy},
                            std::pair{std::string_view("label"), label}}) {
    if (auto why = check_entry_name(what, name); !why.empty()) {
      return make_error(Errc::invalid_argument, std::move(why));
    }
  }
  if (is_labeled(text))
    return make_error(Errc::invalid_argument, "Config file is already labeled.");
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';  // Xen appended to the last line
  out += "access_control = ['policy=";
  out += policy;
  out += ",label=";
  out += label;
  out += "']\n";
  return out;
}

acm::Result<std::string> comment_out_label(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  bool commenting = false;
  bool removed = false;
  for (std::string_view line : lines_of(text)) {
    if (starts_entry(line)) commenting = true;
    if (commenting) {
      removed = true;
      out += '#';
    }
    out += line;
    if (ends_entry(line)) commenting = false;
  }
  if (!removed) return make_error(Errc::not_found, std::string(kNotLabeled));
  return out;
}

acm::Result<std::string> get_label(std::string_view text) {
  std::string entry;
  bool recording = false;
  for (std::string_view line : lines_of(text)) {
    if (starts_entry(line)) recording = true;
    if (recording) {
      entry += line;
      if (ends_entry(line)) recording = false;
    }
  }
  if (entry.empty()) return make_error(Errc::not_found, std::string(kNotLabeled));
  // (title, data) = acline.split("=", 1); data.strip().lstrip("['").rstrip("']")
  std::string_view data = std::string_view(entry).substr(entry.find('=') + 1);
  data = detail::trim(data);
  while (!data.empty() && (data.front() == '[' || data.front() == '\''))
    data.remove_prefix(1);
  while (!data.empty() && (data.back() == ']' || data.back() == '\''))
    data.remove_suffix(1);
  return "policytype=ACM," + std::string(data);
}

}  // namespace shype::xmconfig
