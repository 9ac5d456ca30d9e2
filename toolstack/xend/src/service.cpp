// xend's JSON-RPC surface: one method per xm operation. The method names
// and their parameters are documented in docs/xend.md.
#include <functional>
#include <unordered_map>

#include "xend/xend.hpp"

namespace shype::xend {

RpcResult Xend::call(const std::string& method, const Json& params) {
  using Method = RpcResult (Xend::*)(const Json&);
  static const std::unordered_map<std::string, Method> kMethods = {
      {"xend.info", &Xend::info},
      {"policy.get", &Xend::get_policy},
      {"policy.set", &Xend::set_policy},
      {"policy.reset", &Xend::reset_policy},
      {"policy.dump", &Xend::dump_policy},
      {"policy.labels", &Xend::list_labels},
      {"policy.make", &Xend::make_policy},
      {"policy.load", &Xend::load_policy},
      {"policy.cfgboot", &Xend::cfg_boot_policy},
      {"resource.label", &Xend::label_resource},
      {"resource.unlabel", &Xend::unlabel_resource},
      {"resource.get", &Xend::get_resource_label},
      {"resource.list", &Xend::list_resources},
      {"label.check", &Xend::check_vm_label},
      {"domain.set_label", &Xend::label_managed},
      {"domain.remove_label", &Xend::unlabel_managed},
      {"domain.get_label", &Xend::get_managed_label},
      {"domain.create", &Xend::create_domain},
      {"domain.dry_run", &Xend::dry_run},
      {"domain.list", &Xend::list_domains},
      {"domain.shutdown", &Xend::shutdown_domain},
      {"domain.destroy", &Xend::destroy_domain},
      {"domain.uptime", &Xend::uptime},
      {"domain.console_read", &Xend::console_read},
      {"domain.console_write", &Xend::console_write},
      {"domain.console_path", &Xend::console_path},
      {"xenstore.ls", &Xend::xenstore_ls},
      {"xenstore.read", &Xend::xenstore_read},
      {"xenstore.write", &Xend::xenstore_write},
      {"xenstore.chmod", &Xend::xenstore_chmod},
      {"block.list", &Xend::block_list},
      {"block.attach", &Xend::block_attach},
      {"block.detach", &Xend::block_detach},
      {"network.list", &Xend::network_list},
      {"network.attach", &Xend::network_attach},
      {"network.detach", &Xend::network_detach},
      {"vtpm.list", &Xend::vtpm_list},
      {"domain.save", &Xend::save_domain},
      {"domain.restore", &Xend::restore_domain},
      {"domain.sched_credit", &Xend::sched_credit},
      {"domain.vcpu_pin", &Xend::vcpu_pin},
      {"domain.vcpu_list", &Xend::vcpu_list},
      {"domain.new", &Xend::new_managed},
      {"domain.start", &Xend::start_managed},
      {"domain.delete", &Xend::delete_managed},
      {"audit.read", &Xend::audit_read},
  };
  if (method == "domain.pause" || method == "domain.unpause") {
    if (auto connected = reconnect_if_needed(); !connected) {
      return rpc::fail("the hypervisor is not running (" + connected.error().message + ")");
    }
    return pause_domain(params, method == "domain.pause");
  }
  const auto found = kMethods.find(method);
  if (found == kMethods.end()) {
    return rpc::fail("unknown method '" + method + "'", nullptr,
                     rpc::ErrorCode::method_not_found);
  }
  if (!params.is_object()) {
    return rpc::fail("parameters must be an object", nullptr, rpc::ErrorCode::invalid_params);
  }
  if (auto connected = reconnect_if_needed(); !connected) {
    return rpc::fail("the hypervisor is not running under " + layout_.root.string() + " (" +
                     connected.error().message + ")");
  }
  try {
    return (this->*(found->second))(params);
  } catch (const Json::exception& e) {
    return rpc::fail(std::string("bad parameters: ") + e.what(), nullptr,
                     rpc::ErrorCode::invalid_params);
  }
}

}  // namespace shype::xend
