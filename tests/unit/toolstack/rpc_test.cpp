// The xm <-> xend transport: framing, peer checks, base64, error mapping.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "rpc/base64.hpp"
#include "rpc/json_rpc.hpp"

namespace shype::rpc {
namespace {

namespace fs = std::filesystem;

TEST(Base64, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= bytes.size(); n += 37) {
    const std::string part = bytes.substr(0, n);
    const auto decoded = base64_decode(base64_encode(part));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, part) << n;
  }
  EXPECT_EQ(base64_encode("Hello"), "SGVsbG8=");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(base64_decode("abc").has_value());
  EXPECT_FALSE(base64_decode("a$c=").has_value());
}

TEST(JsonRpc, ResponsesCarryResultsOrErrors) {
  const Json ok = make_response(7, Result<Json>(Json{{"x", 1}}));
  EXPECT_EQ(ok["id"], 7);
  EXPECT_EQ(ok["result"]["x"], 1);
  EXPECT_FALSE(ok.contains("error"));
  const Json bad = make_response(8, fail("VM is not authorized to run.", Json{{"xserr", 0x101a}}));
  EXPECT_EQ(bad["error"]["message"], "VM is not authorized to run.");
  EXPECT_EQ(bad["error"]["data"]["xserr"], 0x101a);
  EXPECT_EQ(bad["error"]["code"], static_cast<int>(ErrorCode::failed));
}

TEST(JsonRpc, PeerCheckAdmitsRootAndTheServersUidOnly) {
  EXPECT_TRUE(peer_allowed({1, 0, 0}, 1000));
  EXPECT_TRUE(peer_allowed({1, 1000, 1000}, 1000));
  EXPECT_FALSE(peer_allowed({1, 1001, 1001}, 1000));
}

TEST(JsonRpc, ClientAndServerExchangeOverAUnixSocket) {
  const fs::path dir = fs::temp_directory_path() / ("rpc-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path socket = dir / "s.sock";
  auto listener = listen_unix(socket);
  ASSERT_TRUE(listener) << listener.error();
  EXPECT_EQ(fs::status(socket).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::thread server([&] {
    int fd = -1;
    for (int i = 0; i < 500 && fd < 0; ++i) {
      fd = ::accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GE(fd, 0);
    const auto peer = peer_credentials(fd);
    ASSERT_TRUE(peer.has_value());
    EXPECT_EQ(peer->pid, ::getpid());
    ServerConnection connection(fd, *peer);
    int handled = 0;
    for (int i = 0; i < 2000 && handled < 2; ++i) {
      std::vector<std::string> lines;
      if (!connection.read_lines(lines)) break;
      for (const auto& line : lines) {
        const Json request = Json::parse(line);
        if (request["method"] == "echo") {
          connection.send(make_response(request["id"], Result<Json>(request["params"])));
        } else {
          connection.send(make_response(request["id"], fail("no such thing")));
        }
        ++handled;
      }
      while (connection.wants_write()) (void)connection.flush();
      if (lines.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(handled, 2);
    for (int i = 0; i < 100 && connection.wants_write(); ++i) (void)connection.flush();
  });
  auto client = Client::connect(socket, std::chrono::seconds(5));
  ASSERT_TRUE(client) << client.error().message;
  const std::string big(200000, 'x');  // larger than one socket read
  auto echoed = client->call("echo", {{"text", big}, {"line", "a\nb"}});
  ASSERT_TRUE(echoed) << echoed.error().message;
  EXPECT_EQ((*echoed)["text"], big);
  EXPECT_EQ((*echoed)["line"], "a\nb");
  auto refused = client->call("other");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "no such thing");
  server.join();
  ::close(*listener);
  fs::remove_all(dir);
}

TEST(JsonRpc, ConnectingWithoutAServerSaysXendIsNotRunning) {
  auto client = Client::connect("/nonexistent/xend.sock", std::chrono::seconds(1));
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, static_cast<int>(ErrorCode::transport));
  EXPECT_NE(client.error().message.find("xend is not running"), std::string::npos);
}

}  // namespace
}  // namespace shype::rpc
