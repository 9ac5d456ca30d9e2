#include "vtpm/deepquote.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm_pkey.hpp"
#include "vtpm/registry.hpp"

namespace shype::vtpm {

using detail::BioPtr;
using detail::PkeyPtr;
using detail::X509Ptr;

using acm::Errc;
using acm::make_error;
using nlohmann::json;

namespace deepquote_detail {


constexpr char kTag[] = "shype-vtpm-deepquote-v1";  // hashed with its NUL

void put_be32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

acm::Result<TPM2B_PUBLIC> unmarshal_public(std::span<const std::uint8_t> bytes) {
  TPM2B_PUBLIC pub{};
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(bytes.data(), bytes.size(), &offset, &pub) !=
          TSS2_RC_SUCCESS ||
      offset != bytes.size()) {
    return make_error(Errc::malformed_binary, "not a marshalled TPM2B_PUBLIC");
  }
  return pub;
}

acm::Result<PkeyPtr> public_to_pkey(const TPMT_PUBLIC& pub) {
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                     &OSSL_PARAM_BLD_free);
  if (!bld) return make_error(Errc::io_error, "out of memory");
  const char* type = nullptr;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> n(nullptr, &BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> e(nullptr, &BN_free);
  Bytes point;
  if (pub.type == TPM2_ALG_RSA) {
    type = "RSA";
    const auto& rsa = pub.unique.rsa;
    if (rsa.size == 0 || rsa.size > sizeof rsa.buffer) {
      return make_error(Errc::malformed_binary, "RSA public key without a modulus");
    }
    n.reset(BN_bin2bn(rsa.buffer, rsa.size, nullptr));
    const std::uint32_t exponent =
        pub.parameters.rsaDetail.exponent == 0 ? 65537U : pub.parameters.rsaDetail.exponent;
    e.reset(BN_new());
    if (!n || !e || BN_set_word(e.get(), exponent) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
      return make_error(Errc::io_error, "cannot build the RSA key");
    }
  } else if (pub.type == TPM2_ALG_ECC) {
    type = "EC";
    if (pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256) {
      return make_error(Errc::unsupported, "ECC key on a curve other than NIST P-256");
    }
    const auto& x = pub.unique.ecc.x;
    const auto& y = pub.unique.ecc.y;
    if (x.size != 32 || y.size != 32) {
      return make_error(Errc::malformed_binary, "ECC P-256 point with coordinates not 32 bytes");
    }
    point.push_back(0x04);
    point.insert(point.end(), x.buffer, x.buffer + 32);
    point.insert(point.end(), y.buffer, y.buffer + 32);
    static char group[] = "prime256v1";
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return make_error(Errc::io_error, "cannot build the EC key");
    }
  } else {
    return make_error(Errc::unsupported, "public key that is neither RSA nor ECC");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return make_error(Errc::malformed_binary, "the TPM public key is not a valid key");
  }
  return PkeyPtr(key);
}

acm::Result<PkeyPtr> bytes_to_pkey(std::span<const std::uint8_t> tpm2b) {
  auto pub = unmarshal_public(tpm2b);
  if (!pub) return tl::unexpected(pub.error());
  return public_to_pkey(pub->publicArea);
}

