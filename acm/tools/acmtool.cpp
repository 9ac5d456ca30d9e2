// acmtool: the offline command line of the policy core. A thin view over
// acm/ and acm/xml/ (STYLE.md rule 2): every decision and every check is made
// by the library; this file only parses arguments and prints results.
//
// Exit status: 0 success or permit, 1 error, 2 usage error, 3 deny/rejected.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acm/binary_policy.hpp"
#include "acm/decision_engine.hpp"
#include "acm/fingerprint.hpp"
#include "acm/policy_change.hpp"
#include "acm/xml/policy_files.hpp"
#include "acm/xml/policy_loader.hpp"

namespace {

using namespace shype::acm;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDeny = 3;

constexpr const char* kUsage = R"(usage: acmtool <command> [arguments] [--json]

commands:
  validate FILE.xml
      check a policy against the schema and the semantic rules
  compile FILE.xml [-o OUT.bin] [--format xen|compact]
      compile to a binary policy (default: xen, beside the XML as NAME.bin)
      and write the label map (OUT.map) beside it
  dump FILE [--map FILE.map]
      show a binary (or XML) policy: versions, fingerprint, types, labels
      with their ssidrefs, conflict sets
  decide FILE share LABEL LABEL
      may domains (or a domain and a resource) with these labels share?
  decide FILE authorize DOM0-LABEL LABEL
      may a Domain-0 labeled DOM0-LABEL run a domain labeled LABEL?
  decide FILE admit LABEL [--running LABEL]...
      may a domain labeled LABEL start while domains with the given labels
      run (Chinese Wall)?
  plan ACTIVE.xml UPDATE.xml [--dom0 LABEL] [--running NAME=LABEL]...
       [--resource RESOURCE=LABEL]... [--use NAME=RESOURCE]...
       [--share NAME=NAME]... [--reset]
      would updating the active policy at run time succeed for the given
      running domains, labeled resources and resources in use?

LABEL is a VM label name, res:NAME for a resource label, or an ssidref
(e.g. 0x00020002). FILE may be an XML policy, a Xen-format binary (names
from the .map beside it) or a compact binary.

--json prints one JSON document on standard output instead of text.
exit status: 0 success or permit, 1 error, 2 usage, 3 deny or rejected
)";

struct Options {
  bool json = false;
  std::vector<std::string> positional;
  std::optional<std::string> output;
  std::optional<std::string> format;
  std::optional<std::string> map;
  std::optional<std::string> dom0;
  std::vector<std::string> running;
  std::vector<std::string> resources;
  std::vector<std::string> uses;
  std::vector<std::string> shares;
  bool reset = false;
};

struct UsageError {
  std::string message;
};

// Parses options anywhere on the command line. Returns a usage error text on
// failure.
std::optional<UsageError> parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::optional<std::string>& slot) -> std::optional<UsageError> {
      if (i + 1 >= argc) return UsageError{std::string(arg) + " needs a value"};
      slot = argv[++i];
      return std::nullopt;
    };
    auto list = [&](std::vector<std::string>& slot) -> std::optional<UsageError> {
      if (i + 1 >= argc) return UsageError{std::string(arg) + " needs a value"};
      slot.emplace_back(argv[++i]);
      return std::nullopt;
    };
    std::optional<UsageError> err;
    if (arg == "--json") {
      o.json = true;
    } else if (arg == "-h" || arg == "--help") {
      o.positional.insert(o.positional.begin(), "help");
    } else if (arg == "-o" || arg == "--output") {
      err = value(o.output);
    } else if (arg == "--format") {
      err = value(o.format);
    } else if (arg == "--map") {
      err = value(o.map);
    } else if (arg == "--dom0") {
      err = value(o.dom0);
    } else if (arg == "--running") {
      err = list(o.running);
    } else if (arg == "--resource") {
      err = list(o.resources);
    } else if (arg == "--use") {
      err = list(o.uses);
    } else if (arg == "--share") {
      err = list(o.shares);
    } else if (arg == "--reset") {
      o.reset = true;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      return UsageError{"unknown option '" + std::string(arg) + "'"};
    } else {
      o.positional.emplace_back(arg);
    }
    if (err) return err;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- output

