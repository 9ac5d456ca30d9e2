// xend's policy management (manual 10.2.3, 10.3.5; reference
// xen-acm-tools.md 1.7-1.10, 1.13, 5.6-5.10): setpolicy, resetpolicy,
// getpolicy, labels, dumppolicy and the 3.0/3.1-style makepolicy,
// loadpolicy and cfgbootpolicy.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "acm/binary_policy.hpp"
#include "acm/file_io.hpp"
#include "acm/fingerprint.hpp"
#include "acm/map_file.hpp"
#include "acm/policy_change.hpp"
#include "acm/xml/policy_files.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv/boot_config.hpp"
#include "resources/label_store.hpp"
#include "xend/policy_text.hpp"
#include "devices/device_host.hpp"
#include "xend/xend.hpp"
#include "xend/xserr.hpp"

namespace shype::embedded {
extern const std::string_view kXendDefaultPolicy;
extern const std::string_view kHypervisorDefaultPolicy;
}  // namespace shype::embedded

namespace shype::xend {
namespace {

namespace fs = std::filesystem;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  // SAFETY: char and uint8_t have the same size and representation.
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Json xserr_data(Xserr code, std::vector<std::string> details = {}) {
  return Json{{"xserr", xserr_value(code)}, {"xserr_text", xserr_text(code)},
              {"details", std::move(details)}};
}

// A policy that failed to load: XSERR plus the located findings.
rpc::RpcError load_error(const acm::Error& error) {
  Xserr code = Xserr::policy_inconsistent;
  switch (error.code) {
    case acm::Errc::xml_malformed:
      code = Xserr::xml_processing;
      break;
    case acm::Errc::schema_violation:
      code = Xserr::bad_xml;
      break;
    case acm::Errc::io_error:
      code = Xserr::file_error;
      break;
    default:
      if (error.message.find("duplicate") != std::string::npos) {
        code = Xserr::policy_has_duplicates;
      }
      break;
  }
  std::vector<std::string> details;
  std::istringstream lines(error.to_string());
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) details.push_back(line);
  }
  return rpc::RpcError{static_cast<int>(rpc::ErrorCode::failed), xserr_text(code),
                       xserr_data(code, std::move(details))};
}

Xserr reason_xserr(acm::ChangeReasonCode code) {
  switch (code) {
    case acm::ChangeReasonCode::version_prevents_update: return Xserr::version_prevents_update;
    case acm::ChangeReasonCode::bad_label: return Xserr::bad_label;
    case acm::ChangeReasonCode::resource_access: return Xserr::resource_access;
    case acm::ChangeReasonCode::vm_not_authorized: return Xserr::vm_not_authorized;
    case acm::ChangeReasonCode::policy_inconsistent: return Xserr::policy_inconsistent;
    default: return Xserr::hv_op_failed;
  }
}

std::string domain_pair_text(std::int32_t data) {
  const auto value = static_cast<std::uint32_t>(data);
  return "domains " + std::to_string(value >> 16) + " and " + std::to_string(value & 0xffffu);
}

}  // namespace

// "event channel sharing violation between domains 1 and 2", ... (reference 1.7)
std::string hypervisor_error_text(const abi::AcmErrorTuple& e) {
  switch (e.code) {
    case abi::kAcmEvtchnSharingViolation:
      return "event channel sharing violation between " + domain_pair_text(e.data);
    case abi::kAcmGnttabSharingViolation:
      return "grant table sharing violation between " + domain_pair_text(e.data);
    case abi::kAcmDomainLookup:
      return "domain lookup " + std::to_string(e.data);
    case abi::kAcmChwallConflict:
      return "Chinese Wall conflict between " + domain_pair_text(e.data);
    case abi::kAcmSsidrefInUse:
      return "A domain used SSIDREF " + std::to_string(e.data);
    default:
      return "error " + std::to_string(e.code) + " (" + std::to_string(e.data) + ")";
  }
}

acm::Result<ManagedPolicy> build_managed_policy(std::string xml, const std::string& file_name) {
  auto loaded = acm::xml::load_policy_text(std::move(xml), file_name);
  if (!loaded) return tl::unexpected(loaded.error());
  if (loaded->model.header.name.find(':') != std::string::npos) {
    return acm::make_error(acm::Errc::semantic_error,
                           "policy name '" + loaded->model.header.name + "' contains ':'");
  }
  auto compiled = acm::compile_policy(loaded->model, bytes_of(loaded->xml_text));
  if (!compiled) return tl::unexpected(compiled.error());
  ManagedPolicy policy{std::move(loaded->xml_text), std::move(loaded->model),
                       std::move(*compiled), {}};
  policy.binary = acm::write_binary_policy(policy.compiled.image, acm::BinaryFormat::compact);
  return policy;
}

