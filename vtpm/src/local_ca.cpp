#include "vtpm/local_ca.hpp"

#include <system_error>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acm/file_io.hpp"
#include "tpm_pkey.hpp"

namespace shype::vtpm {

using detail::BioPtr;
using detail::PkeyPtr;
using detail::X509Ptr;

using acm::Errc;
using acm::make_error;
namespace fs = std::filesystem;

namespace local_ca_detail {


constexpr long kValiditySeconds = 20L * 365 * 24 * 3600;

std::string drain(BIO* bio) {
  std::string out(BIO_ctrl_pending(bio), '\0');
  if (!out.empty() &&
      BIO_read(bio, out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    out.clear();
  }
  return out;
}

bool random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and 16 bytes long
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof bytes, nullptr), &BN_free);
  if (!bn) return false;
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn.get(), nullptr);
  if (serial == nullptr) return false;
  const bool ok = X509_set_serialNumber(cert, serial) == 1;
  ASN1_INTEGER_free(serial);
  return ok;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_validity(X509* cert) {
  return X509_gmtime_adj(X509_getm_notBefore(cert), 0) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds) != nullptr;
}

// subjectAltName: one directoryName with the TCG attributes
// tcg-at-tpmManufacturer (2.23.133.2.1), tcg-at-tpmModel (2.23.133.2.2) and
// tcg-at-tpmVersion (2.23.133.2.3) (TCG EK Credential Profile 2.0, 3.2.9).
bool add_tpm_san(X509* cert, const TpmIdentity& id) {
  X509_NAME* dir = X509_NAME_new();
  if (dir == nullptr) return false;
  const std::pair<const char*, const std::string*> attrs[] = {
      {"2.23.133.2.1", &id.manufacturer}, {"2.23.133.2.2", &id.model}, {"2.23.133.2.3", &id.version}};
  for (const auto& [oid, value] : attrs) {
    ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
    const bool ok =
        obj != nullptr &&
        X509_NAME_add_entry_by_OBJ(dir, obj, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value->c_str()),  // SAFETY: bytes of a std::string
                                   static_cast<int>(value->size()), -1, 0) == 1;
    ASN1_OBJECT_free(obj);
    if (!ok) {
      X509_NAME_free(dir);
      return false;
    }
  }
  GENERAL_NAME* name = GENERAL_NAME_new();
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  if (name == nullptr || names == nullptr) {
    X509_NAME_free(dir);
    GENERAL_NAME_free(name);
    sk_GENERAL_NAME_free(names);
    return false;
  }
  GENERAL_NAME_set0_value(name, GEN_DIRNAME, dir);
  sk_GENERAL_NAME_push(names, name);
  const bool ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 1, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  return ok;
}

}  // namespace local_ca_detail

using namespace local_ca_detail;

struct LocalCa::Impl {
  PkeyPtr key;
  X509Ptr cert;
  std::string cert_pem;
};