PkeyPtr pem_to_pkey(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr pem_to_x509(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Bytes sha256(std::span<const std::uint8_t> data) {
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != 32) {
    out.clear();
  }
  return out;
}

// Decoding helpers: each names the field it rejects.
tl::unexpected<acm::Error> bad(const std::string& what) {
  return make_error(Errc::malformed_binary, "deep quote: " + what);
}

acm::Result<Bytes> hex_field(const json& j, const char* name, std::size_t max_bytes) {
  if (!j.contains(name) || !j[name].is_string()) return bad("\"" + std::string(name) + "\" must be a hex string");
  const auto& text = j[name].get_ref<const std::string&>();
  if (text.size() > 2 * max_bytes) return bad("\"" + std::string(name) + "\" is too long");
  auto bytes = from_hex(text);
  if (!bytes) return bad("\"" + std::string(name) + "\": " + bytes.error().message);
  return bytes;
}

acm::Result<std::vector<PcrValue>> pcr_values_field(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_array()) return bad("\"" + std::string(name) + "\" must be an array");
  const auto& list = j[name];
  if (list.size() > kMaxPcrIndex + 1) return bad("\"" + std::string(name) + "\" has too many entries");
  std::vector<PcrValue> out;
  for (const auto& entry : list) {
    if (!entry.is_object() || !entry.contains("index") || !entry["index"].is_number_unsigned() ||
        entry["index"].get<std::uint64_t>() > kMaxPcrIndex) {
      return bad("\"" + std::string(name) + "\": every entry needs an \"index\" 0-23");
    }
    auto value = hex_field(entry, "value", 32);
    if (!value) return tl::unexpected(value.error());
    if (value->size() != 32) return bad("\"" + std::string(name) + "\": a value is not 32 bytes (sha256)");
    const auto index = static_cast<std::uint32_t>(entry["index"].get<std::uint64_t>());
    if (!out.empty() && out.back().index >= index) {
      return bad("\"" + std::string(name) + "\": indices must be ascending without duplicates");
    }
    out.push_back({index, std::move(*value)});
  }
  return out;
}

json pcr_values_json(const std::vector<PcrValue>& values) {
  json list = json::array();
  for (const auto& v : values)
    list.push_back({{"index", v.index}, {"value", to_hex(v.value)}});
  return list;
}

bool selection_matches(const TPML_PCR_SELECTION& sel, const std::vector<std::uint32_t>& pcrs) {
  if (sel.count != 1 || sel.pcrSelections[0].hash != TPM2_ALG_SHA256) return false;
  const auto& s = sel.pcrSelections[0];
  std::vector<std::uint32_t> selected;
  for (std::uint32_t i = 0; i < 8U * s.sizeofSelect && i / 8 < sizeof s.pcrSelect; ++i) {
    if ((s.pcrSelect[i / 8] & (1U << (i % 8))) != 0) selected.push_back(i);
  }
  return selected == pcrs;
}

// The signature as OpenSSL wants it (DER ECDSA-Sig-Value or the RSA bytes),
// with its hash algorithm.
acm::Result<Bytes> signature_bytes(const TPMT_SIGNATURE& sig) {
  if (sig.sigAlg == TPM2_ALG_ECDSA) {
    if (sig.signature.ecdsa.hash != TPM2_ALG_SHA256) return make_error(Errc::unsupported, "ECDSA signature not over SHA-256");
    const auto& r = sig.signature.ecdsa.signatureR;
    const auto& s = sig.signature.ecdsa.signatureS;
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> es(ECDSA_SIG_new(), &ECDSA_SIG_free);
    BIGNUM* br = BN_bin2bn(r.buffer, r.size, nullptr);
    BIGNUM* bs = BN_bin2bn(s.buffer, s.size, nullptr);
    if (!es || br == nullptr || bs == nullptr || ECDSA_SIG_set0(es.get(), br, bs) != 1) {
      BN_free(br);
      BN_free(bs);
      return make_error(Errc::io_error, "cannot build the ECDSA signature");
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(es.get(), &der);
    if (len <= 0) return make_error(Errc::io_error, "cannot encode the ECDSA signature");
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
  }
  if (sig.sigAlg == TPM2_ALG_RSASSA) {
    if (sig.signature.rsassa.hash != TPM2_ALG_SHA256) return make_error(Errc::unsupported, "RSASSA signature not over SHA-256");
    const auto& b = sig.signature.rsassa.sig;
    return Bytes(b.buffer, b.buffer + b.size);
  }
  return make_error(Errc::unsupported, "signature scheme is neither ECDSA nor RSASSA");
}

}  // namespace deepquote_detail

namespace detail {
acm::Result<PkeyPtr> tpm_public_to_pkey(std::span<const std::uint8_t> tpm2b_public) {
  return deepquote_detail::bytes_to_pkey(tpm2b_public);
}
}  // namespace detail

using namespace deepquote_detail;

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

acm::Result<Bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return make_error(Errc::invalid_argument, "odd number of hex digits");
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return make_error(Errc::invalid_argument, "not a hex digit");
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

