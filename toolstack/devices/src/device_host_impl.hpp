// The device host (device_host.hpp), private: its state on the device
// thread. attach_disk / detach_disk / list_disks are defined in
// blk/host_blk.cpp and attach_vif / detach_vif / list_vifs in
// net/host_net.cpp, next to their drivers.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "console_backend.hpp"
#include "device_loop_impl.hpp"
#include "devices/backend_driver.hpp"
#include "devices/device_host.hpp"
#include "xs_guest.hpp"

namespace shype::devices {

// How long a caller waits for the device thread to run its call.
inline constexpr std::chrono::milliseconds kDeviceCallTimeout{20'000};

class DeviceHostImpl final : public DeviceHost {
 public:
  DeviceHostImpl(std::filesystem::path root, hv::Log& log, std::unique_ptr<DeviceLoopImpl> loop);
  ~DeviceHostImpl() override;

  Status introduce_domain(abi::domid_t domid, const std::string& name) override;
  std::optional<GuestPorts> guest_ports(abi::domid_t domid) override;
  Status adopt_domain(abi::domid_t domid, const std::string& name, GuestPorts ports) override;
  void release_domain(abi::domid_t domid) override;

  Result<std::uint32_t> attach_disk(abi::domid_t domid, const DiskSpec& disk) override;
  Status detach_disk(abi::domid_t domid, const std::string& device,
                     std::chrono::milliseconds wait) override;
  Result<std::vector<DiskInfo>> list_disks(abi::domid_t domid) override;

  Result<std::uint32_t> attach_vif(abi::domid_t domid, const VifSpec& vif) override;
  Status detach_vif(abi::domid_t domid, std::uint32_t devid,
                    std::chrono::milliseconds wait) override;
  Result<std::vector<VifInfo>> list_vifs(abi::domid_t domid) override;
  void policy_changed() override;  // net/host_net.cpp

  std::filesystem::path console_socket(abi::domid_t domid) const override;
  std::filesystem::path console_log(const std::string& name) const override;

  Result<std::vector<XenstoreEntry>> xenstore_list(const std::string& path,
                                                   std::size_t limit) override;
  Result<std::string> xenstore_read(const std::string& path) override;
  Status xenstore_write(const std::string& path, const std::string& value) override;
  Status xenstore_chmod(const std::string& path, const std::vector<std::string>& perms) override;

  // Runs `fn` on the device thread and returns its result; an error if the
  // thread did not run it within kDeviceCallTimeout.
  template <typename T>
  [[nodiscard]] Result<T> call(const std::string& what, std::function<Result<T>()> fn) {
    auto result = std::make_shared<std::optional<Result<T>>>();
    if (!loop_->run([result, fn = std::move(fn)] { *result = fn(); }, kDeviceCallTimeout) ||
        !result->has_value()) {
      return acm::make_error(acm::Errc::io_error,
                             what + ": the device thread did not answer in time");
    }
    return std::move(**result);
  }

  [[nodiscard]] DeviceLoopImpl& loop() { return *loop_; }
  [[nodiscard]] BackendDriver* blkback() { return blkback_.get(); }
  [[nodiscard]] BackendDriver* netback() { return netback_.get(); }

 private:
  struct GuestDomain {
    std::string name;
    abi::evtchn_port_t guest_console_port = 0;
    abi::evtchn_port_t guest_store_port = 0;
    std::unique_ptr<ConsoleBackend> console;
    std::unique_ptr<XsGuestConnection> store;
  };
  // New domain: allocate and bind its channels, set_start_info. Adopted
  // domain (ports given): bind to the guest's ports as they are.
  [[nodiscard]] Status introduce_on_thread(abi::domid_t domid, const std::string& name,
                                           std::optional<GuestPorts> adopted);
  void release_on_thread(abi::domid_t domid);

  std::filesystem::path root_;
  hv::Log& log_;
  std::unique_ptr<DeviceLoopImpl> loop_;
  std::unique_ptr<BackendDriver> blkback_;
  std::unique_ptr<BackendDriver> netback_;
  std::map<abi::domid_t, GuestDomain> domains_;  // device thread only
};

}  // namespace shype::devices
