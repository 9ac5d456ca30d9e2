// Attestation end to end (docs/vtpm.md "Attestation"): the real
// vtpm_managerd with a swtpm as the platform TPM
// (SHYPE_VTPM_PLATFORM_TCTI), vtpmctl, tpm2-tools and openssl as a
// verifier's tools. Each test has its own SHYPE_ROOT; the manager and the
// platform swtpm are stopped by pid at the end (also on failure), the
// workers die with the manager.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "process.hpp"
#include "swtpm_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using shype::testing::ProcessResult;
using shype::testing::run_process;
using shype::testing::on_path;
using shype::testing::SwtpmProcess;

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_all(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

constexpr const char* kNonce = "5eed0123456789abcdef";

class VtpmAttestE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"swtpm", "tpm2_getekcertificate", "tpm2_nvread", "tpm2_getcap",
                             "tpm2_pcrextend", "tpm2_pcrread", "openssl"}) {
      if (!on_path(tool)) {
        GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs swtpm, "
                                "tpm2-tools and openssl); skipping the attestation tests";
      }
    }
    std::string templ = (fs::temp_directory_path() / "vtpm-attest-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    ::setenv("SHYPE_ROOT", root_.c_str(), 1);
    platform_ = std::make_unique<SwtpmProcess>(root_ / "platform-tpm");
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform_->tcti().c_str(), 1);
    started_ = true;
    auto r = run_process({VTPM_MANAGERD_PATH, "start"}, std::chrono::seconds(20));
    std::ifstream in(root_ / "run/vtpm/vtpm_managerd.pid");
    pid_t pid = 0;
    if (in >> pid && pid > 0) manager_pid_ = pid;
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    if (!started_) return;
    (void)run_process({VTPM_MANAGERD_PATH, "stop"}, std::chrono::seconds(20));
    if (manager_pid_ > 0 && ::kill(manager_pid_, 0) == 0) ::kill(manager_pid_, SIGKILL);
    platform_.reset();
    ::unsetenv("SHYPE_VTPM_PLATFORM_TCTI");
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  ProcessResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), VTPMCTL_PATH);
    return run_process(args, std::chrono::seconds(30));
  }
  // Runs vtpmctl with stdout into `file` (binary-safe).
  ProcessResult ctl_to(const fs::path& file, std::vector<std::string> args) {
    auto r = ctl(std::move(args));
    write_all(file, r.out);
    return r;
  }
  ProcessResult tool(const std::string& name, std::vector<std::string> args,
                     const std::string& tcti = {}) {
    args.insert(args.begin(), *on_path(name));
    if (!tcti.empty()) args.push_back("--tcti=" + tcti);
    return run_process(args, std::chrono::seconds(20));
  }
  std::string tcti(const std::string& ref) {
    auto r = ctl({"tcti", ref});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  // The banks tpm2_getcap lists with PCRs selected.
  std::vector<std::string> banks(const std::string& ref) {
    auto r = tool("tpm2_getcap", {"pcrs"}, tcti(ref));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    std::stringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      const auto dash = line.find("- ");
      const auto colon = line.find(": [");
      if (dash == std::string::npos || colon == std::string::npos) continue;
      if (line.find("[ ]") == std::string::npos) out.push_back(line.substr(dash + 2, colon - dash - 2));
    }
    return out;
  }
  // Pins the platform AK and the CA, takes a deep quote into q.json.
  void take_quote(const std::string& ref, const std::string& pcrs, const fs::path& out) {
    ASSERT_EQ(ctl_to(root_ / "ak.pem", {"platform-ak"}).exit_code, 0);
    ASSERT_EQ(ctl_to(root_ / "ca.pem", {"ca-cert"}).exit_code, 0);
    auto q = ctl({"deepquote", ref, "--nonce", kNonce, "--pcrs", pcrs, "-o", out.string()});
    ASSERT_EQ(q.exit_code, 0) << q.err;
  }
  ProcessResult verify(const fs::path& quote, const std::string& nonce = kNonce,
                       const std::string& ak = "ak.pem") {
    return ctl({"verify", quote.string(), "--nonce", nonce, "--ak", (root_ / ak).string(), "--ca",
                (root_ / "ca.pem").string()});
  }

  fs::path root_;
  std::unique_ptr<SwtpmProcess> platform_;
  pid_t manager_pid_ = 0;
  bool started_ = false;
};