json error_json(const Error& e) {
  json lines = json::array();
  std::size_t start = 0;
  while (start <= e.message.size()) {
    std::size_t end = e.message.find('\n', start);
    if (end == std::string::npos) end = e.message.size();
    if (end > start) lines.push_back(e.message.substr(start, end - start));
    start = end + 1;
  }
  return json{{"code", errc_name(e.code)}, {"message", e.to_string()}, {"lines", lines}};
}

int report_error(const Options& o, const Error& e) {
  if (o.json) {
    std::cout << json{{"ok", false}, {"error", error_json(e)}}.dump(2) << '\n';
  } else {
    const std::string text = e.to_string();
    // Located findings already read "file:line: error: ..."; others get a prefix.
    if (text.find(": error: ") == std::string::npos) std::cerr << "acmtool: error: ";
    std::cerr << text << '\n';
  }
  return kExitError;
}

void print_warnings(const Options& o, const Diagnostics& warnings) {
  if (o.json) return;  // JSON output carries them in the document
  for (const auto& d : warnings.items())
    std::cerr << d.to_string() << '\n';
}

json warnings_json(const Diagnostics& warnings) {
  json out = json::array();
  for (const auto& d : warnings.items())
    out.push_back(d.to_string());
  return out;
}

// ---------------------------------------------------------------- names

const PolicyNames* names_of(const PolicyImage& image) {
  return image.names ? &*image.names : nullptr;
}

std::string type_list(const PolicyImage& image, std::span<const std::uint32_t> types, bool ste) {
  const PolicyNames* names = names_of(image);
  std::string out;
  const std::vector<std::string>* list =
      names ? (ste ? &names->ste_types : &names->chwall_types) : nullptr;
  for (std::uint32_t t : types) {
    if (!out.empty()) out += ", ";
    out += list && t < list->size() ? (*list)[t] : "#" + std::to_string(t);
  }
  return out.empty() ? "(none)" : out;
}

json type_list_json(const PolicyImage& image, std::span<const std::uint32_t> types, bool ste) {
  const PolicyNames* names = names_of(image);
  json out = json::array();
  for (std::uint32_t t : types) {
    const auto* list = names ? (ste ? &names->ste_types : &names->chwall_types) : nullptr;
    if (list && t < list->size()) {
      out.push_back((*list)[t]);
    } else {
      out.push_back(t);
    }
  }
  return out;
}

std::uint32_t ste_rows(const PolicyImage& image) {
  return image.ste_labels.rows();
}

// A label given on the command line, resolved against the policy.
struct ResolvedLabel {
  Ssidref ssidref = 0;
  std::string display;  // "A-Bank", "resource A-Bank", "0x00020002"
  bool resource = false;
};

