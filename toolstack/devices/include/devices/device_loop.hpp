// The device thread's event loop: where xenstore and every backend run
// (console, blkback, netback). One thread, one epoll set, one hypervisor
// connection (libxenctrl connections are not thread-safe).
//
// Backends register the descriptors they wait on (their event-channel
// doorbells, sockets) with a callback; callbacks run on the device thread
// and must not block for long (file I/O of one request batch is fine).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "devices/store_client.hpp"
#include "hv/log.hpp"
#include "xenctrl/connection.hpp"

namespace shype::devices {

class DeviceLoop {
 public:
  virtual ~DeviceLoop() = default;

  // The device thread's own connection to the hypervisor (Domain-0).
  [[nodiscard]] virtual xc::Connection& hv() = 0;
  [[nodiscard]] virtual StoreClient& store() = 0;
  [[nodiscard]] virtual hv::Log& log() = 0;
  // SHYPE_ROOT.
  [[nodiscard]] virtual const std::filesystem::path& root() const = 0;
  // True when Domain-0 runs on CPUs of its own and guests on others
  // (boot.conf dom0_cpus, hv/cpu_placement.hpp): a backend's frontend then
  // never waits for this thread's CPU, and a backend may watch its ring
  // for a few microseconds before it sleeps.
  [[nodiscard]] virtual bool own_cpus() const { return false; }

  // Calls `on_ready` whenever `fd` is readable (level-triggered) until
  // remove_fd. The fd stays owned by the caller.
  virtual void add_fd(int fd, std::function<void()> on_ready) = 0;
  virtual void remove_fd(int fd) = 0;
  // Runs `fn` on the device thread after `delay` (0: at the next turn).
  virtual void defer(std::function<void()> fn,
                     std::chrono::milliseconds delay = std::chrono::milliseconds{0}) = 0;

  // Event-channel notices from the hypervisor (bound_notice / closed_notice
  // on this connection) for `port`: the loop receives every notification
  // and hands each to the handler registered for its local port.
  using NoticeFn = std::function<void(xc::Connection::EventChannelNotice&)>;
  virtual void on_port_notice(abi::evtchn_port_t port, NoticeFn fn) = 0;
  virtual void forget_port(abi::evtchn_port_t port) = 0;
};

// A page of another domain mapped into Domain-0 (a grant), unmapped and
// released on destruction. Backends keep rings and persistent data pages
// in these.
class MappedPage {
 public:
  MappedPage() = default;
  // Maps `ref` of `granter` through `hv` (read-only if `readonly`).
  [[nodiscard]] static xc::Result<MappedPage> map(xc::Connection& hv, abi::domid_t granter,
                                                  abi::grant_ref_t ref, bool readonly);
  MappedPage(MappedPage&& other) noexcept;
  MappedPage& operator=(MappedPage&& other) noexcept;
  MappedPage(const MappedPage&) = delete;
  MappedPage& operator=(const MappedPage&) = delete;
  ~MappedPage();

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] bool readonly() const noexcept { return grant_.readonly; }
  [[nodiscard]] abi::grant_ref_t ref() const noexcept { return grant_.ref; }
  [[nodiscard]] abi::domid_t granter() const noexcept { return grant_.granter; }
  // Unmaps now (also done by the destructor); needs the connection it was
  // mapped with.
  void reset();

 private:
  xc::Connection* hv_ = nullptr;
  xc::Connection::MappedGrant grant_;
  void* data_ = nullptr;
};

}  // namespace shype::devices
