// A stand-in for xend's JSON-RPC socket: answers the requests of one client
// connection with a handler, on its own thread, bounded in time.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/json_rpc.hpp"

namespace shype::ezpolicy::testing {

class FakeXend {
 public:
  using Handler =
      std::function<rpc::Result<rpc::Json>(const std::string& method, const rpc::Json& params)>;

  FakeXend(const std::filesystem::path& root, Handler handler) : handler_(std::move(handler)) {
    std::filesystem::create_directories(root / "run/xend");
    auto listener = rpc::listen_unix(root / "run/xend/xend.sock");
    if (!listener) {
      ADD_FAILURE() << listener.error();
      return;
    }
    listener_ = *listener;
    thread_ = std::thread([this] { serve(); });
  }
  FakeXend(const FakeXend&) = delete;
  FakeXend& operator=(const FakeXend&) = delete;
  ~FakeXend() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }

  // Methods received so far (read after the client is done).
  [[nodiscard]] const std::vector<rpc::Json>& requests() const { return requests_; }

 private:
  void serve() {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + seconds(30);
    int fd = -1;
    while (fd < 0 && !stop_ && steady_clock::now() < deadline) {
      fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) std::this_thread::sleep_for(milliseconds(5));
    }
    if (fd < 0) return;
    rpc::ServerConnection connection(fd, rpc::PeerCredentials{});
    while (!stop_ && steady_clock::now() < deadline) {
      std::vector<std::string> lines;
      if (!connection.read_lines(lines)) break;
      for (const std::string& line : lines) {
        const rpc::Json request = rpc::Json::parse(line);
        requests_.push_back(request);
        connection.send(rpc::make_response(request["id"],
                                           handler_(request.value("method", std::string()),
                                                    request.value("params", rpc::Json::object()))));
      }
      while (connection.wants_write() && connection.flush()) {
      }
      if (lines.empty()) std::this_thread::sleep_for(milliseconds(2));
    }
  }

  Handler handler_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<rpc::Json> requests_;
};

}  // namespace shype::ezpolicy::testing