Result<ResolvedLabel> resolve_label(const PolicyImage& image, std::string_view spec) {
  const auto is_number = [](std::string_view s) {
    if (s.empty()) return false;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    for (char c : s) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0])) && is_number(spec)) {
    const unsigned long long value = std::strtoull(std::string(spec).c_str(), nullptr, 0);
    if (value > 0xffffffffULL) {
      return make_error(Errc::invalid_argument,
                        "ssidref '" + std::string(spec) + "' is not 32 bits");
    }
    const auto s = static_cast<Ssidref>(value);
    if (secondary_half(s) >= ste_rows(image) ||
        (image.has_chwall() && primary_half(s) >= image.chwall_labels.rows())) {
      return make_error(Errc::not_found,
                        "ssidref " + hex32(s) + " is out of range for policy '" + image.name + "'");
    }
    return ResolvedLabel{s, hex32(s), primary_half(s) == 0 && secondary_half(s) != 0};
  }

  const bool resource = spec.substr(0, 4) == "res:";
  const std::string name(resource ? spec.substr(4) : spec);
  if (name == kUnlabeled) {
    return ResolvedLabel{kUnlabeledSsidref, resource ? "resource " + name : name, resource};
  }
  const PolicyNames* names = names_of(image);
  if (!names) {
    return make_error(Errc::not_found,
                      "policy '" + image.name +
                          "' carries no label names (a Xen-format binary needs its .map); "
                          "give labels as ssidrefs or pass --map");
  }
  if (resource) {
    for (std::uint32_t r = 0; r < names->resource_labels.size(); ++r) {
      if (names->resource_labels[r] == name) {
        return ResolvedLabel{resource_ssidref(image.vm_label_count + r), "resource " + name, true};
      }
    }
    return make_error(Errc::not_found,
                      "'" + name + "' is not a resource label of policy '" + image.name + "'");
  }
  for (std::uint32_t i = 1; i < names->vm_labels.size(); ++i) {
    if (names->vm_labels[i] == name) return ResolvedLabel{vm_ssidref(i), name, false};
  }
  return make_error(Errc::not_found,
                    "'" + name + "' is not a VM label of policy '" + image.name + "'" +
                        (std::find(names->resource_labels.begin(), names->resource_labels.end(),
                                   name) != names->resource_labels.end()
                             ? " (it is a resource label: write res:" + name + ")"
                             : ""));
}

// ---------------------------------------------------------------- commands

int cmd_validate(const Options& o) {
  if (o.positional.size() != 2) return kExitUsage;
  const std::string& file = o.positional[1];
  auto loaded = xml::load_policy_file(file);
  if (!loaded) return report_error(o, loaded.error());
  const PolicyModel& m = loaded->model;
  const std::size_t ste_types = m.ste ? m.ste->types.size() : 0;
  const std::size_t chwall_types = m.chwall ? m.chwall->types.size() : 0;
  const std::size_t sets = m.chwall ? m.chwall->conflict_sets.size() : 0;
  if (o.json) {
    json j{{"ok", true},
           {"file", file},
           {"policy", m.header.name},
           {"version", m.header.version.to_string()},
           {"ste_types", ste_types},
           {"chwall_types", chwall_types},
           {"conflict_sets", sets},
           {"vm_labels", m.vm_labels.size()},
           {"resource_labels", m.resource_labels.size()},
           {"bootstrap", m.bootstrap.name},
           {"warnings", warnings_json(loaded->warnings)}};
    if (m.header.from_policy) {
      j["from_policy"] = {{"name", m.header.from_policy->name},
                          {"version", m.header.from_policy->version.to_string()}};
    }
    std::cout << j.dump(2) << '\n';
    return kExitOk;
  }
  print_warnings(o, loaded->warnings);
  std::cout << file << ": valid policy '" << m.header.name << "' version "
            << m.header.version.to_string();
  if (m.header.from_policy) {
    std::cout << " (updates '" << m.header.from_policy->name << "' version "
              << m.header.from_policy->version.to_string() << ")";
  }
  std::cout << "\n  " << ste_types << " STE types, " << chwall_types << " Chinese Wall types, "
            << sets << " conflict sets, " << m.vm_labels.size() << " VM labels, "
            << m.resource_labels.size() << " resource labels; bootstrap label '" << m.bootstrap.name
            << "'";
  if (loaded->warnings.size()) std::cout << "; " << loaded->warnings.size() << " warning(s)";
  std::cout << '\n';
  return kExitOk;
}

std::optional<BinaryFormat> parse_format(const std::optional<std::string>& text) {
  if (!text || *text == "xen") return BinaryFormat::xen;
  if (*text == "compact") return BinaryFormat::compact;
  return std::nullopt;
}