// store/a/b/c (no suffix) for policy a.b.c.
fs::path store_base(const Layout& layout, const std::string& name) {
  std::string relative = acm::policy_file_path(name);
  relative.erase(relative.size() - std::string_view("-security_policy.xml").size());
  return layout.store / relative;
}

fs::path admin_policy_xml(const Layout& layout, const std::string& name) {
  return layout.admin_policies / acm::policy_file_path(name);
}

acm::Status write_store(const Layout& layout, const ManagedPolicy& policy) {
  const std::string& name = policy.model.header.name;
  const fs::path base = store_base(layout, name);
  std::error_code ec;
  fs::create_directories(base.parent_path(), ec);
  if (ec) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot create '" + base.parent_path().string() + "': " + ec.message());
  }
  const fs::path xml = layout.store / acm::policy_file_path(name);
  const fs::path bin = base.string() + ".bin";
  const fs::path map = base.string() + ".map";
  if (auto w = acm::write_file_atomic(xml, policy.xml, 0600); !w) return w;
  if (auto w = acm::write_file_atomic(
          map, acm::write_map_file(policy.compiled.image, xml.string(), bin.string()), 0600);
      !w) {
    return w;
  }
  return acm::write_file_atomic(bin, policy.binary, 0600);
}

// --- boot configuration (the grub entry's analogue) -------------------------

namespace {

// Rewrites boot.conf: every line stays except those setting `keys`, and
// `additions` ("key = value") are appended.
acm::Status rewrite_boot_conf(const Layout& layout, const std::vector<std::string>& keys,
                              const std::vector<std::string>& additions) {
  std::string text;
  if (fs::exists(layout.boot_conf)) {
    auto old = acm::read_text_file(layout.boot_conf);
    if (!old) return tl::unexpected(old.error());
    text = std::move(*old);
  }
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::string_view view = line;
    const auto start = view.find_first_not_of(" \t");
    bool drop = false;
    if (start != std::string_view::npos) {
      const std::string_view rest = view.substr(start);
      for (const auto& key : keys) {
        if (rest.substr(0, key.size()) == key) {
          const auto after = rest.substr(key.size()).find_first_not_of(" \t");
          if (after != std::string_view::npos && rest.substr(key.size())[after] == '=') drop = true;
        }
      }
    }
    if (!drop) out += line + "\n";
  }
  for (const auto& line : additions) out += line + "\n";
  std::error_code ec;
  fs::create_directories(layout.boot_conf.parent_path(), ec);
  // The file must stay one the hypervisor accepts.
  if (auto parsed = hv::parse_boot_config(out, layout.boot_conf.string()); !parsed) {
    return tl::unexpected(parsed.error());
  }
  return acm::write_file_atomic(layout.boot_conf, out, 0644);
}

}  // namespace

acm::Status Xend::install_boot(const ManagedPolicy& policy, const std::string& dom0_label) {
  const std::string& name = policy.model.header.name;
  const fs::path bin = layout_.boot_dir / (name + ".bin");
  std::error_code ec;
  fs::create_directories(layout_.boot_dir, ec);
  if (auto w = acm::write_file_atomic(bin, policy.binary, 0644); !w) return w;
  std::vector<std::string> additions = {"policy = boot/" + name + ".bin"};
  if (!dom0_label.empty()) additions.push_back("dom0_label = " + dom0_label);
  return rewrite_boot_conf(layout_, {"policy", "dom0_label", "dom0_ssidref"}, additions);
}

acm::Status Xend::update_boot_dom0_label(const std::string& label) {
  if (!policy_ || !is_boot_policy(policy_->model.header.name)) return {};
  return rewrite_boot_conf(layout_, {"dom0_label", "dom0_ssidref"},
                           {"dom0_label = " + label});
}

acm::Status Xend::remove_boot() {
  return rewrite_boot_conf(layout_, {"policy", "dom0_label", "dom0_ssidref"}, {});
}