TEST_F(VtpmAttestE2E, EkCertificateIsInNvMatchesAndChainsToTheCa) {
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  const std::string t = tcti("web");
  // What standard tools find in the instance's NV...
  auto got = tool("tpm2_getekcertificate", {"-o", (root_ / "nv-ek.der").string()}, t);
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto nv = tool("tpm2_nvread", {"0x01c00002", "-C", "o", "-o", (root_ / "nvread.der").string()}, t);
  ASSERT_EQ(nv.exit_code, 0) << nv.err;
  // ...is what the manager exports.
  ASSERT_EQ(ctl_to(root_ / "ek.der", {"ek-cert", "web", "--der"}).exit_code, 0);
  const std::string der = read_all(root_ / "ek.der");
  ASSERT_GT(der.size(), 300U);
  EXPECT_EQ(read_all(root_ / "nv-ek.der"), der);
  EXPECT_EQ(read_all(root_ / "nvread.der"), der);
  ASSERT_EQ(ctl_to(root_ / "ek.pem", {"ek-cert", "web"}).exit_code, 0);
  EXPECT_NE(read_all(root_ / "ek.pem").find("-----BEGIN CERTIFICATE-----"), std::string::npos);

  ASSERT_EQ(ctl_to(root_ / "ca.pem", {"ca-cert"}).exit_code, 0);
  auto ok = tool("openssl", {"verify", "-CAfile", (root_ / "ca.pem").string(),
                             (root_ / "ek.pem").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  // The TCG profile: EKU tcg-kp-EKCertificate, keyEncipherment, the TPM in the SAN.
  auto text = tool("openssl", {"x509", "-in", (root_ / "ek.pem").string(), "-noout", "-text"});
  EXPECT_NE(text.out.find("2.23.133.8.1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Key Encipherment"), std::string::npos);
  EXPECT_NE(text.out.find("2.23.133.2.1=id:49424D00"), std::string::npos) << text.out;
  // A CA of another manager does not vouch for it.
  auto other = tool("openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=other",
                                "-keyout", (root_ / "other.key").string(), "-out",
                                (root_ / "other.pem").string()});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(tool("openssl", {"verify", "-CAfile", (root_ / "other.pem").string(),
                             (root_ / "ek.pem").string()})
                .exit_code,
            0);

  // The certificate survives a stop and start (it is in the saved NV).
  ASSERT_EQ(ctl({"stop", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  auto again = tool("tpm2_nvread", {"0x01c00002", "-C", "o", "-o", (root_ / "again.der").string()}, t);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_all(root_ / "again.der"), der);
}

TEST_F(VtpmAttestE2E, PcrBanksAreSha256ByDefaultAndConfigurable) {
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"create", "legacy", "--pcr-banks", "sha1,sha256"}).exit_code, 0);
  auto bad = ctl({"create", "odd", "--pcr-banks", "md5"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("md5"), std::string::npos) << bad.err;
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "legacy"}).exit_code, 0);
  EXPECT_EQ(banks("web"), (std::vector<std::string>{"sha256"}));
  EXPECT_EQ(banks("legacy"), (std::vector<std::string>{"sha1", "sha256"}));
  // Recorded in the registry and kept across a restart from saved state.
  auto list = json::parse(ctl({"--json", "list"}).out);
  EXPECT_EQ(list["instances"][1]["pcr_banks"], json::array({"sha1", "sha256"}));
  ASSERT_EQ(ctl({"stop", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  EXPECT_EQ(banks("web"), (std::vector<std::string>{"sha256"}));
}

TEST_F(VtpmAttestE2E, DeepQuoteVerifiesAndBindsTheVtpmPcrs) {
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  const std::string t = tcti("web");
  ASSERT_EQ(tool("tpm2_pcrextend",
                 {"16:sha256=00000000000000000000000000000000000000000000000000000000000000aa"}, t)
                .exit_code,
            0);
  const fs::path q = root_ / "q.json";
  take_quote("web", "0,16", q);
  auto v = verify(q);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("VERIFIED"), std::string::npos) << v.out;
  // The document carries the vTPM's PCR 16 as tpm2-tools reads it.
  const json doc = json::parse(read_all(q));
  auto read = tool("tpm2_pcrread", {"sha256:16"}, t);
  ASSERT_EQ(read.exit_code, 0);
  std::string value = doc["vtpm_pcrs"]["values"][1]["value"].get<std::string>();
  for (auto& c : value)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(read.out.find("0x" + value), std::string::npos) << read.out << value;
  EXPECT_EQ(doc["uuid"], json::parse(ctl({"--json", "list"}).out)["instances"][0]["uuid"]);
  // --json gives the verdict as data.
  auto j = ctl({"--json", "verify", q.string(), "--nonce", kNonce, "--ak",
                (root_ / "ak.pem").string(), "--ca", (root_ / "ca.pem").string()});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_EQ(json::parse(j.out)["ok"], true);
}

TEST_F(VtpmAttestE2E, VerifyRefusesReplaysTamperingAndSwaps) {
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"create", "db"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"start", "db"}).exit_code, 0);
  const fs::path q = root_ / "q.json";
  take_quote("web", "0-7", q);
  ASSERT_EQ(verify(q).exit_code, 0);
  const json good = json::parse(read_all(q));
  const auto expect_refused = [&](const json& doc, const std::string& check,
                                  const std::string& nonce = kNonce,
                                  const std::string& ak = "ak.pem") {
    const fs::path f = root_ / "tampered.json";
    write_all(f, doc.dump(2));
    auto r = verify(f, nonce, ak);
    EXPECT_EQ(r.exit_code, 1) << check << ": " << r.out;
    EXPECT_NE(r.err.find(check + " failed"), std::string::npos) << check << ": " << r.err;
    EXPECT_NE(r.out.find("NOT VERIFIED"), std::string::npos) << r.out;
  };
  // A different nonce: a replayed quote.
  expect_refused(good, "qualifying-data", "5eed0123456789abcdee");
  // A tampered attest.
  json d = good;
  std::string attest = d["platform"]["attest"];
  attest[attest.size() - 10] = attest[attest.size() - 10] == '0' ? '1' : '0';
  d["platform"]["attest"] = attest;
  expect_refused(d, "signature");
  // A flipped signature.
  d = good;
  std::string sig = d["platform"]["signature"];
  sig[sig.size() - 4] = sig[sig.size() - 4] == 'f' ? 'e' : 'f';
  d["platform"]["signature"] = sig;
  expect_refused(d, "signature");
  // A different AK pinned.
  ASSERT_EQ(tool("openssl", {"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                             (root_ / "stranger.key").string()})
                .exit_code,
            0);
  ASSERT_EQ(tool("openssl", {"ec", "-in", (root_ / "stranger.key").string(), "-pubout", "-out",
                             (root_ / "stranger.pem").string()})
                .exit_code,
            0);
  expect_refused(good, "ak", kNonce, "stranger.pem");
  expect_refused(good, "signature", kNonce, "stranger.pem");
  // Another instance's EK (and certificate) swapped in.
  const fs::path other = root_ / "db.json";
  take_quote("db", "0-7", other);
  const json db = json::parse(read_all(other));
  d = good;
  d["ek_public"] = db["ek_public"];
  d["ek_cert"] = db["ek_cert"];
  expect_refused(d, "qualifying-data");
  // Another UUID.
  d = good;
  d["uuid"] = db["uuid"];
  expect_refused(d, "qualifying-data");
  // A vTPM PCR value changed.
  d = good;
  d["vtpm_pcrs"]["values"][0]["value"] = std::string(64, 'a');
  expect_refused(d, "qualifying-data");
  // A document that is not a deep quote is an error, not a verdict.
  write_all(root_ / "junk.json", "{\"format\": \"x\"}");
  auto junk = verify(root_ / "junk.json");
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("\"format\""), std::string::npos) << junk.err;
}

TEST_F(VtpmAttestE2E, DeepQuoteOfAStoppedInstanceIsAClearError) {
  ASSERT_EQ(ctl({"create", "web"}).exit_code, 0);
  auto never = ctl({"deepquote", "web", "--nonce", kNonce});
  EXPECT_EQ(never.exit_code, 1);
  EXPECT_NE(never.err.find("no EK certificate"), std::string::npos) << never.err;
  ASSERT_EQ(ctl({"start", "web"}).exit_code, 0);
  ASSERT_EQ(ctl({"stop", "web"}).exit_code, 0);
  auto r = ctl({"deepquote", "web", "--nonce", kNonce});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("vTPM instance 1 (web) is not running"), std::string::npos) << r.err;
  auto bad = ctl({"deepquote", "web", "--nonce", "xyz"});
  EXPECT_EQ(bad.exit_code, 1);
  auto usage = ctl({"deepquote", "web"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--nonce"), std::string::npos) << usage.err;
  // The EK certificate stays exportable while the instance is stopped.
  EXPECT_EQ(ctl({"ek-cert", "web"}).exit_code, 0);
}

}  // namespace
