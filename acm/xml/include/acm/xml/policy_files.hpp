// Policies as files, the way administrators and xend handle them: open an
// XML policy or a compiled binary (with its .map for Xen's format), and
// compile an XML policy into a binary and a .map beside it. Used by acmtool
// and, later, by xm/xend (makepolicy, setpolicy, dumppolicy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "acm/binary_policy.hpp"
#include "acm/compiler.hpp"
#include "acm/diagnostics.hpp"
#include "acm/error.hpp"
#include "acm/fingerprint.hpp"
#include "acm/policy_image.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm::xml {

enum class PolicySourceKind { xml, binary };

struct OpenedPolicy {
  PolicySourceKind kind = PolicySourceKind::xml;
  std::filesystem::path path;
  PolicyImage image;  // names filled in when known (XML, compact, or a .map beside a Xen binary)
  // XML only: the model and its numbering.
  std::optional<PolicyModel> model;
  std::optional<LabelNumbering> numbering;
  Diagnostics warnings;
  // Binary only: the format, the bytes' SHA-256 and size, and the map used.
  std::optional<BinaryFormat> format;
  Sha256Digest fingerprint{};
  std::uint64_t size = 0;
  std::optional<std::filesystem::path> map_path;
};

// The .map conventionally beside a binary: same directory, extension .map.
[[nodiscard]] std::filesystem::path map_path_for(const std::filesystem::path& binary_path);

// Opens `path`: a file whose first bytes are a binary policy's magic is read
// as a binary (for Xen's format, names come from `map` if given, else from
// the .map beside it if that exists); anything else is loaded as an XML
// policy and compiled in memory. Errors name the file.
[[nodiscard]] Result<OpenedPolicy> open_policy(
    const std::filesystem::path& path, const std::optional<std::filesystem::path>& map = {});

struct CompiledFiles {
  std::string policy_name;
  PolicyVersion version;
  BinaryFormat format = BinaryFormat::xen;
  std::filesystem::path binary_path;
  std::filesystem::path map_path;
  std::uint64_t binary_size = 0;
  Sha256Digest fingerprint{};  // SHA-256 of the binary file
  Diagnostics warnings;
  CompiledPolicy compiled;
};

// Default binary path for an XML policy: the directory of the XML and the
// last part of the file name before "-security_policy.xml" (Xen: a/b/c.bin),
// or the XML's stem, with extension .bin.
[[nodiscard]] std::filesystem::path default_binary_path(const std::filesystem::path& xml_path);

// Loads, validates and compiles `xml_path`, writes the binary to
// `binary_path` (default_binary_path if empty) and the .map beside it. Each
// file is written atomically (never torn); the map goes first, so a failure
// can leave a new map beside an old binary, which readers detect (the map
// must match the binary), but never a new binary beside a stale map.
[[nodiscard]] Result<CompiledFiles> compile_policy_file(const std::filesystem::path& xml_path,
                                                        const std::filesystem::path& binary_path,
                                                        BinaryFormat format);

}  // namespace shype::acm::xml
