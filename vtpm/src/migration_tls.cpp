#include "migration_tls.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "vtpm/migration_wire.hpp"

namespace shype::vtpm {

namespace fs = std::filesystem;

namespace {

using acm::Errc;
using acm::make_error;

struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct TlsPkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct TlsBioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using Cert = std::unique_ptr<X509, X509Free>;

constexpr auto kHandshakeTimeout = std::chrono::milliseconds(5000);

// OpenSSL's queued errors as one line (and the queue cleared).
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string fingerprint(X509* cert) {
  std::vector<std::uint8_t> md(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) return {};
  md.resize(len);
  return to_hex(md);
}

Cert parse_certificate(std::string_view pem) {
  std::unique_ptr<BIO, TlsBioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

acm::Status create_identity(const MigrationPaths& paths) {
  std::unique_ptr<EVP_PKEY, TlsPkeyFree> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Cert cert(X509_new());
  if (!key || !cert)
    return make_error(Errc::io_error, "cannot make a TLS key: " + openssl_errors());
  std::array<unsigned char, 16> serial{};
  (void)RAND_bytes(serial.data(), static_cast<int>(serial.size()));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  char host[256] = "localhost";
  (void)::gethostname(host, sizeof host - 1);
  const std::string cn = std::string("vtpm_migratord ") + host;
  X509_NAME* name = X509_get_subject_name(cert.get());
  const bool ok =
      bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr &&
      X509_set_version(cert.get(), 2) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key.get()) == 1 &&
      X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  BN_free(bn);
  if (!ok) return make_error(Errc::io_error, "cannot make a TLS certificate: " + openssl_errors());
  std::unique_ptr<BIO, TlsBioFree> key_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, TlsBioFree> cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return make_error(Errc::io_error, "cannot encode the TLS identity: " + openssl_errors());
  }
  if (auto w = acm::write_file_atomic(paths.identity_key, bio_text(key_bio.get()), 0600); !w)
    return w;
  return acm::write_file_atomic(paths.identity_cert, bio_text(cert_bio.get()), 0644);
}

// Trust is exactly "the peer's own certificate is pinned": chain errors
// (a self-signed certificate has no issuer to find) do not matter, and
// nothing else makes a certificate acceptable.
int verify_pinned(int /*preverify_ok*/, X509_STORE_CTX* store) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl == nullptr || leaf == nullptr) return 0;
  const auto* pins =
      static_cast<const std::set<std::string>*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (pins == nullptr || pins->count(fingerprint(leaf)) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

acm::Status set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return make_error(Errc::io_error, std::string("setsockopt: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace

std::optional<std::pair<std::string, std::string>> split_host_port(std::string_view text) {
  std::string host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return std::nullopt;
    rest.remove_prefix(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, colon));
    rest = text.substr(colon + 1);
  }
  if (host.empty() || rest.empty() || rest.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (const char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return std::pair{host, std::string(rest)};
}

acm::Result<TlsIdentity> ensure_tls_identity(const MigrationPaths& paths) {
  std::error_code ec;
  fs::create_directories(paths.peers, ec);
  if (ec)
    return make_error(Errc::io_error,
                      "cannot create " + paths.peers.string() + ": " + ec.message());
  if (!fs::exists(paths.identity_key, ec) || !fs::exists(paths.identity_cert, ec)) {
    if (auto made = create_identity(paths); !made) return tl::unexpected(made.error());
  }
  auto pem = acm::read_text_file(paths.identity_cert);
  if (!pem) return tl::unexpected(pem.error());
  Cert cert = parse_certificate(*pem);
  if (!cert) {
    return make_error(Errc::malformed_binary,
                      paths.identity_cert.string() + ": not a PEM certificate");
  }
  return TlsIdentity{*pem, fingerprint(cert.get())};
}

acm::Result<std::string> pin_peer_certificate(const MigrationPaths& paths, std::string_view pem) {
  if (pem.size() > 64 * 1024)
    return make_error(Errc::invalid_argument, "the certificate is too large");
  Cert cert = parse_certificate(pem);
  if (!cert)
    return make_error(Errc::invalid_argument, "not a PEM certificate: " + openssl_errors());
  std::unique_ptr<BIO, TlsBioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1)
    return make_error(Errc::io_error, "cannot encode the certificate: " + openssl_errors());
  const std::string fp = fingerprint(cert.get());
  std::error_code ec;
  fs::create_directories(paths.peers, ec);
  if (auto ok = acm::write_file_atomic(paths.peers / (fp + ".pem"), bio_text(bio.get()), 0644); !ok)
    return tl::unexpected(ok.error());
  return fp;
}

acm::Result<std::set<std::string>> pinned_fingerprints(const MigrationPaths& paths) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(paths.peers, ec)) return out;
  for (const auto& entry : fs::directory_iterator(paths.peers, ec)) {
    if (entry.path().extension() != ".pem") continue;
    auto text = acm::read_text_file(entry.path());
    if (!text) return tl::unexpected(text.error());
    Cert cert = parse_certificate(*text);
    if (!cert) {
      return make_error(Errc::malformed_binary, entry.path().string() + ": not a PEM certificate");
    }
    out.insert(fingerprint(cert.get()));
  }
  if (ec)
    return make_error(Errc::io_error, "cannot list " + paths.peers.string() + ": " + ec.message());
  return out;
}

