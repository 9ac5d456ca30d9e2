// The device thread (device_loop.hpp): epoll, timers, the command queue
// other threads use, and the hypervisor connection's notifications.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "acm/error.hpp"
#include "devices/device_loop.hpp"
#include "devices/xenstore.hpp"
#include "hv/unique_fd.hpp"

namespace shype::devices {

class DeviceLoopImpl final : public DeviceLoop {
 public:
  // Starts the thread and opens its connection there; fails if the
  // hypervisor cannot be reached.
  [[nodiscard]] static acm::Result<std::unique_ptr<DeviceLoopImpl>> start(
      const std::filesystem::path& root, hv::Log& log);
  ~DeviceLoopImpl() override;
  DeviceLoopImpl(const DeviceLoopImpl&) = delete;
  DeviceLoopImpl& operator=(const DeviceLoopImpl&) = delete;

  xc::Connection& hv() override { return *hv_; }
  StoreClient& store() override { return *client_; }
  hv::Log& log() override { return log_; }
  const std::filesystem::path& root() const override { return root_; }
  bool own_cpus() const override { return own_cpus_; }
  void add_fd(int fd, std::function<void()> on_ready) override;
  void remove_fd(int fd) override;
  void defer(std::function<void()> fn, std::chrono::milliseconds delay) override;
  void on_port_notice(abi::evtchn_port_t port, NoticeFn fn) override;
  void forget_port(abi::evtchn_port_t port) override;

  [[nodiscard]] Xenstore& xenstore() { return store_; }

  // From any other thread: runs `fn` on the device thread and waits for it
  // up to `timeout`. False if it did not run in time (it may still run
  // later: capture what it touches by value or shared pointer) or the loop
  // stopped.
  [[nodiscard]] bool run(std::function<void()> fn, std::chrono::milliseconds timeout);
  // Runs `fn` on the device thread, then stops the thread and joins it.
  void stop(std::function<void()> last);
  [[nodiscard]] bool on_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  DeviceLoopImpl(std::filesystem::path root, hv::Log& log);
  void main(std::promise<acm::Status>* started);
  void drain_commands();
  void drain_notifications();
  void run_timers();
  [[nodiscard]] int next_timeout_ms() const;

  std::filesystem::path root_;
  hv::Log& log_;
  std::optional<xc::Connection> hv_;
  Xenstore store_;
  std::unique_ptr<StoreClient> client_;
  hv::UniqueFd epoll_;
  hv::UniqueFd wake_;  // eventfd: commands queued
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool hv_broken_ = false;
  bool own_cpus_ = false;  // Domain-0 has CPUs of its own (read at start)

  std::mutex mutex_;
  std::deque<std::function<void()>> commands_;

  struct Watched {
    int fd;
    std::shared_ptr<std::function<void()>> fn;
  };
  std::map<std::uint64_t, Watched> fds_;  // by epoll token
  std::map<int, std::uint64_t> tokens_;   // fd -> token
  std::uint64_t next_token_ = 2;          // 0: the wake fd, 1: the connection
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
  std::map<abi::evtchn_port_t, NoticeFn> port_handlers_;
};

}  // namespace shype::devices
