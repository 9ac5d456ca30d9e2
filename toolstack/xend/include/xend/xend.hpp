// xend: Domain-0's toolstack daemon (ARCHITECTURE 4; manual 4.1, 10).
//
// One Xend owns, for one SHYPE_ROOT: the connection to the hypervisor, the
// managed policy (its XML, compiled binary and label numbering), the
// resource label store, the records of the domains it started and the
// managed (dormant) domain configurations. xm reaches it through JSON-RPC
// (service.cpp: one method per xm operation). Every method runs to
// completion on xend's single thread, so concurrent xm commands are
// serialized and never see a half-applied change.
//
// Policy logic is the policy core's (acm/: compile, number, plan a change);
// xend sequences it with the hypervisor and the stores:
//   prepare (plan, compile, stage files) -> hypervisor (atomic) -> commit
//   (store files, resource labels, domain records, boot entry); a refusal at
//   any step before the hypervisor leaves everything as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "acm/compiler.hpp"
#include "acm/policy_model.hpp"
#include "hv/log.hpp"
#include "rpc/json_rpc.hpp"
#include "xend/layout.hpp"
#include "xenctrl/connection.hpp"
#include "xmconfig/domain_config.hpp"

namespace shype::devices {
class DeviceHost;
}  // namespace shype::devices

namespace shype::resources {
class ResourceLabelStore;
class RootFs;
}  // namespace shype::resources

namespace shype::xend {

using rpc::Json;
using RpcResult = rpc::Result<Json>;

// The active policy as xend manages it.
struct ManagedPolicy {
  std::string xml;
  acm::PolicyModel model;
  acm::CompiledPolicy compiled;
  std::vector<std::uint8_t> binary;  // compact format, what the hypervisor loaded
};

// A domain xend started (or restored), as recorded under
// var/lib/xend/domains/running/<domid>.json so a restarted xend knows it.
// A vif attached to a running domain, as offered again later.
struct AttachedVif {
  std::uint32_t devid = 0;
  std::string mac;
  std::string bridge;
  std::string backend;  // the driver domain's name ("" : Domain-0)
};

// The devices a saved domain had when it was saved (its record's
// attached_disks and attached_vifs), which its restore attaches instead of
// its configuration's.
struct RecordedDevices {
  std::vector<std::string> disks;
  std::vector<AttachedVif> vifs;
};

// AttachedVif lists in records and save images.
[[nodiscard]] Json attached_vifs_json(const std::vector<AttachedVif>& vifs);
[[nodiscard]] std::vector<AttachedVif> attached_vifs_from_json(const Json& j);

struct DomainRecord {
  std::uint16_t domid = 0;
  std::string name;
  std::string config_file;   // as the user named it ("" for managed/restored)
  Json config;               // xmconfig::to_json of the domain's configuration
  std::vector<std::string> disks;  // canonical resource names, config order
  // The disks attached now (from the configuration, then block-attach and
  // block-detach), each a `disk` entry naming the canonical resource and
  // the driver domain by name, whatever id it was given by
  // ("file:/abs,xvda,w,backend=vio"): what a later xend, a driver domain
  // started again, or a restore of the domain offers it again.
  std::vector<std::string> attached_disks;
  // The same for vifs (the configuration's, then network-attach and
  // network-detach), with the device id and MAC they got.
  std::vector<AttachedVif> attached_vifs;
  std::string created_at;    // ISO 8601
  bool managed = false;
  // The guest's console and xenstore ports (0: no devices), so that a later
  // xend can adopt its console and store (DeviceHost::adopt_domain).
  std::uint32_t console_port = 0;
  std::uint32_t store_port = 0;
};

class Xend {
 public:
  Xend(Layout layout, hv::Log& log);
  ~Xend();
  Xend(const Xend&) = delete;
  Xend& operator=(const Xend&) = delete;

  // Connects to the hypervisor, installs DEFAULT in the store, adopts the
  // hypervisor's policy (or switches it to DEFAULT, reference 5.10), loads
  // the resource label store and the domain records.
  [[nodiscard]] acm::Status start();

  // Handles one JSON-RPC method call.
  [[nodiscard]] RpcResult call(const std::string& method, const Json& params);

  // Periodic work (domain exits: on_poweroff / on_crash). Called by the
  // server loop when the dom_exc doorbell rings and on a timer.
  void tick();
  // The doorbell rung when a domain dies or shuts down (-1 if none).
  [[nodiscard]] int domain_event_fd() const noexcept;

  [[nodiscard]] const Layout& layout() const noexcept { return layout_; }

  // A hypervisor that restarted (or went away) since the last call: connect
  // again and adopt its policy and domains as at start.
  [[nodiscard]] acm::Status reconnect_if_needed();