int cmd_compile(const Options& o) {
  if (o.positional.size() != 2) return kExitUsage;
  const auto format = parse_format(o.format);
  if (!format) {
    std::cerr << "acmtool: unknown format '" << *o.format << "' (xen or compact)\n";
    return kExitUsage;
  }
  auto files = xml::compile_policy_file(o.positional[1], o.output.value_or(""), *format);
  if (!files) return report_error(o, files.error());
  const std::string digest = to_hex(files->fingerprint);
  if (o.json) {
    std::cout << json{{"ok", true},
                      {"policy", files->policy_name},
                      {"version", files->version.to_string()},
                      {"format", binary_format_name(files->format)},
                      {"binary", files->binary_path.string()},
                      {"map", files->map_path.string()},
                      {"size", files->binary_size},
                      {"sha256", digest},
                      {"warnings", warnings_json(files->warnings)}}
                     .dump(2)
              << '\n';
    return kExitOk;
  }
  print_warnings(o, files->warnings);
  std::cout << "compiled policy '" << files->policy_name << "' version "
            << files->version.to_string() << " (" << binary_format_name(files->format)
            << " format, " << files->binary_size << " bytes)\n"
            << "  binary: " << files->binary_path.string() << '\n'
            << "  map:    " << files->map_path.string() << '\n'
            << "  sha256: " << digest << '\n';
  return kExitOk;
}

Result<xml::OpenedPolicy> open(const Options& o, const std::string& file) {
  std::optional<std::filesystem::path> map;
  if (o.map) map = *o.map;
  return xml::open_policy(file, map);
}

json dump_json(const xml::OpenedPolicy& p) {
  const PolicyImage& img = p.image;
  const PolicyNames* names = names_of(img);
  json j{{"ok", true},
         {"file", p.path.string()},
         {"policy", img.name},
         {"version", img.xml_version.to_string()},
         {"xml_sha1", to_hex(img.xml_sha1)},
         {"primary", policy_code_name(img.primary)},
         {"secondary", policy_code_name(img.secondary)},
         {"names", names != nullptr}};
  if (p.kind == xml::PolicySourceKind::binary) {
    j["format"] = binary_format_name(*p.format);
    j["size"] = p.size;
    j["sha256"] = to_hex(p.fingerprint);
    if (p.map_path) j["map"] = p.map_path->string();
  } else {
    j["format"] = "xml";
  }
  if (names) {
    j["ste_types"] = names->ste_types;
    j["chwall_types"] = names->chwall_types;
  } else {
    j["ste_type_count"] = img.ste_type_count;
    j["chwall_type_count"] = img.chwall_type_count;
  }
  json sets = json::array();
  for (std::uint32_t c = 0; c < img.conflict_sets.rows(); ++c) {
    json set{{"types", type_list_json(img, img.conflict_sets.row(c), false)}};
    if (names) set["name"] = names->conflict_sets[c];
    sets.push_back(set);
  }
  j["conflict_sets"] = sets;
  json vms = json::array();
  for (std::uint32_t i = 0; i < img.vm_label_count; ++i) {
    json l{{"ssidref", hex32(vm_ssidref(i))}, {"bootstrap", i == 1}};
    if (names) l["name"] = names->vm_labels[i];
    if (img.has_ste() && i < img.ste_labels.rows()) {
      l["ste_types"] = type_list_json(img, img.ste_labels.row(i), true);
    }
    if (img.has_chwall()) l["chwall_types"] = type_list_json(img, img.chwall_labels.row(i), false);
    vms.push_back(l);
  }
  j["vm_labels"] = vms;
  json res = json::array();
  for (std::uint32_t row = img.vm_label_count; row < ste_rows(img); ++row) {
    json l{{"ssidref", hex32(resource_ssidref(row))},
           {"ste_types", type_list_json(img, img.ste_labels.row(row), true)}};
    if (names) l["name"] = names->resource_labels[row - img.vm_label_count];
    res.push_back(l);
  }
  j["resource_labels"] = res;
  j["warnings"] = warnings_json(p.warnings);
  return j;
}