bool Xend::is_boot_policy(const std::string& name) const {
  auto config = hv::read_boot_config(layout_.boot_conf);
  if (!config || !config->policy) return false;
  auto bytes = acm::read_file(hv::resolve_under_root(layout_.root, *config->policy));
  if (!bytes) return false;
  auto image = acm::read_binary_policy(*bytes);
  return image && image->name == name;
}

std::string Xend::dom0_label() const {
  if (!hv_ || !policy_) return std::string(acm::kUnlabeled);
  auto ssid = const_cast<xc::Connection&>(*hv_).get_ssid(abi::kAcmGetByDomid, 0);
  if (!ssid) return std::string(acm::kUnlabeled);
  const auto index = ssid->ssidref & 0xffffu;
  const auto& labels = policy_->compiled.numbering.vm_labels;
  return index < labels.size() ? labels[index] : std::string(acm::kUnlabeled);
}

// --- changing the active policy ---------------------------------------------

namespace {

struct Snapshot {
  std::vector<acm::RunningDomainLabel> running;
  std::vector<acm::ResourceInUse> in_use;
  std::vector<acm::ResourceLabelEntry> labels;
};

}  // namespace

RpcResult Xend::change_policy(ManagedPolicy next, bool reset, const std::string& what) {
  if (!hv_ || !policy_) return rpc::fail("xend has no connection to the hypervisor");
  auto domains = hv_->list_domains();
  if (!domains) return rpc::fail("cannot list domains: " + domains.error().to_string());
  Snapshot snap;
  const auto& numbering = policy_->compiled.numbering;
  std::map<std::uint16_t, std::string> label_of;
  for (const auto& d : *domains) {
    const auto index = d.ssidref & 0xffffu;
    std::string label = index < numbering.vm_labels.size() ? numbering.vm_labels[index] : "";
    if (label == acm::kNullLabel) label.clear();
    label_of[d.domid] = label;
    snap.running.push_back({d.domid, d.name, label});
  }
  const std::string active_name = policy_->model.header.name;
  for (const auto& entry : resources_->list()) {
    if (entry.label.type == resources::LabelType::acm && entry.label.policy == active_name) {
      snap.labels.push_back({entry.resource.to_string(), entry.label.label});
    }
  }
  for (const auto& [domid, record] : running_) {
    if (!label_of.contains(domid)) continue;
    for (const auto& disk : record.disks) {
      std::string label;
      for (const auto& l : snap.labels) {
        if (l.resource == disk) label = l.label;
      }
      snap.in_use.push_back({disk, label, domid});
    }
  }
  const acm::SystemSnapshot system{snap.running, snap.in_use, snap.labels, {}};
  const acm::ActivePolicy active{policy_->model, policy_->compiled.numbering};
  auto outcome = acm::evaluate_policy_change(
      active, next.model, system,
      reset ? acm::ChangeMode::reset_to_default : acm::ChangeMode::update, bytes_of(next.xml));
  if (!outcome.plan) {
    std::vector<std::string> details;
    for (const auto& r : outcome.reasons) details.push_back(r.to_string());
    const Xserr code = outcome.reasons.empty() ? Xserr::general_failure
                                               : reason_xserr(outcome.reasons.front().code);
    log_.warning(what + " refused: " + (details.empty() ? "" : details.front()));
    return rpc::fail(xserr_text(code), xserr_data(code, details));
  }
  acm::PolicyChangePlan& plan = *outcome.plan;
  next.compiled = std::move(plan.compiled);
  next.binary = acm::write_binary_policy(next.compiled.image, acm::BinaryFormat::compact);

  auto loaded = hv_->change_policy(next.binary, plan.delete_array, plan.change_array);
  if (!loaded) {
    std::vector<std::string> details;
    std::string hv_text;
    for (const auto& e : loaded.error().acm_errors) {
      details.push_back(hypervisor_error_text(e));
      hv_text += hypervisor_error_text(e);
    }
    if (!loaded.error().message.empty()) details.push_back(loaded.error().message);
    log_.warning(what + " refused by the hypervisor: " + loaded.error().to_string());
    Json data = xserr_data(Xserr::hv_op_failed, details);
    data["hypervisor_errors"] = hv_text;
    return rpc::fail(xserr_text(Xserr::hv_op_failed), std::move(data));
  }
  // Committed in the hypervisor: the bridges decide again under it.
  if (devices_) devices_->policy_changed();
  // Committed in the hypervisor: bring the stores in line.
  std::vector<std::string> warnings;
  if (auto w = write_store(layout_, next); !w) warnings.push_back(w.error().to_string());
  std::vector<resources::Change> changes;
  for (const auto& r : plan.resources) {
    auto name = resources::ResourceName::parse_canonical(r.resource);
    if (!name) {
      warnings.push_back(name.error().to_string());
      continue;
    }
    resources::Change change;
    change.resource = std::move(*name);
    change.expected_old = resources::ResourceLabel{resources::LabelType::acm, active_name,
                                                   r.old_label};
    if (r.invalidated) {
      change.new_label = change.expected_old->invalidated();
    } else {
      change.new_label = resources::ResourceLabel{resources::LabelType::acm,
                                                  next.model.header.name, r.new_label};
    }
    if (change.new_label != change.expected_old) changes.push_back(std::move(change));
  }
  if (!changes.empty()) {
    if (auto w = resources_->apply(changes); !w) warnings.push_back(w.error().to_string());
  }
  Json renamed = Json::array();
  for (const auto& d : plan.domains) {
    if (d.old_label != d.new_label) {
      renamed.push_back({{"domid", d.domid}, {"name", d.name}, {"from", d.old_label},
                         {"to", d.new_label}});
    }
  }
  log_.info(what + ": policy " + next.model.header.name + " " +
            next.model.header.version.to_string() + " is active (" +
            std::to_string(renamed.size()) + " domain labels renamed, " +
            std::to_string(changes.size()) + " resource labels updated)");
  for (const auto& w : warnings) log_.error(what + ": " + w);
  policy_ = std::move(next);
  return Json{{"renamed", renamed}, {"warnings", warnings}};
}

