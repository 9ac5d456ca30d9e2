// Attestation without the manager: the local CA, manufacturing a bare swtpm
// as an instance, deep quotes by a second swtpm standing in for the platform
// TPM, and the verifier, which must refuse every kind of tampering.
#include "vtpm/attest.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "swtpm_process.hpp"
#include "vtpm/deepquote.hpp"
#include "vtpm/local_ca.hpp"
#include "vtpm/manager.hpp"
#include "vtpm/registry.hpp"

namespace shype::vtpm {
namespace {

namespace fs = std::filesystem;
using shype::testing::SwtpmProcess;

fs::path temp_dir(const char* prefix) {
  std::string templ = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) return {};
  return templ;
}

// A P-256 public key nobody pinned.
std::string stranger_key_pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  std::string pem(BIO_ctrl_pending(bio), '\0');
  BIO_read(bio, pem.data(), static_cast<int>(pem.size()));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

const VerifyCheck* find_check(const VerifyVerdict& v, const std::string& name) {
  for (const auto& c : v.checks)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(VtpmPcrList, ParsesListsAndRanges) {
  EXPECT_EQ(parse_pcr_list("0-3,16").value(), (std::vector<std::uint32_t>{0, 1, 2, 3, 16}));
  EXPECT_EQ(parse_pcr_list("7,0,7").value(), (std::vector<std::uint32_t>{0, 7}));
  EXPECT_EQ(format_pcr_list({0, 1, 23}), "0,1,23");
  for (const char* bad : {"", "24", "1,", "3-1", "a", "0-", "-1", "100"}) {
    EXPECT_FALSE(parse_pcr_list(bad)) << bad;
  }
  EXPECT_EQ(parse_pcr_banks("sha1,sha256").value(), (std::vector<std::string>{"sha1", "sha256"}));
  EXPECT_FALSE(parse_pcr_banks("sha256,sha256"));
  EXPECT_FALSE(parse_pcr_banks("md5"));
  EXPECT_FALSE(parse_pcr_banks(""));
  EXPECT_EQ(from_hex("00fFa1").value(), (Bytes{0x00, 0xff, 0xa1}));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(VtpmRegistryBanks, StoredAndValidated) {
  Registry r;
  ASSERT_TRUE(r.create("a", "", std::nullopt));
  ASSERT_TRUE(r.create("b", "", std::nullopt, {"sha1", "sha256"}));
  EXPECT_FALSE(r.create("c", "", std::nullopt, {"sha3"}));
  EXPECT_FALSE(r.create("c", "", std::nullopt, {}));
  auto loaded = Registry::from_json(r.to_json());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->bindings()[0].pcr_banks, (std::vector<std::string>{"sha256"}));
  EXPECT_EQ(loaded->bindings()[1].pcr_banks, (std::vector<std::string>{"sha1", "sha256"}));
  auto stored = r.to_json();
  stored["instances"][0]["pcr_banks"] = nlohmann::json::array({"sha256", "sha256"});
  EXPECT_FALSE(Registry::from_json(stored));
  stored["instances"][0].erase("pcr_banks");
  EXPECT_EQ(Registry::from_json(stored)->bindings()[0].pcr_banks,
            (std::vector<std::string>{"sha256"}));
}

TEST(VtpmLocalCa, CreatedOnceThenLoaded) {
  const fs::path dir = temp_dir("vtpm-ca");
  ASSERT_FALSE(dir.empty());
  auto ca = LocalCa::open_or_create(dir / "ca");
  ASSERT_TRUE(ca) << ca.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "ca/ca-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  auto again = LocalCa::open_or_create(dir / "ca");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->certificate_pem(), ca->certificate_pem());
  fs::remove(dir / "ca/ca-cert.pem");
  auto half = LocalCa::open_or_create(dir / "ca");
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("ca-cert.pem is missing"), std::string::npos);
  fs::remove_all(dir);
}

class VtpmDeepQuote : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
    dir_ = temp_dir("vtpm-attest");
    ASSERT_FALSE(dir_.empty());
    instance_ = std::make_unique<SwtpmProcess>(dir_ / "instance");
    platform_ = std::make_unique<SwtpmProcess>(dir_ / "platform");
    auto ca = LocalCa::open_or_create(dir_ / "ca");
    ASSERT_TRUE(ca) << ca.error().message;
    ca_.emplace(std::move(*ca));
    auto made = manufacture_instance(instance_->tcti(), instance_->dir() / "tpm.sock.ctrl",
                                     {"sha256"}, *ca_);
    ASSERT_TRUE(made) << made.error().message;
    made_ = std::move(*made);
    auto pem = certificate_der_to_pem(made_.ek_cert_der);
    ASSERT_TRUE(pem);
    ek_pem_ = *pem;
    auto ak = platform_ak_public(platform_->tcti());
    ASSERT_TRUE(ak) << ak.error().message;
    auto ak_pem = tpm_public_to_pem(*ak);
    ASSERT_TRUE(ak_pem);
    ak_pem_ = *ak_pem;
  }
  void TearDown() override {
    instance_.reset();
    platform_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  DeepQuote quote(const Bytes& nonce) {
    DeepQuoteRequest r{instance_->tcti(), platform_->tcti(), nonce, kUuid, 3, ek_pem_, {0, 16}, {0, 1, 2, 3, 4, 5, 6, 7}};
    auto q = make_deep_quote(r);
    EXPECT_TRUE(q) << q.error().message;
    return q ? *q : DeepQuote{};
  }

  static constexpr const char* kUuid = "0b5c6d2e-1111-4a2b-8c3d-0123456789ab";
  fs::path dir_;
  std::unique_ptr<SwtpmProcess> instance_;
  std::unique_ptr<SwtpmProcess> platform_;
  std::optional<LocalCa> ca_;
  Manufactured made_;
  std::string ek_pem_;
  std::string ak_pem_;
};