acm::Result<std::vector<std::uint32_t>> parse_pcr_list(std::string_view text) {
  std::set<std::uint32_t> pcrs;
  const auto number = [](std::string_view t) -> std::optional<std::uint32_t> {
    if (t.empty() || t.size() > 2) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > kMaxPcrIndex) return std::nullopt;
    return v;
  };
  if (text.empty()) return make_error(Errc::invalid_argument, "empty PCR list");
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    const std::size_t dash = item.find('-');
    const auto first = number(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
    if (!first || !last || *first > *last) {
      return make_error(Errc::invalid_argument,
                        "PCR list '" + std::string(text) + "': '" + std::string(item) +
                            "' is not an index 0-23 or a range of them");
    }
    for (std::uint32_t i = *first; i <= *last; ++i)
      pcrs.insert(i);
    start = comma + 1;
  }
  return std::vector<std::uint32_t>(pcrs.begin(), pcrs.end());
}

std::string format_pcr_list(const std::vector<std::uint32_t>& pcrs) {
  std::string out;
  for (const auto p : pcrs)
    out += (out.empty() ? "" : ",") + std::to_string(p);
  return out;
}

json deep_quote_to_json(const DeepQuote& q) {
  json platform{{"attest", to_hex(q.platform.attest)},
                {"signature", to_hex(q.platform.signature)},
                {"ak_public", to_hex(q.platform.ak_public)},
                {"pcr_selection", "sha256:" + format_pcr_list(q.platform.pcrs)}};
  if (q.platform.pcr_values) platform["pcr_values"] = pcr_values_json(*q.platform.pcr_values);
  return {{"format", kDeepQuoteFormat},
          {"nonce", to_hex(q.nonce)},
          {"uuid", q.uuid},
          {"instance", q.instance},
          {"ek_public", to_hex(q.ek_public)},
          {"ek_cert", q.ek_cert_pem},
          {"vtpm_pcrs", {{"bank", "sha256"}, {"values", pcr_values_json(q.vtpm_pcrs)}}},
          {"platform", platform}};
}

acm::Result<DeepQuote> parse_deep_quote(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("format") || !j["format"].is_string() ||
      j["format"].get_ref<const std::string&>() != kDeepQuoteFormat) {
    return bad("\"format\" must be \"" + std::string(kDeepQuoteFormat) + "\"");
  }
  DeepQuote q;
  auto nonce = hex_field(j, "nonce", kMaxNonceBytes);
  if (!nonce) return tl::unexpected(nonce.error());
  if (nonce->empty()) return bad("\"nonce\" is empty");
  q.nonce = std::move(*nonce);
  if (!j.contains("uuid") || !j["uuid"].is_string()) return bad("\"uuid\" must be a string");
  auto uuid = canonical_uuid(j["uuid"].get_ref<const std::string&>());
  if (!uuid) return bad("\"uuid\" is not a UUID");
  q.uuid = *uuid;
  if (!j.contains("instance") || !j["instance"].is_number_unsigned() ||
      j["instance"].get<std::uint64_t>() > kMaxInstance) {
    return bad("\"instance\" must be a number 0-255");
  }
  q.instance = static_cast<std::uint32_t>(j["instance"].get<std::uint64_t>());
  auto ek = hex_field(j, "ek_public", sizeof(TPM2B_PUBLIC));
  if (!ek) return tl::unexpected(ek.error());
  if (!unmarshal_public(*ek)) return bad("\"ek_public\" is not a marshalled TPM2B_PUBLIC");
  q.ek_public = std::move(*ek);
  if (!j.contains("ek_cert") || !j["ek_cert"].is_string() ||
      j["ek_cert"].get_ref<const std::string&>().size() > 16384) {
    return bad("\"ek_cert\" must be a PEM certificate");
  }
  q.ek_cert_pem = j["ek_cert"].get<std::string>();
  if (!j.contains("vtpm_pcrs") || !j["vtpm_pcrs"].is_object()) return bad("\"vtpm_pcrs\" must be an object");
  const auto& vp = j["vtpm_pcrs"];
  if (!vp.contains("bank") || vp["bank"] != "sha256") return bad("\"vtpm_pcrs.bank\" must be \"sha256\"");
  auto vtpm_pcrs = pcr_values_field(vp, "values");
  if (!vtpm_pcrs) return tl::unexpected(vtpm_pcrs.error());
  q.vtpm_pcrs = std::move(*vtpm_pcrs);
  if (!j.contains("platform") || !j["platform"].is_object()) return bad("\"platform\" must be an object");
  const auto& p = j["platform"];
  auto attest = hex_field(p, "attest", sizeof(TPMS_ATTEST));
  if (!attest) return tl::unexpected(attest.error());
  q.platform.attest = std::move(*attest);
  auto signature = hex_field(p, "signature", sizeof(TPMT_SIGNATURE));
  if (!signature) return tl::unexpected(signature.error());
  q.platform.signature = std::move(*signature);
  auto ak = hex_field(p, "ak_public", sizeof(TPM2B_PUBLIC));
  if (!ak) return tl::unexpected(ak.error());
  if (!unmarshal_public(*ak)) return bad("\"platform.ak_public\" is not a marshalled TPM2B_PUBLIC");
  q.platform.ak_public = std::move(*ak);
  if (!p.contains("pcr_selection") || !p["pcr_selection"].is_string()) {
    return bad("\"platform.pcr_selection\" must be a string \"sha256:<indices>\"");
  }
  const auto& sel = p["pcr_selection"].get_ref<const std::string&>();
  if (sel.rfind("sha256:", 0) != 0) return bad("\"platform.pcr_selection\" must start with \"sha256:\"");
  auto pcrs = parse_pcr_list(std::string_view(sel).substr(7));
  if (!pcrs) return bad("\"platform.pcr_selection\": " + pcrs.error().message);
  q.platform.pcrs = std::move(*pcrs);
  if (p.contains("pcr_values")) {
    auto values = pcr_values_field(p, "pcr_values");
    if (!values) return tl::unexpected(values.error());
    q.platform.pcr_values = std::move(*values);
  }
  return q;
}