LocalCa::LocalCa(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalCa::LocalCa(LocalCa&&) noexcept = default;
LocalCa& LocalCa::operator=(LocalCa&&) noexcept = default;
LocalCa::~LocalCa() = default;

const std::string& LocalCa::certificate_pem() const noexcept {
  return impl_->cert_pem;
}

acm::Result<LocalCa> LocalCa::open_or_create(const fs::path& dir) {
  const fs::path key_file = dir / "ca-key.pem";
  const fs::path cert_file = dir / "ca-cert.pem";
  std::error_code ec;
  const bool have_key = fs::exists(key_file, ec);
  const bool have_cert = fs::exists(cert_file, ec);
  auto impl = std::make_unique<Impl>();
  if (have_key && have_cert) {
    auto key_text = acm::read_text_file(key_file);
    if (!key_text) return tl::unexpected(key_text.error());
    auto cert_text = acm::read_text_file(cert_file);
    if (!cert_text) return tl::unexpected(cert_text.error());
    BioPtr kb(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())));
    BioPtr cb(BIO_new_mem_buf(cert_text->data(), static_cast<int>(cert_text->size())));
    if (kb) impl->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (cb) impl->cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!impl->key) return make_error(Errc::malformed_binary, "local CA: " + key_file.string() + " is not a PEM private key");
    if (!impl->cert) return make_error(Errc::malformed_binary, "local CA: " + cert_file.string() + " is not a PEM certificate");
    if (X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
      return make_error(Errc::malformed_binary, "local CA: " + cert_file.string() + " does not belong to the key in " + key_file.string());
    }
    impl->cert_pem = std::move(*cert_text);
    return LocalCa(std::move(impl));
  }
  if (have_key || have_cert) {
    return make_error(Errc::not_found, "local CA: " + (have_key ? cert_file : key_file).string() +
                                           " is missing (remove the other file to create a new CA)");
  }
  fs::create_directories(dir, ec);
  if (ec) return make_error(Errc::io_error, "local CA: cannot create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  impl->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  impl->cert.reset(X509_new());
  if (!impl->key || !impl->cert) return make_error(Errc::io_error, "local CA: cannot generate the CA key");
  X509* x = impl->cert.get();
  X509_NAME* name = X509_get_subject_name(x);
  const bool ok =
      X509_set_version(x, 2) == 1 && random_serial(x) && set_validity(x) &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("shype"), -1, -1, 0) == 1 &&  // SAFETY: a string literal's bytes
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("shype vTPM manager local CA"), -1, -1, 0) == 1 &&  // SAFETY: as above
      X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, impl->key.get()) == 1 &&
      add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
      add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
      add_ext(x, x, NID_subject_key_identifier, "hash") &&
      X509_sign(x, impl->key.get(), EVP_sha256()) > 0;
  if (!ok) return make_error(Errc::io_error, "local CA: cannot build the CA certificate");
  BioPtr kb(BIO_new(BIO_s_mem()));
  BioPtr cb(BIO_new(BIO_s_mem()));
  if (!kb || !cb ||
      PEM_write_bio_PrivateKey(kb.get(), impl->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cb.get(), x) != 1) {
    return make_error(Errc::io_error, "local CA: cannot encode the CA");
  }
  const std::string key_pem = drain(kb.get());
  impl->cert_pem = drain(cb.get());
  // The key first: a crash between the two leaves a key without a
  // certificate, which open_or_create reports instead of replacing silently.
  if (auto w = acm::write_file_atomic(key_file, key_pem, 0600); !w) return tl::unexpected(w.error());
  if (auto w = acm::write_file_atomic(cert_file, impl->cert_pem, 0644); !w) return tl::unexpected(w.error());
  return LocalCa(std::move(impl));
}

acm::Result<std::vector<std::uint8_t>> LocalCa::issue_ek_certificate(
    std::span<const std::uint8_t> ek_public, const TpmIdentity& identity) const {
  auto ek = detail::tpm_public_to_pkey(ek_public);
  if (!ek) return make_error(ek.error().code, "EK certificate: " + ek.error().message);
  X509Ptr cert(X509_new());
  if (!cert) return make_error(Errc::io_error, "EK certificate: out of memory");
  X509* x = cert.get();
  X509* ca = impl_->cert.get();
  const bool key_usage = EVP_PKEY_get_base_id(ek->get()) == EVP_PKEY_RSA
                             ? add_ext(x, ca, NID_key_usage, "critical,keyEncipherment")
                             : add_ext(x, ca, NID_key_usage, "critical,keyAgreement");
  const bool ok = X509_set_version(x, 2) == 1 && random_serial(x) && set_validity(x) &&
                  X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1 &&
                  X509_set_pubkey(x, ek->get()) == 1 &&
                  add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") && key_usage &&
                  add_ext(x, ca, NID_ext_key_usage, "2.23.133.8.1") &&
                  add_ext(x, ca, NID_authority_key_identifier, "keyid:always") &&
                  add_tpm_san(x, identity) && X509_sign(x, impl_->key.get(), EVP_sha256()) > 0;
  if (!ok) return make_error(Errc::io_error, "EK certificate: cannot build or sign it");
  const int len = i2d_X509(x, nullptr);
  if (len <= 0) return make_error(Errc::io_error, "EK certificate: cannot encode it");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(x, &p) != len) return make_error(Errc::io_error, "EK certificate: cannot encode it");
  return der;
}

acm::Result<std::string> certificate_der_to_pem(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!cert || !bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return make_error(Errc::malformed_binary, "not a DER certificate");
  }
  return drain(bio.get());
}

acm::Result<std::vector<std::uint8_t>> certificate_pem_to_der(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  const int len = cert ? i2d_X509(cert.get(), nullptr) : 0;
  if (len <= 0) return make_error(Errc::malformed_binary, "not a PEM certificate");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(cert.get(), &p) != len) return make_error(Errc::io_error, "cannot encode the certificate");
  return der;
}

}  // namespace shype::vtpm