TEST_F(VtpmDeepQuote, ManufacturingAllocatesBanksAndCertifiesTheEk) {
  EXPECT_EQ(made_.pcr_banks, (std::vector<std::string>{"sha256"}));
  auto banks = allocated_pcr_banks(instance_->tcti());
  ASSERT_TRUE(banks) << banks.error().message;
  EXPECT_EQ(*banks, (std::vector<std::string>{"sha256"}));
  // The EK read back from its persistent handle is the certified one.
  auto evidence = read_instance_evidence(instance_->tcti(), {});
  ASSERT_TRUE(evidence) << evidence.error().message;
  EXPECT_EQ(evidence->ek_public, made_.ek_public);
  EXPECT_EQ(made_.identity.manufacturer, "id:49424D00");  // "IBM", libtpms
  // The platform AK is deterministic: the same key every time.
  auto ak = platform_ak_public(platform_->tcti());
  ASSERT_TRUE(ak);
  EXPECT_EQ(tpm_public_to_pem(*ak).value(), ak_pem_);
}

TEST_F(VtpmDeepQuote, VerifiesAndRoundTrips) {
  const Bytes nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  const DeepQuote q = quote(nonce);
  const auto v = verify_deep_quote(q, nonce, ak_pem_, ca_->certificate_pem());
  for (const auto& c : v.checks)
    EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.checks.size(), 9U);
  auto parsed = parse_deep_quote(deep_quote_to_json(q).dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, q);
  EXPECT_EQ(q.vtpm_pcrs.size(), 2U);
}

TEST_F(VtpmDeepQuote, RefusesEveryTampering) {
  const Bytes nonce = {9, 9, 9, 9};
  const DeepQuote good = quote(nonce);
  const std::string ca = ca_->certificate_pem();
  ASSERT_TRUE(verify_deep_quote(good, nonce, ak_pem_, ca).ok);
  const auto expect_fails = [&](const DeepQuote& q, const Bytes& n, const std::string& ak,
                                const std::string& ca_pem, const std::string& check) {
    const auto v = verify_deep_quote(q, n, ak, ca_pem);
    EXPECT_FALSE(v.ok) << check;
    const VerifyCheck* c = find_check(v, check);
    ASSERT_NE(c, nullptr) << check;
    EXPECT_FALSE(c->ok) << check << ": " << c->detail;
  };
  // Another nonce (a replayed quote).
  expect_fails(good, {9, 9, 9, 8}, ak_pem_, ca, "qualifying-data");
  // A tampered attest: every byte position class (header, extraData, PCR digest).
  for (std::size_t at : {std::size_t{10}, good.platform.attest.size() / 2, good.platform.attest.size() - 1}) {
    DeepQuote q = good;
    q.platform.attest[at] ^= 0x01;
    expect_fails(q, nonce, ak_pem_, ca, "signature");
  }
  // A flipped signature bit.
  {
    DeepQuote q = good;
    q.platform.signature[q.platform.signature.size() - 3] ^= 0x80;
    expect_fails(q, nonce, ak_pem_, ca, "signature");
  }
  // A different pinned AK.
  expect_fails(good, nonce, stranger_key_pem(), ca, "ak");
  expect_fails(good, nonce, stranger_key_pem(), ca, "signature");
  // Another UUID.
  {
    DeepQuote q = good;
    q.uuid = "0b5c6d2e-1111-4a2b-8c3d-0123456789ac";
    expect_fails(q, nonce, ak_pem_, ca, "qualifying-data");
  }
  // Another EK (the platform AK's public key stands in for a foreign one).
  {
    DeepQuote q = good;
    q.ek_public = q.platform.ak_public;
    expect_fails(q, nonce, ak_pem_, ca, "qualifying-data");
    expect_fails(q, nonce, ak_pem_, ca, "ek-cert-key");
  }
  // A changed vTPM PCR value.
  {
    DeepQuote q = good;
    q.vtpm_pcrs[1].value[0] ^= 0xff;
    expect_fails(q, nonce, ak_pem_, ca, "qualifying-data");
  }
  // A changed platform PCR value.
  {
    DeepQuote q = good;
    (*q.platform.pcr_values)[0].value[5] ^= 0x10;
    expect_fails(q, nonce, ak_pem_, ca, "platform-pcr-digest");
  }
  // A claimed platform PCR selection the quote does not cover.
  {
    DeepQuote q = good;
    q.platform.pcrs.pop_back();
    expect_fails(q, nonce, ak_pem_, ca, "platform-pcr-selection");
  }
  // An EK certificate from another CA.
  {
    const fs::path other = dir_ / "other-ca";
    auto other_ca = LocalCa::open_or_create(other);
    ASSERT_TRUE(other_ca);
    expect_fails(good, nonce, ak_pem_, other_ca->certificate_pem(), "ek-cert-chain");
  }
}

