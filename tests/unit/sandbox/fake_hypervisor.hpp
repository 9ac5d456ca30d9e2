// A tiny stand-in for shype-hv, enough to run the sample guest kernels in
// the sandbox tests: it owns one domain's memory, shared_info, upcall
// eventfd and channel, answers the xen_version handshake and console
// writes, records sched_op shutdown, refuses privileged and unknown ops,
// and destroys the domain (SIGKILL through its pidfd) on garbage framing,
// as the real hypervisor is expected to.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "sandbox/sandbox.hpp"
#include "shype/abi.hpp"

namespace shype::sandbox::testing {

class FakeHypervisor {
 public:
  FakeHypervisor(std::uint32_t domid, std::uint64_t memory_bytes);
  ~FakeHypervisor();
  FakeHypervisor(const FakeHypervisor&) = delete;
  FakeHypervisor& operator=(const FakeHypervisor&) = delete;

  // Fills the descriptor fields of a spec with the guest's ends.
  void fill(SandboxSpec& spec) const;
  // Starts answering the domain (after launch); pidfd is used to destroy it.
  void serve(int pidfd);

  void send_notification(abi::Op op, std::uint32_t subop, const void* payload,
                         std::size_t length) const;
  void signal_upcall() const;
  // Stops answering and closes the hypervisor's end of the channel, as if
  // the hypervisor had died.
  void disconnect();

  [[nodiscard]] std::string console() const;
  [[nodiscard]] bool wait_for_console(std::string_view text,
                                      std::chrono::milliseconds timeout) const;
  // The reason of the guest's SCHEDOP_shutdown. Call it once the guest has
  // exited: it first waits (at most 5 s) until the reader has drained the
  // channel, since the guest's last messages may still be unread when its
  // exit is seen.
  [[nodiscard]] std::optional<std::uint32_t> shutdown_reason() const;
  [[nodiscard]] std::string framing_error() const;  // "" if none
  [[nodiscard]] std::uint64_t requests() const;
  [[nodiscard]] std::uint64_t memory_bytes() const { return memory_bytes_; }
  [[nodiscard]] int memory_fd() const { return memory_fd_; }
  // Marks the domain as restored (shared_info.resume_count), before launch.
  void set_resume_count(std::uint32_t count) const;

 private:
  void run();
  void read_loop();
  void handle(const abi::MessageHeader& header, const std::uint8_t* payload, int* fds,
              std::uint32_t fd_count);
  void respond(const abi::MessageHeader& request, std::int32_t status, const void* payload,
               std::size_t length) const;
  void destroy(std::string why);

  std::uint32_t domid_;
  std::uint64_t memory_bytes_;
  int channel_ = -1;        // the hypervisor's end
  int guest_channel_ = -1;  // the guest's end (duplicated into the child by launch)
  int memory_fd_ = -1;
  int shared_info_fd_ = -1;
  int upcall_fd_ = -1;
  int stop_fd_ = -1;
  int pidfd_ = -1;
  std::thread thread_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::string console_;
  std::optional<std::uint32_t> shutdown_reason_;
  bool reader_done_ = false;  // the reader thread saw the guest's end (or was stopped)
  std::string framing_error_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace shype::sandbox::testing