acm::Result<Bytes> deep_quote_qualifying_data(std::span<const std::uint8_t> nonce,
                                              std::string_view uuid,
                                              std::span<const std::uint8_t> ek_public,
                                              const std::vector<PcrValue>& vtpm_pcrs) {
  if (nonce.empty() || nonce.size() > kMaxNonceBytes) {
    return make_error(Errc::invalid_argument, "the nonce must be 1-64 bytes");
  }
  const auto canonical = canonical_uuid(uuid);
  if (!canonical || *canonical != uuid) {
    return make_error(Errc::invalid_argument, "'" + std::string(uuid) + "' is not a canonical UUID");
  }
  Bytes message(kTag, kTag + sizeof kTag);
  put_be32(message, static_cast<std::uint32_t>(nonce.size()));
  message.insert(message.end(), nonce.begin(), nonce.end());
  std::string digits;
  for (char c : uuid)
    if (c != '-') digits += c;
  auto raw_uuid = from_hex(digits);
  if (!raw_uuid || raw_uuid->size() != 16) return make_error(Errc::invalid_argument, "bad UUID");
  message.insert(message.end(), raw_uuid->begin(), raw_uuid->end());
  put_be32(message, static_cast<std::uint32_t>(ek_public.size()));
  message.insert(message.end(), ek_public.begin(), ek_public.end());
  put_be32(message, static_cast<std::uint32_t>(vtpm_pcrs.size()));
  for (const auto& v : vtpm_pcrs) {
    if (v.value.size() != 32) {
      return make_error(Errc::invalid_argument,
                        "vTPM PCR " + std::to_string(v.index) + " is not a sha256 value");
    }
    put_be32(message, v.index);
    message.insert(message.end(), v.value.begin(), v.value.end());
  }
  Bytes digest = sha256(message);
  if (digest.empty()) return make_error(Errc::io_error, "SHA-256 failed");
  return digest;
}