TEST_F(VtpmDeepQuote, DecoderNamesTheBadField) {
  const DeepQuote q = quote({1});
  const auto j = deep_quote_to_json(q);
  const auto fails_with = [&](nlohmann::json doc, const std::string& needle) {
    auto parsed = parse_deep_quote(doc.dump());
    ASSERT_FALSE(parsed) << needle;
    EXPECT_NE(parsed.error().message.find(needle), std::string::npos) << parsed.error().message;
  };
  auto d = j;
  d["format"] = "other/1";
  fails_with(d, "\"format\"");
  d = j;
  d["nonce"] = "xyz";
  fails_with(d, "\"nonce\"");
  d = j;
  d["uuid"] = "not-a-uuid";
  fails_with(d, "\"uuid\"");
  d = j;
  d["ek_public"] = "0001";
  fails_with(d, "\"ek_public\"");
  d = j;
  d["vtpm_pcrs"]["values"][0]["value"] = "00";
  fails_with(d, "\"values\"");
  d = j;
  d["platform"]["pcr_selection"] = "sha1:0";
  fails_with(d, "\"platform.pcr_selection\"");
  EXPECT_FALSE(parse_deep_quote("not json"));
}

TEST(VtpmManagerAttest, BanksCaAndCertificatesThroughRpc) {
  const fs::path root = temp_dir("vtpm-mgr-attest");
  ASSERT_FALSE(root.empty());
  if (!shype::testing::SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
  // The manager's protected state needs its platform TPM.
  shype::testing::SwtpmProcess platform(root / "platform-tpm");
  ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform.tcti().c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("SHYPE_VTPM_PLATFORM_TCTI"); }
  } unset;
  {
    Manager m(Layout(root), [](std::string_view) {});
    ASSERT_TRUE(m.open());
    EXPECT_TRUE(fs::exists(root / "var/lib/vtpm/ca/ca-key.pem"));
    auto ca = m.call("vtpm.ca_cert", rpc::Json::object());
    ASSERT_TRUE(ca);
    EXPECT_EQ((*ca)["pem"].get<std::string>().rfind("-----BEGIN CERTIFICATE-----", 0), 0U);
    auto legacy = m.call("vtpm.create", {{"name", "legacy"}, {"pcr_banks", "sha1,sha256"}});
    ASSERT_TRUE(legacy);
    EXPECT_EQ((*legacy)["pcr_banks"], rpc::Json::array({"sha1", "sha256"}));
    auto plain = m.call("vtpm.create", {{"name", "plain"}});
    ASSERT_TRUE(plain);
    EXPECT_EQ((*plain)["pcr_banks"], rpc::Json::array({"sha256"}));
    auto bad = m.call("vtpm.create", {{"name", "odd"}, {"pcr_banks", rpc::Json::array({"sm3"})}});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("sm3"), std::string::npos);
    auto none = m.call("vtpm.ek_cert", {{"ref", "plain"}});
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("has no EK certificate"), std::string::npos);
    auto quote = m.call("vtpm.deepquote", {{"ref", "nosuch"}, {"nonce", "00"}});
    ASSERT_FALSE(quote);
    // The same CA after a manager restart.
    Manager again(Layout(root), [](std::string_view) {});
    ASSERT_TRUE(again.open());
    EXPECT_EQ((*again.call("vtpm.ca_cert", rpc::Json::object()))["pem"], (*ca)["pem"]);
  }
  fs::remove_all(root);
}

TEST(VtpmReadEvidence, WithoutAnEkIsAClearError) {
  if (!SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
  const fs::path dir = temp_dir("vtpm-noek");
  {
    SwtpmProcess bare(dir / "tpm");
    auto e = read_instance_evidence(bare.tcti(), {0});
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("0x81010001"), std::string::npos) << e.error().message;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace shype::vtpm
