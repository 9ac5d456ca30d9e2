// Sealing the manager key to a platform TPM (a SwtpmProcess here) and the
// protected state store on top of it: seal/unseal; a PCR extended or another
// TPM -> refusal that says so; the NV counter; a store's save/load, a
// rolled-back blob or manifest refused, a crash between the manifest and the
// counter recovered.
#include "vtpm/platform_seal.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "acm/file_io.hpp"
#include "swtpm_process.hpp"
#include "vtpm/esys.hpp"
#include "vtpm/state_store.hpp"

namespace shype::vtpm {
namespace {

namespace fs = std::filesystem;
using shype::testing::SwtpmProcess;

const std::string kStoreUuid = "8d2b1c9e-4f4a-4c55-9a1e-0d3c2f6b7a10";

void extend_pcr(const std::string& tcti, unsigned pcr) {
  auto ctx = EsysContext::open(tcti);
  ASSERT_TRUE(ctx) << ctx.error().message;
  TPML_DIGEST_VALUES digests{};
  digests.count = 1;
  digests.digests[0].hashAlg = TPM2_ALG_SHA256;
  digests.digests[0].digest.sha256[31] = 1;
  ASSERT_EQ(Esys_PCR_Extend(ctx->get(), ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &digests),
            TSS2_RC_SUCCESS);
}

class PlatformSeal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
    std::string templ = (fs::temp_directory_path() / "vtpm-seal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    tpm_ = std::make_unique<SwtpmProcess>(dir_ / "platform");
  }
  void TearDown() override {
    tpm_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::unique_ptr<SwtpmProcess> tpm_;
};

TEST_F(PlatformSeal, PcrSelectionParsing) {
  auto ok = parse_pcr_selection("sha256:0,2,4,7");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->to_string(), "sha256:0,2,4,7");
  for (const char* bad : {"sha256", "md5:1", "sha256:", "sha256:24", "sha256:1,1", "sha256:1,"}) {
    EXPECT_FALSE(parse_pcr_selection(bad)) << bad;
  }
}

TEST_F(PlatformSeal, SealUnsealAndRefusals) {
  StateKey secret{};
  secret.fill(0x42);
  auto pcrs = parse_pcr_selection("sha256:0,7,16");
  ASSERT_TRUE(pcrs);
  auto sealed = seal_secret(tpm_->tcti(), *pcrs, kDefaultCounterIndex, secret);
  ASSERT_TRUE(sealed) << sealed.error().message;
  // The stored form round-trips through its parser.
  auto reparsed = parse_sealed_secret(sealed->serialize(), "k");
  ASSERT_TRUE(reparsed) << reparsed.error().message;
  EXPECT_EQ(reparsed->pcrs, *pcrs);
  EXPECT_EQ(reparsed->public_area, sealed->public_area);
  EXPECT_EQ(reparsed->private_area, sealed->private_area);
  auto unsealed = unseal_secret(tpm_->tcti(), *reparsed);
  ASSERT_TRUE(unsealed) << unsealed.error().message;
  EXPECT_EQ(*unsealed, secret);
  // Twice: every handle was flushed the first time.
  ASSERT_TRUE(unseal_secret(tpm_->tcti(), *reparsed));

  // Another TPM (its own seeds) cannot load it.
  SwtpmProcess other(dir_ / "other");
  auto foreign = unseal_secret(other.tcti(), *sealed);
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message.find("cannot unseal the manager key"), std::string::npos);
  EXPECT_NE(foreign.error().message.find("not the one it was sealed to"), std::string::npos)
      << foreign.error().message;

  // A PCR outside the selection does not matter; one inside does.
  extend_pcr(tpm_->tcti(), 8);
  ASSERT_TRUE(unseal_secret(tpm_->tcti(), *sealed));
  extend_pcr(tpm_->tcti(), 7);
  auto changed = unseal_secret(tpm_->tcti(), *sealed);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("the platform's PCRs changed"), std::string::npos)
      << changed.error().message;
}

TEST_F(PlatformSeal, NvCounterIsDefinedOnceAndIncrements) {
  auto first = ensure_counter(tpm_->tcti(), 0x01500a71);
  ASSERT_TRUE(first) << first.error().message;
  auto again = ensure_counter(tpm_->tcti(), 0x01500a71);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  auto next = increment_counter(tpm_->tcti(), 0x01500a71);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, *first + 1);
  EXPECT_EQ(*read_counter(tpm_->tcti(), 0x01500a71), *first + 1);
  EXPECT_FALSE(read_counter(tpm_->tcti(), 0x01500a72));
}