acm::Result<std::string> tpm_public_to_pem(std::span<const std::uint8_t> tpm2b_public) {
  auto key = bytes_to_pkey(tpm2b_public);
  if (!key) return tl::unexpected(key.error());
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key->get()) != 1) {
    return make_error(Errc::io_error, "cannot write the public key as PEM");
  }
  std::string pem(BIO_ctrl_pending(bio.get()), '\0');
  if (!pem.empty() && BIO_read(bio.get(), pem.data(), static_cast<int>(pem.size())) !=
                          static_cast<int>(pem.size())) {
    return make_error(Errc::io_error, "cannot write the public key as PEM");
  }
  return pem;
}

json VerifyVerdict::to_json() const {
  json list = json::array();
  for (const auto& c : checks)
    list.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  return {{"ok", ok}, {"checks", list}};
}

VerifyVerdict verify_deep_quote(const DeepQuote& q, std::span<const std::uint8_t> nonce,
                                std::string_view ak_pem, std::string_view ca_pem) {
  VerifyVerdict v;
  const auto check = [&](std::string name, bool ok, std::string detail) {
    v.checks.push_back({std::move(name), ok, std::move(detail)});
  };

  // 1. The verifier's nonce is the one the document carries.
  const bool nonce_ok = std::equal(nonce.begin(), nonce.end(), q.nonce.begin(), q.nonce.end());
  check("nonce", nonce_ok,
        nonce_ok ? "the document carries the verifier's nonce"
                 : "the document's nonce " + to_hex(q.nonce) + " is not the verifier's " +
                       to_hex(nonce));

  // 2. The platform TPM's attestation structure.
  TPMS_ATTEST attest{};
  size_t offset = 0;
  const bool attest_parsed =
      Tss2_MU_TPMS_ATTEST_Unmarshal(q.platform.attest.data(), q.platform.attest.size(), &offset,
                                    &attest) == TSS2_RC_SUCCESS &&
      offset == q.platform.attest.size();
  const bool attest_ok = attest_parsed && attest.magic == TPM2_GENERATED_VALUE &&
                         attest.type == TPM2_ST_ATTEST_QUOTE;
  check("attest", attest_ok,
        !attest_parsed                          ? "platform.attest is not a marshalled TPMS_ATTEST"
        : attest.magic != TPM2_GENERATED_VALUE  ? "platform.attest: magic is not TPM_GENERATED_VALUE"
        : attest.type != TPM2_ST_ATTEST_QUOTE   ? "platform.attest: type is not TPM_ST_ATTEST_QUOTE"
                                                : "a TPM-generated quote structure");

  // 3. extraData binds this vTPM (UUID, EK, PCRs) and the verifier's nonce.
  auto expected = deep_quote_qualifying_data(nonce, q.uuid, q.ek_public, q.vtpm_pcrs);
  bool qd_ok = false;
  std::string qd_detail;
  if (!expected) {
    qd_detail = "cannot recompute the qualifying data: " + expected.error().message;
  } else if (!attest_parsed) {
    qd_detail = "no quote to compare with";
  } else {
    qd_ok = attest.extraData.size == expected->size() &&
            std::memcmp(attest.extraData.buffer, expected->data(), expected->size()) == 0;
    qd_detail = qd_ok ? "extraData = SHA-256(tag, nonce, uuid " + q.uuid + ", EK public, " +
                            std::to_string(q.vtpm_pcrs.size()) + " vTPM PCRs)"
                      : "extraData " +
                            to_hex({attest.extraData.buffer, attest.extraData.size}) +
                            " is not the recomputed " + to_hex(*expected) +
                            " (wrong nonce, UUID, EK or vTPM PCR values)";
  }
  check("qualifying-data", qd_ok, qd_detail);

  // 4. The document's AK is the pinned one, and it signed the quote.
  PkeyPtr pinned = pem_to_pkey(ak_pem);
  auto doc_ak = bytes_to_pkey(q.platform.ak_public);
  const bool ak_ok = pinned && doc_ak && EVP_PKEY_eq(pinned.get(), doc_ak->get()) == 1;
  check("ak", ak_ok,
        !pinned   ? "the pinned AK is not a PEM public key"
        : !doc_ak ? "platform.ak_public: " + doc_ak.error().message
        : ak_ok   ? "platform.ak_public is the pinned AK"
                  : "platform.ak_public is not the pinned AK");
  bool sig_ok = false;
  std::string sig_detail;
  TPMT_SIGNATURE sig{};
  offset = 0;
  if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(q.platform.signature.data(), q.platform.signature.size(),
                                       &offset, &sig) != TSS2_RC_SUCCESS ||
      offset != q.platform.signature.size()) {
    sig_detail = "platform.signature is not a marshalled TPMT_SIGNATURE";
  } else if (!pinned) {
    sig_detail = "no pinned AK to check it with";
  } else if (auto der = signature_bytes(sig); !der) {
    sig_detail = "platform.signature: " + der.error().message;
  } else {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    sig_ok = md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pinned.get()) == 1 &&
             EVP_DigestVerify(md.get(), der->data(), der->size(), q.platform.attest.data(),
                              q.platform.attest.size()) == 1;
    sig_detail = sig_ok ? "the pinned AK signed platform.attest"
                        : "the signature over platform.attest does not verify under the pinned AK";
  }
  check("signature", sig_ok, sig_detail);

  // 5. The platform PCRs: the quote's selection is the document's, and the
  //    values the document carries hash to the quote's pcrDigest.
  if (attest_ok) {
    const auto& info = attest.attested.quote;
    const bool sel_ok = selection_matches(info.pcrSelect, q.platform.pcrs);
    check("platform-pcr-selection", sel_ok,
          sel_ok ? "the quote covers sha256:" + format_pcr_list(q.platform.pcrs)
                 : "the quote's PCR selection is not sha256:" + format_pcr_list(q.platform.pcrs));
    if (q.platform.pcr_values) {
      std::vector<std::uint32_t> indices;
      Bytes concat;
      for (const auto& pv : *q.platform.pcr_values) {
        indices.push_back(pv.index);
        concat.insert(concat.end(), pv.value.begin(), pv.value.end());
      }
      const Bytes digest = sha256(concat);
      const bool digest_ok = indices == q.platform.pcrs && info.pcrDigest.size == digest.size() &&
                             std::memcmp(info.pcrDigest.buffer, digest.data(), digest.size()) == 0;
      check("platform-pcr-digest", digest_ok,
            digest_ok ? "platform.pcr_values hash to the quote's pcrDigest"
            : indices != q.platform.pcrs
                ? "platform.pcr_values do not cover exactly the quoted PCRs"
                : "platform.pcr_values do not hash to the quote's pcrDigest");
    }
  }

  // 6. The EK certificate: its key is ek_public, and it chains to the CA.
  X509Ptr cert = pem_to_x509(q.ek_cert_pem);
  auto ek = bytes_to_pkey(q.ek_public);
  const bool ek_ok = cert && ek && EVP_PKEY_eq(X509_get0_pubkey(cert.get()), ek->get()) == 1;
  check("ek-cert-key", ek_ok,
        !cert ? "ek_cert is not a PEM certificate"
        : !ek ? "ek_public: " + ek.error().message
        : ek_ok ? "the EK certificate certifies ek_public"
                : "the EK certificate's key is not ek_public");
  if (!ca_pem.empty()) {
    X509Ptr ca = pem_to_x509(ca_pem);
    bool chain_ok = false;
    std::string chain_detail;
    if (!ca) {
      chain_detail = "the pinned CA is not a PEM certificate";
    } else if (!cert) {
      chain_detail = "no EK certificate to check";
    } else {
      std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                    &X509_STORE_free);
      std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                          &X509_STORE_CTX_free);
      if (store && ctx && X509_STORE_add_cert(store.get(), ca.get()) == 1 &&
          X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1) {
        chain_ok = X509_verify_cert(ctx.get()) == 1;
        chain_detail = chain_ok ? "the EK certificate chains to the pinned CA"
                                : std::string("the EK certificate does not chain to the pinned CA: ") +
                                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      } else {
        chain_detail = "cannot set up the certificate check";
      }
    }
    check("ek-cert-chain", chain_ok, chain_detail);
  }
  v.ok = std::all_of(v.checks.begin(), v.checks.end(), [](const VerifyCheck& c) { return c.ok; });
  return v;
}

}  // namespace shype::vtpm
