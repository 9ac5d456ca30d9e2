// The console daemon of one domain (docs/devices.md): moves the guest's
// output from its console ring (shype/io/console.hpp) to the log file, a
// 64 KiB history and every client of the console socket; moves what
// clients write to the ring's input. Runs on the device thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "acm/error.hpp"
#include "devices/device_loop.hpp"
#include "hv/unique_fd.hpp"

namespace shype::devices {

inline constexpr std::size_t kConsoleHistoryBytes = 64 * 1024;

class ConsoleBackend {
 public:
  // Opens the log (append, 0640) and listens on `socket_path` (0600). The
  // ring is mapped at the guest's first notification on `port`.
  [[nodiscard]] static acm::Result<std::unique_ptr<ConsoleBackend>> create(
      DeviceLoop& loop, abi::domid_t domid, const std::filesystem::path& log_path,
      const std::filesystem::path& socket_path, xc::Connection::EventChannelBinding port);
  ~ConsoleBackend();
  ConsoleBackend(const ConsoleBackend&) = delete;
  ConsoleBackend& operator=(const ConsoleBackend&) = delete;

  // The guest closed its end (or died): stop using the ring.
  void disconnect(const std::string& why);
  [[nodiscard]] abi::evtchn_port_t port() const { return port_.port; }

 private:
  ConsoleBackend(DeviceLoop& loop, abi::domid_t domid) : loop_(loop), domid_(domid) {}
  void on_doorbell();
  void service();
  void output(const char* bytes, std::size_t length);
  void push_input();
  void on_accept();
  void on_client(int fd);
  void flush_client(int fd);
  void drop_client(int fd);

  struct Client {
    hv::UniqueFd fd;
    std::string pending;  // output not yet written to it
    bool reading = true;
  };

  DeviceLoop& loop_;
  abi::domid_t domid_;
  xc::Connection::EventChannelBinding port_;
  std::optional<MappedPage> page_;
  bool dead_ = false;
  hv::UniqueFd log_;
  hv::UniqueFd listener_;
  std::filesystem::path socket_path_;
  std::string history_;
  std::string input_;  // from clients, not yet in the ring
  std::map<int, Client> clients_;
  bool retry_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint32_t out_cons_ = 0;
  std::uint32_t in_prod_ = 0;
};

}  // namespace shype::devices