acm::Status Xend::adopt_or_reset_at_start() {
  // Write (and compile) DEFAULT into the store at every start (reference 5.10).
  auto xend_default = build_managed_policy(std::string(embedded::kXendDefaultPolicy),
                                           "DEFAULT-security_policy.xml");
  if (!xend_default) return tl::unexpected(xend_default.error());
  if (auto w = write_store(layout_, *xend_default); !w) return w;

  auto enforced_bytes = hv_->get_policy();
  if (!enforced_bytes) {
    return acm::make_error(acm::Errc::io_error,
                           "cannot read the hypervisor's policy: " +
                               enforced_bytes.error().to_string());
  }
  auto enforced = acm::read_binary_policy(*enforced_bytes);
  if (!enforced) return tl::unexpected(enforced.error());

  // The stored XML of the enforced policy, if its SHA-1 is the one the
  // binary carries.
  const fs::path xml_path = layout_.store / acm::policy_file_path(enforced->name);
  if (fs::exists(xml_path)) {
    auto xml = acm::read_text_file(xml_path);
    if (xml && acm::sha1(bytes_of(*xml)) == enforced->xml_sha1) {
      auto adopted = build_managed_policy(std::move(*xml), xml_path.string());
      if (adopted) {
        policy_ = std::move(*adopted);
        log_.info("adopted the hypervisor's policy " + enforced->name + " " +
                  enforced->xml_version.to_string() + " from " + xml_path.string());
        return {};
      }
      log_.warning("stored policy " + xml_path.string() + ": " + adopted.error().to_string());
    }
  }
  // The hypervisor runs its built-in policy (or one xend does not know):
  // switch it to xend's DEFAULT. The built-in one is what is active now.
  auto builtin = build_managed_policy(std::string(embedded::kHypervisorDefaultPolicy),
                                      "DEFAULT (built into shype-hv)");
  if (!builtin) return tl::unexpected(builtin.error());
  if (builtin->compiled.image.xml_sha1 != enforced->xml_sha1) {
    // An unknown policy: its labels are read as the built-in DEFAULT's
    // would be, so only Domain-0 keeps a label (reset semantics).
    log_.warning("the hypervisor enforces policy " + enforced->name +
                 " whose XML xend does not have; switching to DEFAULT");
  }
  policy_ = std::move(*builtin);
  auto switched = change_policy(std::move(*xend_default), true, "start");
  if (!switched) {
    log_.warning("could not switch to DEFAULT (" + switched.error().message +
                 "); serving the hypervisor's built-in DEFAULT policy");
  } else {
    log_.info("Switched to DEFAULT policy.");
  }
  return {};
}

// --- the RPC methods ---------------------------------------------------------

