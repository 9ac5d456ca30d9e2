// vtpm_migratord's TLS (OpenSSL): its identity (an EC P-256 key and a
// self-signed certificate, made at first start), the pinned certificates
// of trusted peers, and one framed connection (migration_wire.hpp) in
// either direction. Both sides present a certificate and both check the
// other's against the pinned set: the peer's certificate must be exactly
// one of var/lib/vtpm/migration/peers/*.pem (compared by SHA-256 of its
// DER). TLS 1.3 only. Every read, write and connect is bounded.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include "acm/error.hpp"
#include "vtpm/migration.hpp"

namespace shype::vtpm {

struct TlsIdentity {
  std::string certificate_pem;
  std::string fingerprint;  // sha256 of the DER, hex
};

// Loads the identity, creating key (0600) and certificate (0644) if either
// is missing.
[[nodiscard]] acm::Result<TlsIdentity> ensure_tls_identity(const MigrationPaths& paths);

// Validates one PEM certificate and pins it as peers/<fingerprint>.pem
// (atomically). Returns the fingerprint.
[[nodiscard]] acm::Result<std::string> pin_peer_certificate(const MigrationPaths& paths,
                                                            std::string_view pem);

// The sha256 fingerprints of every pinned certificate (an unreadable file is
// an error naming it).
[[nodiscard]] acm::Result<std::set<std::string>> pinned_fingerprints(const MigrationPaths& paths);

struct SslCtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};

// An SSL_CTX with this daemon's identity and the peers pinned at the time
// it was made (so a newly trusted peer counts at the next connection).
class TlsContext {
 public:
  [[nodiscard]] static acm::Result<TlsContext> make(const MigrationPaths& paths, bool server);
  [[nodiscard]] SSL_CTX* get() const noexcept { return ctx_.get(); }

 private:
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<std::set<std::string>> pins_;
};

// One TLS connection that carries peer frames.
class TlsChannel {
 public:
  // TCP connect (bounded), then the handshake; errors name the peer.
  [[nodiscard]] static acm::Result<TlsChannel> connect(const TlsContext& ctx,
                                                       const std::string& host_port,
                                                       std::chrono::milliseconds timeout);
  // The server side of an accepted socket (takes ownership of fd).
  [[nodiscard]] static acm::Result<TlsChannel> accept(const TlsContext& ctx, int fd,
                                                      std::chrono::milliseconds timeout);
  TlsChannel(TlsChannel&& other) noexcept;
  TlsChannel& operator=(TlsChannel&&) = delete;
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;
  ~TlsChannel();

  [[nodiscard]] acm::Status send(const nlohmann::json& message);
  // One decoded message (decode_peer_message); an "error" message from the
  // peer is returned as is.
  [[nodiscard]] acm::Result<nlohmann::json> receive();
  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }

 private:
  TlsChannel(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  [[nodiscard]] acm::Status read_exact(unsigned char* out, std::size_t n);
  int fd_ = -1;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::string peer_;
};

// "HOST:PORT" (HOST may be [v6]) -> host, port; nullopt if malformed.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> split_host_port(
    std::string_view text);

}  // namespace shype::vtpm