int cmd_dump(const Options& o) {
  if (o.positional.size() != 2) return kExitUsage;
  auto opened = open(o, o.positional[1]);
  if (!opened) return report_error(o, opened.error());
  const xml::OpenedPolicy& p = *opened;
  if (o.json) {
    std::cout << dump_json(p).dump(2) << '\n';
    return kExitOk;
  }
  print_warnings(o, p.warnings);
  const PolicyImage& img = p.image;
  const PolicyNames* names = names_of(img);
  std::cout << "policy     " << img.name << '\n'
            << "version    " << img.xml_version.to_string() << '\n';
  if (p.kind == xml::PolicySourceKind::binary) {
    std::cout << "format     " << binary_format_name(*p.format) << " (" << p.size << " bytes)\n"
              << "sha256     " << to_hex(p.fingerprint) << '\n';
  } else {
    std::cout << "format     XML (compiled in memory)\n";
  }
  std::cout << "xml sha1   " << to_hex(img.xml_sha1) << '\n'
            << "primary    " << policy_code_name(img.primary) << '\n'
            << "secondary  " << policy_code_name(img.secondary) << '\n'
            << "names      "
            << (p.map_path ? "from " + p.map_path->string()
                : names    ? std::string("in the policy")
                           : std::string("none (no .map beside the binary)"))
            << '\n';

  auto print_types = [&](const char* title, std::uint32_t count,
                         const std::vector<std::string>* list) {
    std::cout << '\n' << title << " (" << count << ")\n";
    for (std::uint32_t t = 0; t < count; ++t) {
      std::printf("  %4u  %s\n", t, list ? (*list)[t].c_str() : "");
    }
    std::fflush(stdout);
  };
  if (img.has_ste())
    print_types("STE types", img.ste_type_count, names ? &names->ste_types : nullptr);
  if (img.has_chwall()) {
    print_types("Chinese Wall types", img.chwall_type_count,
                names ? &names->chwall_types : nullptr);
    std::cout << "\nConflict sets (" << img.conflict_sets.rows() << ")\n";
    for (std::uint32_t c = 0; c < img.conflict_sets.rows(); ++c) {
      std::cout << "  " << (names ? names->conflict_sets[c] : "set" + std::to_string(c)) << ": "
                << type_list(img, img.conflict_sets.row(c), false) << '\n';
    }
  }
  std::cout << "\nVM labels (" << img.vm_label_count << ")\n";
  for (std::uint32_t i = 0; i < img.vm_label_count; ++i) {
    std::cout << "  " << hex32(vm_ssidref(i)) << "  "
              << (names ? names->vm_labels[i] : "label " + std::to_string(i))
              << (i == 1 ? "  (bootstrap: Domain-0)" : "") << '\n';
    if (img.has_ste())
      std::cout << "              ste:    " << type_list(img, img.ste_labels.row(i), true) << '\n';
    if (img.has_chwall()) {
      std::cout << "              chwall: " << type_list(img, img.chwall_labels.row(i), false)
                << '\n';
    }
  }
  const std::uint32_t resources =
      ste_rows(img) > img.vm_label_count ? ste_rows(img) - img.vm_label_count : 0;
  std::cout << "\nResource labels (" << resources << ")\n";
  for (std::uint32_t row = img.vm_label_count; row < ste_rows(img); ++row) {
    std::cout << "  " << hex32(resource_ssidref(row)) << "  "
              << (names ? names->resource_labels[row - img.vm_label_count]
                        : "resource " + std::to_string(row - img.vm_label_count))
              << '\n'
              << "              ste:    " << type_list(img, img.ste_labels.row(row), true) << '\n';
  }
  return kExitOk;
}

