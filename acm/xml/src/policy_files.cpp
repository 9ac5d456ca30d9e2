#include "acm/xml/policy_files.hpp"

#include <string_view>

#include "acm/file_io.hpp"
#include "acm/map_file.hpp"
#include "acm/xen_format.hpp"
#include "acm/xml/policy_loader.hpp"

namespace shype::acm::xml {
namespace {

constexpr std::string_view kPolicySuffix = "-security_policy.xml";

Error in_file(const std::filesystem::path& path, Error e) {
  if (e.message.find(path.string()) == std::string::npos) {
    e.message = path.string() + ": " + e.message;
  }
  return e;
}

}  // namespace

std::filesystem::path map_path_for(const std::filesystem::path& binary_path) {
  std::filesystem::path p = binary_path;
  p.replace_extension(".map");
  return p;
}

std::filesystem::path default_binary_path(const std::filesystem::path& xml_path) {
  std::string file = xml_path.filename().string();
  std::string base;
  if (file.size() > kPolicySuffix.size() &&
      file.compare(file.size() - kPolicySuffix.size(), kPolicySuffix.size(), kPolicySuffix) == 0) {
    base = file.substr(0, file.size() - kPolicySuffix.size());
  } else {
    base = xml_path.stem().string();
  }
  return xml_path.parent_path() / (base + ".bin");
}

Result<OpenedPolicy> open_policy(const std::filesystem::path& path,
                                 const std::optional<std::filesystem::path>& map) {
  auto bytes = read_file(path);
  if (!bytes) return tl::unexpected(bytes.error());

  OpenedPolicy out;
  out.path = path;
  if (!detect_binary_format(*bytes)) {
    std::string text(bytes->begin(), bytes->end());
    auto loaded = load_policy_text(std::move(text), path.string());
    if (!loaded) return tl::unexpected(loaded.error());
    // SAFETY: char and uint8_t have the same size and representation; the
    // text is only read, to hash it.
    const auto* xml = reinterpret_cast<const std::uint8_t*>(loaded->xml_text.data());
    auto compiled = compile_policy(loaded->model, {xml, loaded->xml_text.size()});
    if (!compiled) return tl::unexpected(compiled.error());
    out.kind = PolicySourceKind::xml;
    out.image = std::move(compiled->image);
    out.numbering = std::move(compiled->numbering);
    out.warnings = std::move(loaded->warnings);
    out.warnings.append(compiled->warnings);
    out.model = std::move(loaded->model);
    return out;
  }

  BinaryFormat format{};
  auto image = read_binary_policy(*bytes, &format);
  if (!image) return tl::unexpected(in_file(path, image.error()));
  out.kind = PolicySourceKind::binary;
  out.format = format;
  out.fingerprint = sha256(*bytes);
  out.size = bytes->size();
  out.image = std::move(*image);

  if (!out.image.names) {
    std::filesystem::path map_file = map ? *map : map_path_for(path);
    std::error_code ec;
    if (map || std::filesystem::exists(map_file, ec)) {
      auto text = read_text_file(map_file);
      if (!text) return tl::unexpected(text.error());
      auto named = attach_map_names(std::move(out.image), *text);
      if (!named) return tl::unexpected(in_file(map_file, named.error()));
      out.image = std::move(*named);
      out.map_path = map_file;
    }
  }
  return out;
}

Result<CompiledFiles> compile_policy_file(const std::filesystem::path& xml_path,
                                          const std::filesystem::path& binary_path,
                                          BinaryFormat format) {
  auto loaded = load_policy_file(xml_path);
  if (!loaded) return tl::unexpected(loaded.error());
  // SAFETY: as in open_policy.
  const auto* xml = reinterpret_cast<const std::uint8_t*>(loaded->xml_text.data());
  auto compiled = compile_policy(loaded->model, {xml, loaded->xml_text.size()});
  if (!compiled) return tl::unexpected(compiled.error());

  CompiledFiles out;
  out.binary_path = binary_path.empty() ? default_binary_path(xml_path) : binary_path;
  out.map_path = map_path_for(out.binary_path);
  out.format = format;
  out.policy_name = compiled->image.name;
  out.version = compiled->image.xml_version;
  out.warnings = std::move(loaded->warnings);
  out.warnings.append(compiled->warnings);

  if (format == BinaryFormat::xen && !xen_policy_size(compiled->image)) {
    return make_error(
        Errc::limit_exceeded,
        xml_path.string() + ": policy '" + out.policy_name +
            "' is too large for Xen's binary format (its dense matrices exceed 4 GiB); "
            "use the compact format");
  }
  const std::vector<std::uint8_t> binary = write_binary_policy(compiled->image, format);
  const std::string map_text =
      write_map_file(compiled->image, xml_path.string(), out.binary_path.string());
  out.binary_size = binary.size();
  out.fingerprint = sha256(binary);

  // The map first: a map without its binary is harmless (readers check that
  // it matches the binary), a new binary beside a stale map is not.
  if (auto s = write_file_atomic(out.map_path, map_text); !s) return tl::unexpected(s.error());
  if (auto s = write_file_atomic(out.binary_path, binary); !s) return tl::unexpected(s.error());
  out.compiled = std::move(*compiled);
  return out;
}

}  // namespace shype::acm::xml
