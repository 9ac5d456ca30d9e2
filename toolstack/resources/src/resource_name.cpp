#include "resources/resource_name.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>

namespace shype::resources {
namespace {

using acm::make_error;

constexpr long kMinVlan = 1;
constexpr long kMaxVlan = 4095;

auto bad(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Python's int(): surrounding whitespace, an optional sign, decimal digits.
// Returns the value as decimal text (sign kept, leading zeros dropped) and,
// when it fits, the value; nullopt text when it is not a number at all.
struct ParsedInt {
  std::string text;
  std::optional<long> value;
};
std::optional<ParsedInt> parse_python_int(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  while (s.size() > 1 && s.front() == '0')
    s.remove_prefix(1);
  ParsedInt out;
  out.text = (negative && s != "0" ? "-" : "") + std::string(s);
  if (s.size() <= 9) {
    long v = 0;
    for (char c : s)
      v = v * 10 + (c - '0');
    out.value = negative ? -v : v;
  }
  return out;
}

// The file type of a path in the root (a final symlink followed or not);
// nullopt if it cannot be opened.
std::optional<mode_t> file_type(const RootFs& root, const std::string& path, bool follow) {
  auto fd = root.open_in_root(path, O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return std::nullopt;
  return st.st_mode & S_IFMT;
}

bool is_decimal_vlan(std::string_view s) {
  if (s.empty() || s.size() > 4 || s.front() == '0') return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v >= kMinVlan && v <= kMaxVlan;
}

}  // namespace

std::string ResourceName::to_string() const {
  if (type == "tap") return type + ":" + subtype + ":" + path;
  return type + ":" + path;
}

Result<ResourceName> ResourceName::parse_canonical(std::string_view text) {
  const auto fail = [&] {
    return bad("'" + std::string(text) + "' is not a canonical resource name");
  };
  if (text.find('\0') != std::string_view::npos) return fail();
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return fail();
  ResourceName name;
  name.type = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (name.type == "tap") {
    const std::size_t sub = rest.find(':');
    if (sub == std::string_view::npos || sub == 0 ||
        rest.find(':', sub + 1) != std::string_view::npos)
      return fail();
    name.subtype = rest.substr(0, sub);
    rest = rest.substr(sub + 1);
  }
  if (name.type == "vlan") {
    if (!is_decimal_vlan(rest)) return fail();
  } else if (rest.empty() || rest.front() != '/') {
    return fail();
  }
  name.path = rest;
  return name;
}

Result<ResourceName> canonicalize(const RootFs& root, std::string_view spec, std::string_view cwd,
                                  bool must_exist) {
  const std::string resource(spec);
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return bad("Resource spec '" + resource + "' contains no ':' delimiter");
  }
  ResourceName name;
  name.type = spec.substr(0, colon);
  std::string_view rest = spec.substr(colon + 1);

  if (name.type == "tap") {
    // Xen: resfile.split(":") must give exactly (subtype, path).
    const std::size_t sub = rest.find(':');
    if (sub == std::string_view::npos || sub == 0 ||
        rest.find(':', sub + 1) != std::string_view::npos) {
      return bad("Resource spec '" + resource + "' contains no tap subtype");
    }
    name.subtype = rest.substr(0, sub);
    rest = rest.substr(sub + 1);
  }

  if (name.type == "vlan") {
    auto parsed = parse_python_int(rest);
    if (!parsed) return bad("Invalid VLAN : " + std::string(rest));
    if (!parsed->value || *parsed->value < kMinVlan || *parsed->value > kMaxVlan) {
      return bad("VLAN ID " + parsed->text + " out of range.");
    }
    name.path = std::to_string(*parsed->value);
    return name;
  }

  if (name.type.empty() || rest.empty() || rest.find('\0') != std::string_view::npos) {
    return bad("Invalid resource.");
  }

  if (name.type == "phy") {
    std::string device = rest.front() == '/' ? std::string(rest) : "/dev/" + std::string(rest);
    if (must_exist) {
      auto real = root.canonical_in_root(device, "/", true);
      if (!real || file_type(root, *real, false) != S_IFBLK) return bad("Invalid resource");
      device = std::move(*real);
    }
    name.path = std::move(device);
    return name;
  }

  if (name.type == "file" || name.type == "tap") {
    auto real = root.canonical_in_root(rest, cwd, false);
    // A bad cwd, a symlink loop or a permission problem: the message says which.
    if (!real) return tl::unexpected(real.error());
    if (must_exist && file_type(root, *real, false) != S_IFREG) return bad("Invalid resource");
    name.path = std::move(*real);
    return name;
  }

  // Any other type: an absolute path, taken as written.
  if (rest.front() != '/') return bad("Invalid resource.");
  if (must_exist && !file_type(root, std::string(rest), true)) return bad("Invalid resource.");
  name.path = rest;
  return name;
}

}  // namespace shype::resources