acm::Result<TlsContext> TlsContext::make(const MigrationPaths& paths, bool server) {
  auto pins = pinned_fingerprints(paths);
  if (!pins) return tl::unexpected(pins.error());
  TlsContext out;
  out.pins_ = std::make_unique<std::set<std::string>>(std::move(*pins));
  out.ctx_.reset(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX* ctx = out.ctx_.get();
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate_file(ctx, paths.identity_cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, paths.identity_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(Errc::io_error, "cannot set up TLS with " + paths.identity_cert.string() +
                                          ": " + openssl_errors());
  }
  SSL_CTX_set_app_data(ctx, out.pins_.get());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_pinned);
  // No session tickets: every connection authenticates with certificates.
  SSL_CTX_set_num_tickets(ctx, 0);
  return out;
}

TlsChannel::TlsChannel(TlsChannel&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      ssl_(std::move(other.ssl_)),
      peer_(std::move(other.peer_)) {}

TlsChannel::~TlsChannel() {
  if (ssl_) (void)SSL_shutdown(ssl_.get());
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
}

acm::Result<TlsChannel> TlsChannel::connect(const TlsContext& ctx, const std::string& host_port,
                                            std::chrono::milliseconds timeout) {
  const auto hp = split_host_port(host_port);
  if (!hp) return make_error(Errc::invalid_argument, "'" + host_port + "' is not HOST:PORT");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(hp->first.c_str(), hp->second.c_str(), &hints, &found); rc != 0)
    return make_error(Errc::io_error, "cannot resolve " + host_port + ": " + ::gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        errno = rc == 0 ? ETIMEDOUT : err;
        rc = -1;
      }
    }
    if (rc != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return make_error(Errc::io_error, "cannot connect to " + host_port + ": " + why);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  TlsChannel ch(fd, host_port);
  if (auto ok = set_timeouts(fd, timeout); !ok) return tl::unexpected(ok.error());
  ERR_clear_error();
  ch.ssl_.reset(SSL_new(ctx.get()));
  if (!ch.ssl_ || SSL_set_fd(ch.ssl_.get(), fd) != 1 || SSL_connect(ch.ssl_.get()) != 1) {
    return make_error(Errc::io_error,
                      "TLS handshake with " + host_port + " failed: " + openssl_errors() +
                          " (each side must trust the other's certificate: vtpmctl trust-peer)");
  }
  return ch;
}

acm::Result<TlsChannel> TlsChannel::accept(const TlsContext& ctx, int fd,
                                           std::chrono::milliseconds timeout) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  char host[NI_MAXHOST] = "?";
  char port[NI_MAXSERV] = "?";
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    (void)::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, port,
                        sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
  }
  TlsChannel ch(fd, std::string(host) + ":" + port);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  // Anyone can connect: an unauthenticated client gets a short handshake
  // deadline, so it cannot hold the (one-connection) daemon for long.
  if (auto ok = set_timeouts(fd, std::min(timeout, kHandshakeTimeout)); !ok)
    return tl::unexpected(ok.error());
  ERR_clear_error();
  ch.ssl_.reset(SSL_new(ctx.get()));
  if (!ch.ssl_ || SSL_set_fd(ch.ssl_.get(), fd) != 1 || SSL_accept(ch.ssl_.get()) != 1) {
    return make_error(Errc::io_error,
                      "TLS handshake with " + ch.peer_ + " failed: " + openssl_errors());
  }
  if (auto ok = set_timeouts(fd, timeout); !ok) return tl::unexpected(ok.error());
  return ch;
}

acm::Status TlsChannel::send(const nlohmann::json& message) {
  const std::string frame = encode_peer_frame(message);
  std::size_t done = 0;
  ERR_clear_error();
  while (done < frame.size()) {
    std::size_t wrote = 0;
    if (SSL_write_ex(ssl_.get(), frame.data() + done, frame.size() - done, &wrote) != 1) {
      return make_error(Errc::io_error, "cannot send to " + peer_ + ": " + openssl_errors());
    }
    done += wrote;
  }
  return {};
}

acm::Status TlsChannel::read_exact(unsigned char* out, std::size_t n) {
  std::size_t done = 0;
  ERR_clear_error();
  while (done < n) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl_.get(), out + done, n - done, &got) != 1) {
      const int err = SSL_get_error(ssl_.get(), 0);
      const std::string why =
          err == SSL_ERROR_ZERO_RETURN ? "the connection was closed"
          : err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)
              ? "timed out"
              : openssl_errors();
      return make_error(Errc::io_error, "cannot receive from " + peer_ + ": " + why);
    }
    done += got;
  }
  return {};
}

acm::Result<nlohmann::json> TlsChannel::receive() {
  std::array<std::uint8_t, 4> header{};
  if (auto ok = read_exact(header.data(), header.size()); !ok) return tl::unexpected(ok.error());
  auto length = peer_frame_length(header);
  if (!length) return tl::unexpected(length.error());
  std::string payload(*length, '\0');
  // SAFETY: payload has exactly *length bytes of storage.
  if (auto ok = read_exact(reinterpret_cast<unsigned char*>(payload.data()), payload.size()); !ok)
    return tl::unexpected(ok.error());
  return decode_peer_message(payload);
}

}  // namespace shype::vtpm