class StateStoreTest : public PlatformSeal {
 protected:
  std::unique_ptr<StateStore> open_store(bool instances_exist) {
    auto store = std::make_unique<StateStore>(Layout(dir_ / "root"), tpm_->tcti());
    auto ok = store->open(instances_exist);
    EXPECT_TRUE(ok) << ok.error().message;
    return store;
  }
  fs::path saved(const std::string& f) { return dir_ / "root/var/lib/vtpm/instances/3/saved" / f; }
  void SetUp() override {
    PlatformSeal::SetUp();
    if (IsSkipped()) return;
    fs::create_directories(dir_ / "root/var/lib/vtpm/instances/3/saved");
  }
};

TEST_F(StateStoreTest, SaveLoadAndRollbacksAreRefused) {
  auto store = open_store(false);
  ASSERT_TRUE(store->is_open());
  ASSERT_TRUE(store->create_instance(3, kStoreUuid));
  auto fresh = store->load(3, kStoreUuid);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->empty());
  const StateFiles v1{{"tpm2-00.permall", {1, 2, 3}}, {"tpm2-00.volatilestate", {4, 5}}};
  const StateFiles v2{{"tpm2-00.permall", {6, 7, 8}}, {"tpm2-00.volatilestate", {9}}};
  ASSERT_TRUE(store->save(3, kStoreUuid, v1));
  auto old_perm = acm::read_file(saved("tpm2-00.permall"));
  auto old_manifest = acm::read_file(store->manifest_path());
  ASSERT_TRUE(old_perm && old_manifest);
  ASSERT_TRUE(store->save(3, kStoreUuid, v2));
  EXPECT_FALSE(fs::exists(saved("tpm2-00.permall.next")));
  EXPECT_EQ(*store->load(3, kStoreUuid), v2);
  // Plaintext is not on disk.
  auto on_disk = acm::read_file(saved("tpm2-00.permall"));
  ASSERT_TRUE(on_disk);
  EXPECT_NE(on_disk->size(), 3u);

  // A restarted store (same TPM, PCRs unchanged) reads the same state.
  store = open_store(true);
  EXPECT_EQ(*store->load(3, kStoreUuid), v2);

  // An older copy of a blob put back: refused, and the file left as it is.
  ASSERT_TRUE(acm::write_file_atomic(saved("tpm2-00.permall"), *old_perm, 0600));
  auto rolled = store->load(3, kStoreUuid);
  ASSERT_FALSE(rolled);
  EXPECT_NE(rolled.error().message.find("tpm2-00.permall"), std::string::npos);
  EXPECT_NE(rolled.error().message.find("rollback"), std::string::npos) << rolled.error().message;
  EXPECT_EQ(*acm::read_file(saved("tpm2-00.permall")), *old_perm);
  // The wrong uuid (a registry edited to point elsewhere) is refused too.
  EXPECT_FALSE(store->load(3, "another-domain"));

  // An older manifest put back: the platform counter refuses it at open.
  ASSERT_TRUE(acm::write_file_atomic(store->manifest_path(), *old_manifest, 0600));
  StateStore again(Layout(dir_ / "root"), tpm_->tcti());
  auto refused = again.open(true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("rollback"), std::string::npos) << refused.error().message;
}

