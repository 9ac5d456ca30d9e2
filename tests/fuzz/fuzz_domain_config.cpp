// Fuzzes the domain configuration parser (toolstack/config, STYLE.md rule 12)
// with these properties:
//  1. parse_config never crashes, leaks or hangs, whatever the bytes, and a
//     rejection is Errc::invalid_argument located in the file (a line >= 1,
//     except for the whole-file size limit);
//  2. a file that evaluates has a typed view that is either valid or a
//     rejection located in the file or on the command line (line 0 only for
//     a missing name or kernel);
//  3. a valid view survives to_json -> domain_config_from_json exactly, also
//     through JSON text, and writing it again gives the same JSON; its
//     cmdline is build_cmdline's, and each device entry written back in
//     configuration syntax parses to the same entry;
//  4. label editing keeps its invariants: get_label and comment_out_label
//     agree on whether the text is labeled, a commented-out label is gone,
//     and an unlabeled text gets exactly the label add_label_line appends
//     (as getlabel and as the parsed access_control).
// Every input line is also fed to the single-entry parsers (disk, vif, vtpm,
// access_control), whose accepted entries must round-trip through format_*.
//
// A first line "#override a=1 b=x ..." supplies command-line declarations
// (it is a comment to the parser); otherwise vmid=1 is declared, as for the
// manual's xmexample2.
// A violated property aborts, which libFuzzer and the corpus replay under
// ctest report as a failure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xmconfig/config_file.hpp"
#include "xmconfig/domain_config.hpp"
#include "xmconfig/json.hpp"
#include "xmconfig/label_editing.hpp"

namespace {

using namespace shype::xmconfig;
using shype::acm::Errc;
using shype::acm::Error;

constexpr std::string_view kFileName = "fuzz.xm";
constexpr std::string_view kOverridePrefix = "#override ";

[[noreturn]] void violated(const char* property, const std::string& detail) {
  std::fprintf(stderr, "fuzz_domain_config: property violated: %s\n%s\n", property, detail.c_str());
  std::abort();
}

std::vector<Override> overrides_of(std::string_view text) {
  std::vector<Override> overrides;
  if (text.substr(0, kOverridePrefix.size()) != kOverridePrefix) {
    overrides.push_back(Override{"vmid", "1"});
    return overrides;
  }
  std::string_view line = text.substr(kOverridePrefix.size());
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && overrides.size() < 16) {
    const std::size_t space = line.find(' ');
    const std::string_view word = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    if (auto o = parse_override(word)) overrides.push_back(std::move(*o));
  }
  return overrides;
}

bool is_limit_error(const Error& e) {
  return e.message.find("evaluating the file needs more than") != std::string::npos ||
         e.message.find("configuration file larger than") != std::string::npos;
}

template <typename Spec, typename Parse, typename Format>
void check_entry(std::string_view line, Parse parse, Format format, const char* what) {
  auto spec = parse(line);
  if (!spec) {
    if (spec.error().code != Errc::invalid_argument || spec.error().message.empty()) {
      violated("entry rejections are invalid_argument with a reason", spec.error().message);
    }
    return;
  }
  const std::string written = format(*spec);
  auto reparsed = parse(written);
  if (!reparsed)
    violated(what, std::string(line) + " -> " + written + ": " + reparsed.error().message);
  if (!(*reparsed == *spec)) violated(what, std::string(line) + " -> " + written);
}

void check_entries(std::string_view text) {
  std::size_t count = 0;
  while (!text.empty() && count++ < 64) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    check_entry<DiskSpec>(line, parse_disk_spec, format_disk_spec, "disk entries round-trip");
    check_entry<VifSpec>(line, parse_vif_spec, format_vif_spec, "vif entries round-trip");
    check_entry<VtpmSpec>(line, parse_vtpm_spec, format_vtpm_spec, "vtpm entries round-trip");
    check_entry<AccessControl>(
        line, parse_access_control,
        [](const AccessControl& a) { return "policy=" + a.policy + ",label=" + a.label; },
        "access_control entries round-trip");
  }
}

