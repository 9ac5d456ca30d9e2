// xm <-> xend: JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over a
// Unix stream socket, SHYPE_ROOT/run/xend/xend.sock (mode 0600). Each
// message is one JSON text on one line (serialized JSON never contains a raw
// newline). The server checks the peer's credentials (SO_PEERCRED) before it
// reads anything: only its own uid (and root) may talk to it.
//
// Errors travel as JSON-RPC error objects; `message` is the text xm prints
// after "Error: ", and `data` may carry structured detail (xend's XSERR
// code, the hypervisor's error tuples, a usage flag).
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace shype::rpc {

using Json = nlohmann::json;

// JSON-RPC's reserved codes and shype's application codes.
enum class ErrorCode : int {
  parse_error = -32700,
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  failed = 1,          // the operation was refused or failed; message says why
  transport = 2,       // client side: no xend, connection lost, timeout
  permission = 3,      // peer credentials refused
};

struct RpcError {
  int code = static_cast<int>(ErrorCode::failed);
  std::string message;
  Json data;  // null or an object
};

template <typename T>
using Result = tl::expected<T, RpcError>;

[[nodiscard]] inline tl::unexpected<RpcError> fail(std::string message, Json data = nullptr,
                                                   ErrorCode code = ErrorCode::failed) {
  return tl::unexpected<RpcError>(RpcError{static_cast<int>(code), std::move(message),
                                           std::move(data)});
}

// Longest message either side accepts (a policy XML travels in one).
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// --- server side ---------------------------------------------------------

// Creates the listening socket (non-blocking, close-on-exec, mode 0600),
// replacing a stale socket file. Returns the descriptor or an error text.
[[nodiscard]] tl::expected<int, std::string> listen_unix(const std::filesystem::path& path,
                                                         int backlog = 64);

[[nodiscard]] std::optional<PeerCredentials> peer_credentials(int fd);

// May `peer` use a server running with effective uid `server_uid`? Root and
// the server's own uid may.
[[nodiscard]] bool peer_allowed(const PeerCredentials& peer, uid_t server_uid);

// One accepted client: buffers input until whole lines arrive and output
// until the socket takes it. Non-blocking; the owner polls fd().
class ServerConnection {
 public:
  explicit ServerConnection(int fd, PeerCredentials peer);
  ServerConnection(ServerConnection&& other) noexcept;
  ServerConnection& operator=(ServerConnection&& other) noexcept;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;
  ~ServerConnection();

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const PeerCredentials& peer() const noexcept { return peer_; }

  // Reads what is available. Complete lines are appended to `lines`.
  // Returns false when the peer closed or broke the protocol (a line longer
  // than kMaxMessageBytes); the owner then drops the connection.
  [[nodiscard]] bool read_lines(std::vector<std::string>& lines);
  // Queues one message and tries to send it.
  void send(const Json& message);
  // Tries to send what is queued; false if the peer is gone.
  [[nodiscard]] bool flush();
  [[nodiscard]] bool wants_write() const noexcept { return !out_.empty(); }

 private:
  int fd_ = -1;
  PeerCredentials peer_;
  std::string in_;
  std::string out_;
};

// The response to a request id with a result or an error.
[[nodiscard]] Json make_response(const Json& id, const Result<Json>& outcome);

// A server's accepted clients, for a daemon's poll loop (xend,
// vtpm_managerd): poll entries in, requests answered out.
class ClientSet {
 public:
  using Handler = std::function<Result<Json>(const std::string& method, const Json& params)>;
  using RefusedHandler = std::function<void(const std::optional<PeerCredentials>& peer)>;

  // Appends one entry per client to `fds` (POLLIN, and POLLOUT while
  // output waits), in the order serve() expects them.
  void add_poll_entries(std::vector<pollfd>& fds) const;
  // Accepts every waiting connection on `listener`. A peer that may not
  // use the server (peer_allowed) gets the error "permission denied:
  // <server> serves only root" and is closed; `refused` hears of it.
  void accept_all(int listener, uid_t server_uid, std::string_view server,
                  const RefusedHandler& refused = {});
  // Given the clients' poll entries (what add_poll_entries added, after
  // poll): sends what waits, answers every whole request line through
  // `handler` (a malformed line gets a parse or invalid-request error; a
  // request without an id gets no answer), and drops the clients that hung
  // up or broke the protocol.
  void serve(std::span<const pollfd> entries, const Handler& handler);
  [[nodiscard]] std::size_t size() const noexcept { return clients_.size(); }

 private:
  std::list<ServerConnection> clients_;
};

// --- client side ---------------------------------------------------------

class Client {
 public:
  // Connects to the socket. A missing socket or refused connection is
  // ErrorCode::transport with "xend is not running (no socket at ...)".
  [[nodiscard]] static Result<Client> connect(const std::filesystem::path& socket,
                                              std::chrono::milliseconds timeout);
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // One call: sends the request and waits (bounded by the timeout) for its
  // response. A JSON-RPC error response becomes the RpcError.
  [[nodiscard]] Result<Json> call(std::string_view method, Json params = Json::object());

  void set_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }

 private:
  Client(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::int64_t next_id_ = 1;
  std::string in_;
};

}  // namespace shype::rpc