int print_decision(const Options& o, const std::string& query,
                   const std::vector<ResolvedLabel>& labels, const Decision& d) {
  if (o.json) {
    json l = json::array();
    for (const auto& r : labels)
      l.push_back({{"label", r.display}, {"ssidref", hex32(r.ssidref)}});
    std::cout << json{{"ok", true},
                      {"query", query},
                      {"labels", l},
                      {"decision", d.permitted ? "permit" : "deny"},
                      {"rule", d.rule}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << d.rule << '\n';
  }
  return d.permitted ? kExitOk : kExitDeny;
}

int cmd_decide(const Options& o) {
  if (o.positional.size() < 3) return kExitUsage;
  const std::string& query = o.positional[2];
  auto opened = open(o, o.positional[1]);
  if (!opened) return report_error(o, opened.error());
  print_warnings(o, opened->warnings);
  auto engine = PolicyEngine::build(opened->image);
  if (!engine) return report_error(o, engine.error());

  std::vector<ResolvedLabel> labels;
  for (std::size_t i = 3; i < o.positional.size(); ++i) {
    auto r = resolve_label(engine->image(), o.positional[i]);
    if (!r) return report_error(o, r.error());
    labels.push_back(*r);
  }

  if (query == "share") {
    if (labels.size() != 2) return kExitUsage;
    const bool res_a = labels[0].resource, res_b = labels[1].resource;
    if (res_a && res_b) {
      return report_error(o,
                          Error{Errc::invalid_argument,
                                "two resource labels never share with each other; give a VM label",
                                {}});
    }
    const Decision d = res_a ? engine->explain_resource_access(labels[1].ssidref, labels[0].ssidref)
                       : res_b
                           ? engine->explain_resource_access(labels[0].ssidref, labels[1].ssidref)
                           : engine->explain_share(labels[0].ssidref, labels[1].ssidref);
    return print_decision(o, query, labels, d);
  }
  if (query == "authorize") {
    if (labels.size() != 2 || labels[0].resource || labels[1].resource) return kExitUsage;
    return print_decision(o, query, labels,
                          engine->explain_authorize(labels[0].ssidref, labels[1].ssidref));
  }
  if (query == "admit") {
    if (labels.size() != 1 || labels[0].resource) return kExitUsage;
    std::vector<RunningDomain> running;
    std::uint32_t domid = 1;
    for (const auto& spec : o.running) {
      auto r = resolve_label(engine->image(), spec);
      if (!r) return report_error(o, r.error());
      if (r->resource)
        return report_error(o, Error{Errc::invalid_argument, "--running takes VM labels", {}});
      running.push_back(RunningDomain{domid++, r->ssidref});
      labels.push_back(*r);
    }
    auto state = engine->rebuild_chinese_wall(running);
    if (!state) {
      Error e = state.error();
      e.message = "the running labels already conflict: " + e.message;
      return report_error(o, e);
    }
    return print_decision(o, query, labels, engine->explain_admission(*state, labels[0].ssidref));
  }
  std::cerr << "acmtool: unknown decision '" << query << "' (share, authorize or admit)\n";
  return kExitUsage;
}

// "NAME=VALUE" split at the first '=' (or the last, for resource names that
// may themselves contain '=').
std::optional<std::pair<std::string, std::string>> split_pair(const std::string& s, bool at_last) {
  const std::size_t eq = at_last ? s.rfind('=') : s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return std::nullopt;
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

int cmd_plan(const Options& o) {
  if (o.positional.size() != 3) return kExitUsage;
  auto active = open(o, o.positional[1]);
  if (!active) return report_error(o, active.error());
  if (active->kind != xml::PolicySourceKind::xml) {
    return report_error(
        o, Error{Errc::invalid_argument, "the active policy must be given as XML", {}});
  }
  auto update = xml::load_policy_file(o.positional[2]);
  if (!update) return report_error(o, update.error());

  std::vector<RunningDomainLabel> running;
  running.push_back({0, "Domain-0", o.dom0.value_or(active->model->bootstrap.name)});
  std::uint32_t domid = 1;
  for (const auto& spec : o.running) {
    auto kv = split_pair(spec, false);
    if (!kv) {
      std::cerr << "acmtool: --running takes NAME=LABEL, not '" << spec << "'\n";
      return kExitUsage;
    }
    running.push_back({domid++, kv->first, kv->second});
  }
  auto domid_of = [&](const std::string& name) -> std::optional<std::uint32_t> {
    for (const auto& d : running) {
      if (d.name == name) return d.domid;
    }
    return std::nullopt;
  };
  std::vector<ResourceLabelEntry> resource_labels;
  for (const auto& spec : o.resources) {
    auto kv = split_pair(spec, true);
    if (!kv) {
      std::cerr << "acmtool: --resource takes RESOURCE=LABEL, not '" << spec << "'\n";
      return kExitUsage;
    }
    resource_labels.push_back({kv->first, kv->second});
  }
  std::vector<ResourceInUse> in_use;
  for (const auto& spec : o.uses) {
    auto kv = split_pair(spec, false);
    auto id = kv ? domid_of(kv->first) : std::nullopt;
    if (!id) {
      std::cerr << "acmtool: --use takes NAME=RESOURCE for a domain given with --running, not '"
                << spec << "'\n";
      return kExitUsage;
    }
    std::string label;
    for (const auto& e : resource_labels) {
      if (e.resource == kv->second) label = e.label;
    }
    in_use.push_back({kv->second, label, *id});
  }
  std::vector<DomainSharing> sharings;
  for (const auto& spec : o.shares) {
    auto kv = split_pair(spec, false);
    auto a = kv ? domid_of(kv->first) : std::nullopt;
    auto b = kv ? domid_of(kv->second) : std::nullopt;
    if (!a || !b) {
      std::cerr << "acmtool: --share takes NAME=NAME of domains given with --running, not '" << spec
                << "'\n";
      return kExitUsage;
    }
    sharings.push_back({*a, *b, SharingKind::event_channel});
  }

  const SystemSnapshot system{running, in_use, resource_labels, sharings};
  const ActivePolicy current{*active->model, *active->numbering};
  // SAFETY: char and uint8_t have the same size and representation; the
  // text is only read, to hash it.
  const auto* xml_bytes = reinterpret_cast<const std::uint8_t*>(update->xml_text.data());
  const PolicyChangeOutcome outcome = evaluate_policy_change(
      current, update->model, system, o.reset ? ChangeMode::reset_to_default : ChangeMode::update,
      {xml_bytes, update->xml_text.size()});

  const PolicyHeader& from = active->model->header;
  const PolicyHeader& to = update->model.header;
  const std::string title = "update of policy '" + from.name + "' " + from.version.to_string() +
                            " to '" + to.name + "' " + to.version.to_string();
  if (o.json) {
    json j{{"ok", true},
           {"accepted", outcome.plan.has_value()},
           {"from", {{"policy", from.name}, {"version", from.version.to_string()}}},
           {"to", {{"policy", to.name}, {"version", to.version.to_string()}}}};
    json reasons = json::array();
    for (const auto& r : outcome.reasons) {
      reasons.push_back({{"code", change_reason_name(r.code)},
                         {"value", hex32(static_cast<std::uint32_t>(r.code))},
                         {"parameter", r.parameter},
                         {"text", r.text}});
    }
    j["reasons"] = reasons;
    if (outcome.plan) {
      const PolicyChangePlan& plan = *outcome.plan;
      json doms = json::array();
      for (const auto& d : plan.domains) {
        doms.push_back({{"domid", d.domid},
                        {"name", d.name},
                        {"old_label", d.old_label},
                        {"new_label", d.new_label},
                        {"old_ssidref", hex32(d.old_ssidref)},
                        {"new_ssidref", hex32(d.new_ssidref)}});
      }
      json res = json::array();
      for (const auto& r : plan.resources) {
        json e{
            {"resource", r.resource}, {"old_label", r.old_label}, {"invalidated", r.invalidated}};
        if (r.invalidated) {
          e["reason"] = r.reason;
        } else {
          e["new_label"] = r.new_label;
        }
        res.push_back(e);
      }
      auto mappings = [](const std::vector<LabelMapping>& list) {
        json out = json::array();
        for (const auto& m : list) {
          out.push_back(
              {{"old", m.old_name}, {"new", m.new_name ? json(*m.new_name) : json(nullptr)}});
        }
        return out;
      };
      json chg = json::array();
      for (const auto& [a, b] : plan.change_array)
        chg.push_back({a, b});
      j["domains"] = doms;
      j["resources"] = res;
      j["vm_labels"] = mappings(plan.vm_labels);
      j["resource_labels"] = mappings(plan.resource_labels);
      j["change_array"] = chg;
      j["delete_array"] = plan.delete_array;
    }
    std::cout << j.dump(2) << '\n';
    return outcome.plan ? kExitOk : kExitDeny;
  }

  print_warnings(o, update->warnings);
  if (!outcome.plan) {
    std::cout << title << ": rejected\n";
    for (const auto& r : outcome.reasons)
      std::cout << "  " << r.to_string() << '\n';
    return kExitDeny;
  }
  const PolicyChangePlan& plan = *outcome.plan;
  std::cout << title << ": accepted\n\nrunning domains\n";
  for (const auto& d : plan.domains) {
    std::printf("  %-12s %3u  %-30s -> %-24s %s -> %s\n", d.name.c_str(), d.domid,
                d.old_label.c_str(), d.new_label.c_str(), hex32(d.old_ssidref).c_str(),
                hex32(d.new_ssidref).c_str());
  }
  std::fflush(stdout);
  if (!plan.resources.empty()) {
    std::cout << "\nlabeled resources\n";
    for (const auto& r : plan.resources) {
      std::cout << "  " << r.resource << "  " << r.old_label << " -> "
                << (r.invalidated ? "INV_ACM (" + r.reason + ")" : r.new_label) << '\n';
    }
  }
  auto print_changes = [](const char* title_text, const std::vector<LabelMapping>& list) {
    bool any = false;
    for (const auto& m : list) {
      if (m.new_name && *m.new_name == m.old_name) continue;
      if (!any) std::cout << '\n' << title_text << '\n';
      any = true;
      std::cout << "  " << m.old_name << " -> " << (m.new_name ? *m.new_name : "(deleted)") << '\n';
    }
  };
  print_changes("VM labels renamed or deleted", plan.vm_labels);
  print_changes("resource labels renamed or deleted", plan.resource_labels);
  std::cout << "\nhypervisor change array:";
  for (const auto& [a, b] : plan.change_array)
    std::cout << ' ' << a << "->" << b;
  std::cout << "\nhypervisor delete array:";
  for (std::uint32_t d : plan.delete_array)
    std::cout << ' ' << d;
  std::cout << '\n';
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (auto err = parse_options(argc, argv, o)) {
    std::cerr << "acmtool: " << err->message << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (o.positional.empty() || o.positional[0] == "help") {
    std::cout << kUsage;
    return o.positional.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = o.positional[0];
  int status = kExitUsage;
  try {
    if (command == "validate") {
      status = cmd_validate(o);
    } else if (command == "compile") {
      status = cmd_compile(o);
    } else if (command == "dump") {
      status = cmd_dump(o);
    } else if (command == "decide") {
      status = cmd_decide(o);
    } else if (command == "plan") {
      status = cmd_plan(o);
    } else {
      std::cerr << "acmtool: unknown command '" << command << "'\n\n";
    }
  } catch (const std::exception& e) {
    // Only resource exhaustion reaches here (the library reports every input
    // problem as an Error).
    std::cerr << "acmtool: internal error: " << e.what() << '\n';
    return kExitError;
  }
  if (status == kExitUsage) std::cerr << kUsage;
  return status;
}