void check_view(const DomainConfig& config) {
  if (build_cmdline(config) != config.cmdline)
    violated("cmdline is build_cmdline's", config.cmdline);
  const nlohmann::json j = to_json(config);
  auto back = domain_config_from_json(j);
  if (!back) violated("JSON records read back", back.error().to_string() + "\n" + j.dump(2));
  if (!(*back == config)) violated("JSON records read back equal", j.dump(2));
  std::string text;
  try {
    text = j.dump();
  } catch (const nlohmann::json::exception& e) {
    violated("JSON records can be written as text", e.what());
  }
  auto reread = domain_config_from_json(nlohmann::json::parse(text));
  if (!reread || !(*reread == config)) violated("JSON text reads back equal", text);
  if (to_json(*reread) != j) violated("the JSON writer is canonical", text);
  for (const DiskSpec& d : config.disks) {
    auto again = parse_disk_spec(format_disk_spec(d));
    if (!again || !(*again == d)) violated("disks write back", format_disk_spec(d));
  }
  for (const VifSpec& v : config.vifs) {
    auto again = parse_vif_spec(format_vif_spec(v));
    if (!again || !(*again == v)) violated("vifs write back", format_vif_spec(v));
  }
  for (const VtpmSpec& v : config.vtpms) {
    auto again = parse_vtpm_spec(format_vtpm_spec(v));
    if (!again || !(*again == v)) violated("vtpms write back", format_vtpm_spec(v));
  }
}

void check_label_editing(const std::string& text, bool parsed,
                         const std::vector<Override>& overrides, bool viewed) {
  auto label = get_label(text);
  auto commented = comment_out_label(text);
  if (label.has_value() != commented.has_value()) {
    violated("getlabel and rmlabel agree on whether the file is labeled", text);
  }
  if (!label &&
      (label.error().code != Errc::not_found || label.error().message != "Domain not labeled")) {
    violated("an unlabeled file is 'Domain not labeled'", label.error().to_string());
  }
  if (commented && get_label(*commented)) violated("rmlabel removes the label", *commented);

  if (is_labeled(text)) {
    if (add_label_line(text, "p", "l")) violated("a labeled file is not labeled again", text);
    return;
  }
  auto added = add_label_line(text, "fuzz-policy", "Fuzz.Label");
  if (!added) violated("an unlabeled file can be labeled", added.error().message);
  if (!is_labeled(*added)) violated("an added label is seen", *added);
  auto got = get_label(*added);
  if (!got || *got != "policytype=ACM,policy=fuzz-policy,label=Fuzz.Label") {
    violated("getlabel shows the added label", *added);
  }
  if (!parsed) return;
  auto file = parse_config(*added, std::string(kFileName), overrides);
  if (!file) {
    if (is_limit_error(file.error())) return;
    violated("a labeled configuration file still evaluates", file.error().to_string());
  }
  if (!viewed) return;
  auto config = domain_config(*file);
  if (!config) violated("a labeled domain still has a view", config.error().to_string());
  if (!config->access_control ||
      !(*config->access_control == AccessControl{"fuzz-policy", "Fuzz.Label"})) {
    violated("the added label is the domain's access_control", *added);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // SAFETY: uint8_t and char have the same size and representation; the
  // bytes are copied, not reinterpreted in place.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<Override> overrides = overrides_of(text);

  bool viewed = false;
  auto file = parse_config(text, std::string(kFileName), overrides);
  if (!file) {
    const Error& e = file.error();
    if (e.code != Errc::invalid_argument || e.message.empty()) {
      violated("rejections are invalid_argument with a reason", e.to_string());
    }
    if (e.where.file != kFileName) violated("rejections name the file", e.to_string());
    if (e.where.line == 0 && size <= kMaxConfigSize)
      violated("rejections name the line", e.to_string());
  } else {
    auto config = domain_config(*file);
    if (!config) {
      const Error& e = config.error();
      if (e.code != Errc::invalid_argument || e.message.empty()) {
        violated("view rejections are invalid_argument with a reason", e.to_string());
      }
      const bool in_file = e.where.file == kFileName;
      const bool on_command_line = e.where.file == kCommandLineFile;
      if (!in_file && !on_command_line) violated("view rejections are located", e.to_string());
      const bool missing_key = e.message.rfind("name is not set", 0) == 0 ||
                               e.message.rfind("kernel is not set", 0) == 0;
      if (in_file && e.where.line == 0 && !missing_key) {
        violated("view rejections name the line of the value", e.to_string());
      }
    } else {
      viewed = true;
      check_view(*config);
    }
  }
  check_label_editing(text, file.has_value(), overrides, viewed);
  check_entries(text);
  return 0;
}
