#include "hv/boot.hpp"

#include <system_error>

#include "acm/binary_policy.hpp"
#include "acm/file_io.hpp"
#include "acm/map_file.hpp"

namespace shype::hv {
namespace {

// The names of a policy, from the binary itself or its .map file.
acm::Result<acm::PolicyImage> named_image(std::span<const std::uint8_t> bytes,
                                          const std::optional<std::filesystem::path>& file) {
  auto image = acm::read_binary_policy(bytes);
  if (!image) return tl::unexpected(image.error());
  if (image->names) return image;
  if (!file) {
    return acm::make_error(acm::Errc::not_found, "the built-in policy carries no label names");
  }
  std::filesystem::path map = *file;
  map.replace_extension(".map");
  std::error_code ec;
  if (!std::filesystem::exists(map, ec)) {
    return acm::make_error(acm::Errc::not_found,
                           "policy '" + file->string() +
                               "' carries no label names and there is no '" + map.string() +
                               "' beside it: use dom0_ssidref, or a compact-format policy");
  }
  auto text = acm::read_text_file(map);
  if (!text) return tl::unexpected(text.error());
  auto named = acm::attach_map_names(std::move(*image), *text);
  if (!named) {
    acm::Error error = named.error();
    error.message = map.string() + ": " + error.message;
    return tl::unexpected(std::move(error));
  }
  return named;
}

}  // namespace

acm::Result<BootPlan> plan_boot(const BootConfig& config, const std::filesystem::path& root) {
  BootPlan plan;
  plan.xsm.module = config.xsm_module;
  plan.cgroup_parent = config.cgroup_parent;
  plan.dom0_cpus = config.dom0_cpus;
  std::optional<std::filesystem::path> policy_file;
  if (config.policy) {
    policy_file = resolve_under_root(root, *config.policy);
    auto bytes = acm::read_file(*policy_file);
    if (!bytes) return tl::unexpected(bytes.error());
    plan.xsm.boot_policy = std::move(*bytes);
    plan.policy_source = policy_file->string();
  } else {
    plan.policy_source = "built-in DEFAULT";
  }
  if (config.dom0_ssidref) plan.xsm.domain0_ssidref = *config.dom0_ssidref;
  if (config.dom0_label) {
    const std::span<const std::uint8_t> bytes =
        policy_file ? std::span<const std::uint8_t>(plan.xsm.boot_policy)
                    : xsm::builtin_default_policy();
    auto image = named_image(bytes, policy_file);
    if (!image) {
      acm::Error error = image.error();
      error.message = "dom0_label '" + *config.dom0_label + "': " + error.message;
      return tl::unexpected(std::move(error));
    }
    const auto labels = acm::map_labels(*image);
    auto ssidref = acm::find_label_ssidref(labels, *config.dom0_label, 'V');
    if (!ssidref) {
      acm::Error error = ssidref.error();
      error.message = "dom0_label: " + error.message;
      return tl::unexpected(std::move(error));
    }
    plan.xsm.domain0_ssidref = *ssidref;
  }
  return plan;
}

}  // namespace shype::hv