 private:
  // --- policy (xend_policy.cpp) ---
  RpcResult get_policy(const Json& params);
  RpcResult set_policy(const Json& params);
  RpcResult reset_policy(const Json& params);
  RpcResult dump_policy(const Json& params);
  RpcResult list_labels(const Json& params);
  RpcResult make_policy(const Json& params);
  RpcResult load_policy(const Json& params);
  RpcResult cfg_boot_policy(const Json& params);
  void run_on_domain0_cpus();
  [[nodiscard]] acm::Status adopt_or_reset_at_start();
  [[nodiscard]] bool is_boot_policy(const std::string& name) const;
  [[nodiscard]] acm::Status install_boot(const ManagedPolicy& policy,
                                         const std::string& dom0_label);
  [[nodiscard]] acm::Status update_boot_dom0_label(const std::string& label);
  [[nodiscard]] acm::Status remove_boot();
  RpcResult change_policy(ManagedPolicy next, bool reset, const std::string& what);
  [[nodiscard]] std::string dom0_label() const;

  // --- labels (xend_labels.cpp) ---
  RpcResult label_resource(const Json& params);
  RpcResult unlabel_resource(const Json& params);
  RpcResult get_resource_label(const Json& params);
  RpcResult list_resources(const Json& params);
  RpcResult check_vm_label(const Json& params);
  RpcResult label_managed(const Json& params);
  RpcResult unlabel_managed(const Json& params);
  RpcResult get_managed_label(const Json& params);