RpcResult Xend::get_policy(const Json& params) {
  if (!policy_) return rpc::fail("No policy is installed.");
  const auto& header = policy_->model.header;
  const bool boot = header.name != "DEFAULT" && is_boot_policy(header.name);
  Json result = {{"subsystems", Json::array({"ACM"})},
                 {"name", header.name},
                 {"type", "ACM"},
                 {"version", header.version.to_string()},
                 {"loaded", true},
                 {"boot", boot}};
  if (params.value("xml", false)) result["xml"] = policy_->xml;
  return result;
}

RpcResult Xend::set_policy(const Json& params) {
  const std::string type = params.value("type", std::string("ACM"));
  if (type != "ACM") return rpc::fail("Unsupported policytype '" + type + "'.");
  if (!params.contains("xml") || !params["xml"].is_string()) {
    return rpc::fail("setpolicy needs the policy XML", nullptr, rpc::ErrorCode::invalid_params);
  }
  const std::string source = params.value("file", std::string("policy"));
  auto next = build_managed_policy(params["xml"].get<std::string>(), source);
  if (!next) return tl::unexpected(load_error(next.error()));
  const bool boot = params.value("boot", true);
  const std::string name = next->model.header.name;
  auto changed = change_policy(std::move(*next), name == "DEFAULT", "setpolicy " + name);
  if (!changed) return changed;
  if (boot && name != "DEFAULT") {
    if (auto w = install_boot(*policy_, dom0_label()); !w) {
      log_.error("setpolicy " + name + ": boot install: " + w.error().to_string());
      (*changed)["warnings"].push_back(std::string(xserr_text(Xserr::boot_policy_install_error)) +
                                       ": " + w.error().to_string());
    }
  } else if (name == "DEFAULT") {
    (void)remove_boot();
  }
  auto info = get_policy(Json::object());
  (*changed)["policy"] = info ? *info : Json();
  return changed;
}

RpcResult Xend::reset_policy(const Json&) {
  if (!policy_) return rpc::fail("No policy is installed.");
  const std::string old_name = policy_->model.header.name;
  const bool old_was_boot = old_name == "DEFAULT" || is_boot_policy(old_name);
  auto next = build_managed_policy(std::string(embedded::kXendDefaultPolicy),
                                   "DEFAULT-security_policy.xml");
  if (!next) return tl::unexpected(load_error(next.error()));
  auto changed = change_policy(std::move(*next), true, "resetpolicy");
  if (!changed) {
    return rpc::fail("Could not reset the system's policy. Try to halt all guests.",
                     changed.error().data);
  }
  if (auto w = remove_boot(); !w) log_.error("resetpolicy: " + w.error().to_string());
  if (!old_was_boot) (*changed)["note"] = "Old policy not found in bootloader file.";
  return changed;
}

