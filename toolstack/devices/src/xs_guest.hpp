// A guest's connection to xenstore: its store page (shype/io/xs_wire.hpp)
// mapped at its first notification, requests decoded (xs_protocol.hpp) and
// answered, replies and watch events written back with flow control. A
// guest that lies about the ring indices, sends a malformed header or never
// reads its replies is disconnected; nothing else is affected.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "devices/device_loop.hpp"
#include "devices/xs_protocol.hpp"

namespace shype::devices {

class XsGuestConnection {
 public:
  XsGuestConnection(DeviceLoop& loop, Xenstore& store, abi::domid_t domid,
                    xc::Connection::EventChannelBinding port);
  ~XsGuestConnection();
  XsGuestConnection(const XsGuestConnection&) = delete;
  XsGuestConnection& operator=(const XsGuestConnection&) = delete;

  void disconnect(const std::string& why);
  [[nodiscard]] bool connected() const { return page_.has_value() && !dead_; }
  [[nodiscard]] abi::evtchn_port_t port() const { return port_.port; }

  // Limits of the reply queue.
  static constexpr std::size_t kBackpressureBytes = 16 * 1024;  // stop taking requests
  static constexpr std::size_t kMaxQueuedBytes = 64 * 1024;     // drop the guest
  static constexpr int kRequestsPerTurn = 32;

 private:
  void on_doorbell();
  void service();
  void send(std::string bytes);
  [[nodiscard]] bool flush();  // false: disconnected

  DeviceLoop& loop_;
  Xenstore& store_;
  abi::domid_t domid_;
  xc::Connection::EventChannelBinding port_;
  std::optional<MappedPage> page_;
  XsDecoder decoder_;
  std::unique_ptr<XsSession> session_;
  std::string out_;
  bool dead_ = false;
  bool in_service_ = false;
  bool service_scheduled_ = false;
  std::uint32_t req_cons_ = 0;
  std::uint32_t rsp_prod_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace shype::devices