TEST_F(StateStoreTest, CrashWindowsKeepTheLastCommittedSave) {
  auto store = open_store(false);
  ASSERT_TRUE(store->create_instance(3, kStoreUuid));
  const StateFiles v1{{"tpm2-00.permall", {1, 2, 3}}};
  const StateFiles v2{{"tpm2-00.permall", {4, 5, 6}}};
  const StateFiles v3{{"tpm2-00.permall", {7, 8, 9}}};
  ASSERT_TRUE(store->save(3, kStoreUuid, v1));
  auto before = read_counter(tpm_->tcti(), kDefaultCounterIndex);
  ASSERT_TRUE(before);

  // The platform TPM goes away after the manifest is written and before the
  // counter is incremented (the crash window between steps 2 and 3).
  tpm_->stop();
  auto half = store->save(3, kStoreUuid, v2);
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("NV counter was not incremented"), std::string::npos)
      << half.error().message;
  tpm_ = std::make_unique<SwtpmProcess>(dir_ / "platform");  // the same TPM, power-cycled
  EXPECT_EQ(*read_counter(tpm_->tcti(), kDefaultCounterIndex), *before);
  // A new manager accepts the manifest one ahead, completes the increment,
  // and has the last save.
  store = open_store(true);
  ASSERT_TRUE(store->is_open());
  EXPECT_EQ(*read_counter(tpm_->tcti(), kDefaultCounterIndex), *before + 1);
  EXPECT_EQ(*store->load(3, kStoreUuid), v2);

  // A crash after the manifest, before <file> was rewritten: <file> is one
  // generation old and <file>.next is the committed one.
  auto blob_v2 = acm::read_file(saved("tpm2-00.permall"));
  ASSERT_TRUE(store->save(3, kStoreUuid, v3));
  auto blob_v3 = acm::read_file(saved("tpm2-00.permall"));
  ASSERT_TRUE(blob_v2 && blob_v3);
  ASSERT_TRUE(acm::write_file_atomic(saved("tpm2-00.permall"), *blob_v2, 0600));
  ASSERT_TRUE(acm::write_file_atomic(saved("tpm2-00.permall.next"), *blob_v3, 0600));
  EXPECT_EQ(*store->load(3, kStoreUuid), v3);
  // Without the .next, the old <file> alone is a rollback.
  fs::remove(saved("tpm2-00.permall.next"));
  auto rolled = store->load(3, kStoreUuid);
  ASSERT_FALSE(rolled);
  EXPECT_NE(rolled.error().message.find("rollback"), std::string::npos);
}

TEST_F(StateStoreTest, MissingKeyWithExistingStateIsRefusedAndNothingIsDeleted) {
  {
    auto store = open_store(false);
    ASSERT_TRUE(store->create_instance(3, kStoreUuid));
  }
  const fs::path sealed = dir_ / "root/var/lib/vtpm/manager-key.sealed";
  fs::rename(sealed, dir_ / "moved-away");
  StateStore store(Layout(dir_ / "root"), tpm_->tcti());
  auto refused = store.open(true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("is missing but vTPM instance state exists"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(sealed));
  EXPECT_TRUE(fs::exists(saved("instance.key")));
  EXPECT_TRUE(fs::exists(dir_ / "root/var/lib/vtpm/manifest.json"));

  // Back in place, but the platform PCRs changed: refused, files intact.
  fs::rename(dir_ / "moved-away", sealed);
  extend_pcr(tpm_->tcti(), 0);
  auto changed = store.open(true);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("the platform's PCRs changed"), std::string::npos);
  EXPECT_TRUE(fs::exists(sealed));
}

TEST_F(StateStoreTest, ConfiguredPcrSelectionIsRecordedAndUsed) {
  ::setenv("SHYPE_VTPM_SEAL_PCRS", "sha256:16,23", 1);
  ::setenv("SHYPE_VTPM_NV_COUNTER", "0x01500b00", 1);
  auto store = open_store(false);
  ::unsetenv("SHYPE_VTPM_SEAL_PCRS");
  ::unsetenv("SHYPE_VTPM_NV_COUNTER");
  ASSERT_TRUE(store->is_open());
  auto bytes = acm::read_file(store->sealed_key_path());
  ASSERT_TRUE(bytes);
  auto sealed = parse_sealed_secret(*bytes, "k");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->pcrs.to_string(), "sha256:16,23");
  EXPECT_EQ(sealed->counter_index, 0x01500b00u);
  EXPECT_TRUE(read_counter(tpm_->tcti(), 0x01500b00));
  // The recorded selection is used, not the default: PCR 0 does not matter.
  extend_pcr(tpm_->tcti(), 0);
  store = open_store(true);
  EXPECT_TRUE(store->is_open());
  extend_pcr(tpm_->tcti(), 16);
  StateStore again(Layout(dir_ / "root"), tpm_->tcti());
  auto refused = again.open(true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("sha256:16,23"), std::string::npos)
      << refused.error().message;

  ::setenv("SHYPE_VTPM_SEAL_PCRS", "sha256:99", 1);
  EXPECT_NE(seal_pcrs_from_environment().error().message.find("SHYPE_VTPM_SEAL_PCRS"),
            std::string::npos);
  ::unsetenv("SHYPE_VTPM_SEAL_PCRS");
  ::setenv("SHYPE_VTPM_NV_COUNTER", "0x81000001", 1);
  EXPECT_FALSE(counter_index_from_environment());
  ::unsetenv("SHYPE_VTPM_NV_COUNTER");
}

}  // namespace
}  // namespace shype::vtpm