RpcResult Xend::list_labels(const Json& params) {
  const std::string type = params.value("type", std::string("dom"));
  if (type != "dom" && type != "res" && type != "any") {
    return rpc::fail("Unknown label type '" + type + "'");
  }
  std::string name = params.value("policy", std::string());
  const ManagedPolicy* policy = policy_ ? &*policy_ : nullptr;
  std::optional<ManagedPolicy> other;
  if (!name.empty() && (!policy_ || name != policy_->model.header.name)) {
    const fs::path xml_path = layout_.store / acm::policy_file_path(name);
    const fs::path admin_path = admin_policy_xml(layout_, name);
    const fs::path path = fs::exists(xml_path) ? xml_path : admin_path;
    auto xml = acm::read_text_file(path);
    if (!xml) {
      return rpc::fail("Policy file '" + (fs::path("/etc/xen/acm-security/policies") /
                                          acm::policy_file_path(name))
                                             .string() +
                       "' not found.");
    }
    auto built = build_managed_policy(std::move(*xml), path.string());
    if (!built) return tl::unexpected(load_error(built.error()));
    other = std::move(*built);
    policy = &*other;
  }
  if (policy == nullptr) return rpc::fail("Current policy 'NULL' has no labels defined.");
  std::vector<std::string> labels;
  if (type == "dom" || type == "any") {
    for (const auto& l : policy->model.vm_labels) labels.push_back(l.name);
  }
  if (type == "res" || type == "any") {
    for (const auto& l : policy->model.resource_labels) labels.push_back(l.name);
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  std::erase(labels, std::string(acm::kNullLabel));
  return Json{{"policy", policy->model.header.name}, {"type", type}, {"labels", labels}};
}

RpcResult Xend::dump_policy(const Json&) {
  if (!hv_ || !policy_) return rpc::fail("'NULL' policy. Nothing to dump.");
  auto bytes = hv_->get_policy();
  if (!bytes) return rpc::fail("Dumping hypervisor policy failed:\n" + bytes.error().to_string());
  auto image = acm::read_binary_policy(*bytes);
  if (!image) return rpc::fail("Dumping hypervisor policy failed:\n" + image.error().to_string());
  auto stats = hv_->dumpstats();
  auto dom0 = hv_->get_ssid(abi::kAcmGetByDomid, 0);
  return Json{{"text", dump_policy_text(*image, dom0 ? dom0->ssidref : 0,
                                        stats ? &*stats : nullptr,
                                        acm::to_hex(acm::sha256(*bytes)))}};
}

// --- 3.0/3.1-style steps (reference 1.13) -----------------------------------

RpcResult Xend::make_policy(const Json& params) {
  const std::string name = params.value("policy", std::string());
  if (name.empty()) return rpc::fail("No XML policy file specified");
  const fs::path xml = admin_policy_xml(layout_, name);
  if (!fs::exists(xml)) return rpc::fail("Unknown policy '" + name + "'");
  auto compiled = acm::xml::compile_policy_file(xml, {}, acm::BinaryFormat::compact);
  if (!compiled) {
    return rpc::fail("Creating policy failed:\n" + compiled.error().to_string());
  }
  return Json{{"binary", compiled->binary_path.lexically_relative(layout_.root).string()},
              {"map", compiled->map_path.lexically_relative(layout_.root).string()},
              {"name", compiled->policy_name}};
}

RpcResult Xend::load_policy(const Json& params) {
  const std::string name = params.value("policy", std::string());
  if (name.empty()) return rpc::fail("No policy specified");
  const fs::path xml_path = admin_policy_xml(layout_, name);
  const fs::path bin_path = acm::xml::default_binary_path(xml_path);
  if (!fs::exists(xml_path)) return rpc::fail("Unknown Policy " + name);
  if (!fs::exists(bin_path)) {
    return rpc::fail(
        "Binary file does not exist.Please use makepolicy to build the policy binary.");
  }
  if (policy_ && policy_->model.header.name != "DEFAULT" &&
      policy_->model.header.name != name) {
    return rpc::fail("Loading policy failed:\nthe active policy is " +
                     policy_->model.header.name + "; only DEFAULT or the same policy may be replaced");
  }
  auto xml = acm::read_text_file(xml_path);
  auto bin = acm::read_file(bin_path);
  if (!xml || !bin) return rpc::fail("Loading policy failed:\ncannot read " + name);
  auto next = build_managed_policy(std::move(*xml), xml_path.string());
  if (!next) return tl::unexpected(load_error(next.error()));
  auto image = acm::read_binary_policy(*bin);
  if (!image || image->xml_sha1 != next->compiled.image.xml_sha1) {
    return rpc::fail("Loading policy failed:\n" + bin_path.string() +
                     " is not the compiled form of " + xml_path.string() +
                     " (run makepolicy again)");
  }
  return change_policy(std::move(*next), false, "loadpolicy " + name);
}

RpcResult Xend::cfg_boot_policy(const Json& params) {
  const std::string name = params.value("policy", std::string());
  const fs::path bin_path = acm::xml::default_binary_path(admin_policy_xml(layout_, name));
  auto bin = acm::read_file(bin_path);
  if (!bin) return rpc::fail("Unknown Policy " + name);
  auto image = acm::read_binary_policy(*bin);
  if (!image) return rpc::fail("'" + bin_path.string() + "': " + image.error().to_string());
  std::error_code ec;
  fs::create_directories(layout_.boot_dir, ec);
  if (auto w = acm::write_file_atomic(layout_.boot_dir / (name + ".bin"), *bin, 0644); !w) {
    return rpc::fail(w.error().to_string());
  }
  std::vector<std::string> additions = {"policy = boot/" + name + ".bin"};
  if (auto w = rewrite_boot_conf(layout_, {"policy", "dom0_label", "dom0_ssidref"}, additions);
      !w) {
    return rpc::fail(w.error().to_string());
  }
  return Json{{"title", "shype"}, {"binary", name + ".bin"}};
}

}  // namespace shype::xend