  // --- domains (xend_domains.cpp) ---
  RpcResult create_domain(const Json& params);
  RpcResult dry_run(const Json& params);
  RpcResult list_domains(const Json& params);
  RpcResult shutdown_domain(const Json& params);
  RpcResult destroy_domain(const Json& params);
  RpcResult pause_domain(const Json& params, bool pause);
  RpcResult uptime(const Json& params);
  RpcResult console_read(const Json& params);
  RpcResult console_write(const Json& params);
  RpcResult save_domain(const Json& params);
  RpcResult restore_domain(const Json& params);
  // Restores the image in `image_fd` (inspected: `info`) under the active
  // policy, with its devices; `file` names it in messages. Used by
  // restore_domain and by save_domain when the file cannot be written.
  RpcResult restore_image(int image_fd, const xc::SaveImageInfo& info, bool paused,
                          const std::string& file);
  RpcResult sched_credit(const Json& params);
  RpcResult vcpu_pin(const Json& params);
  RpcResult vcpu_list(const Json& params);
  RpcResult new_managed(const Json& params);
  RpcResult start_managed(const Json& params);
  RpcResult delete_managed(const Json& params);
  RpcResult audit_read(const Json& params);
  RpcResult info(const Json& params);
  void load_domain_records();
  [[nodiscard]] acm::Status save_record(const DomainRecord& record);
  void drop_record(std::uint16_t domid);
  // Resolves "name" or "domid" to a running domain.
  [[nodiscard]] rpc::Result<xc::DomainInfo> find_domain(const Json& params);
  // The create checks of reference 6.2 in the manual's order; on success
  // the domain runs (or is paused) and is recorded.
  RpcResult start_from_config(const Json& config_json, const std::string& config_file,
                              bool paused, bool managed);
  // --- devices (xend_devices.cpp) ---
  // A new paused domain's devices: console and xenstore (introduce), then
  // its disks and vifs: the configuration's, or for a restored domain those
  // it had when it was saved (`recorded`). On failure the caller destroys
  // the domain.
  [[nodiscard]] acm::Status attach_devices(std::uint16_t domid, const std::string& name,
                                           const Json& config_json,
                                           const RecordedDevices* recorded = nullptr);
  [[nodiscard]] acm::Status attach_recorded_disks(std::uint16_t domid,
                                                  const std::vector<std::string>& disks);
  [[nodiscard]] acm::Status attach_recorded_vifs(std::uint16_t domid,
                                                 const std::vector<AttachedVif>& vifs);
  [[nodiscard]] acm::Status attach_config_disks(std::uint16_t domid, const Json& config_json);
  [[nodiscard]] acm::Status attach_config_vifs(std::uint16_t domid, const Json& config_json);
  // The domain is gone or going (destroyed, shut down, crashed, saved).
  void release_devices(std::uint16_t domid);
  // Copies the domain's console and store ports from the device host into
  // its record (for a later xend).
  void remember_device_ports(DomainRecord& record);
  // xend started with the domain running: its console and store again.
  void adopt_devices(const DomainRecord& record);
  // Offers the domain's attached disks (record.attached_disks) again, all
  // of them (a new xend, whose store is new) or those served by the driver
  // domain named `backend` (it started again). The checks of an attach run
  // again; a disk still attached, or refused now, is left out (logged).
  void reattach_disks(const DomainRecord& record, const std::optional<std::string>& backend);
  // The same for the domain's vifs (same device ids and MACs).
  void reattach_vifs(const DomainRecord& record, const std::optional<std::string>& backend);
  // A domain named `name` started: the clients whose disks and vifs it
  // serves get them again.
  void reattach_clients_of(const std::string& name);
  // Keeps a vif just attached in the domain's record (its MAC as the device
  // host chose it).
  void remember_vif(abi::domid_t domid, std::uint32_t devid, const std::string& backend);
  RpcResult console_path(const Json& params);
  // Domain-0's view of xenstore (xm xenstore-ls / -read / -write).
  RpcResult xenstore_ls(const Json& params);
  RpcResult xenstore_read(const Json& params);
  RpcResult xenstore_write(const Json& params);
  RpcResult xenstore_chmod(const Json& params);
  // --- block devices (xend_blk.cpp) ---
  // The create checks of one disk (manual 10.2.6): its canonical name and
  // its label's ssidref under the active policy, or the manual's refusal.
  struct DiskAccess {
    std::string resource;
    std::uint32_t ssidref = 0;
  };
  [[nodiscard]] rpc::Result<DiskAccess> check_disk_access(const std::string& uname,
                                                          const std::string& cwd,
                                                          std::uint32_t vm_ssidref, bool labeled);
  // The backend domain of a disk (`backend=`): Domain-0, or a running
  // driver domain that holds the resource.
  [[nodiscard]] rpc::Result<abi::domid_t> disk_backend(const std::optional<std::string>& text,
                                                       const DiskAccess& access,
                                                       const std::string& uname,
                                                       abi::domid_t frontend);
  // One disk for a running domain: the checks above, then the device
  // host's directories. Returns the device id and the canonical resource.
  struct AttachedDisk {
    std::uint32_t devid = 0;
    std::string resource;
    std::string entry;  // for DomainRecord::attached_disks
  };
  [[nodiscard]] rpc::Result<AttachedDisk> attach_disk_entry(abi::domid_t domid,
                                                            const xmconfig::DiskSpec& entry,
                                                            const std::string& cwd,
                                                            std::uint32_t vm_ssidref, bool labeled);
  // One recorded disk or vif attached again (the checks of an attach run
  // again); what it got.
  [[nodiscard]] rpc::Result<AttachedDisk> offer_recorded_disk(abi::domid_t domid,
                                                              const std::string& text);
  [[nodiscard]] rpc::Result<std::uint32_t> offer_recorded_vif(abi::domid_t domid,
                                                              const AttachedVif& vif);
  // How a record names a backend domain: "" for Domain-0, else its name
  // (a restarted driver domain keeps its name, not its id).
  [[nodiscard]] std::string backend_name(abi::domid_t backend) const;
  // Whether the domain's configuration names a label (a disk of the active
  // policy needs one).
  [[nodiscard]] bool domain_labeled(abi::domid_t domid, std::uint32_t ssidref) const;
  RpcResult block_list(const Json& params);
  RpcResult block_attach(const Json& params);
  RpcResult block_detach(const Json& params);
  // --- network interfaces (xend_net.cpp) ---
  // The backend domain of a vif (`backend=`): Domain-0, or a running driver
  // domain, by name or id, that may share with the client.
  [[nodiscard]] rpc::Result<abi::domid_t> vif_backend(const std::optional<std::string>& text,
                                                      abi::domid_t frontend);
  RpcResult network_list(const Json& params);
  RpcResult network_attach(const Json& params);
  RpcResult network_detach(const Json& params);
  // --- vTPMs (xend_vtpm.cpp) ---
  // The configuration's `vtpm = [...]`: bind, label, start and attach the
  // domain's instance through vtpm_managerd. An error refuses the domain.
  [[nodiscard]] acm::Status attach_config_vtpm(std::uint16_t domid, const std::string& name,
                                               const Json& config_json);
  // The domain is gone: its instance is detached and stopped (saved).
  void release_vtpm(std::uint16_t domid);
  // xend started with the domain running: which instance is attached to it
  // (attached again if the manager restarted meanwhile).
  void adopt_vtpm(const DomainRecord& record);
  // The manager's socket is not the one the attachments were made through
  // (vtpm_managerd started again: its instances run again, detached):
  // every domain's instance is started if need be and attached again, the
  // label check included. Called from tick(); one stat() when nothing
  // changed.
  void reattach_vtpms_if_manager_restarted();
  RpcResult vtpm_list(const Json& params);

  // cpu_weight, cpu_cap and cpus of a configuration, applied to a new domain.
  [[nodiscard]] acm::Status apply_scheduling(std::uint16_t domid, const Json& config_json);

  Layout layout_;
  hv::Log& log_;
  std::optional<xc::Connection> hv_;
  std::optional<xc::Connection::VirqBinding> dom_exc_;
  std::unique_ptr<resources::RootFs> rootfs_;
  std::unique_ptr<resources::ResourceLabelStore> resources_;
  std::optional<ManagedPolicy> policy_;
  std::map<std::uint16_t, DomainRecord> running_;
  std::unique_ptr<devices::DeviceHost> devices_;  // the split-device host (docs/devices.md)
  std::map<std::uint16_t, std::uint32_t> vtpm_of_domain_;  // domid -> attached vTPM instance
  // The manager's socket (inode, change time) when the attachments above
  // were last made or checked.
  std::optional<std::tuple<std::uint64_t, std::int64_t, std::int64_t>> vtpm_manager_seen_;
};

}  // namespace shype::xend
