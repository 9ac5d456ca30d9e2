// Migration without workers or network: sealing and opening packages, their
// stored form, the peer wire decoder, and the two-phase export/import between
// two managers under two temporary roots (saved state written by hand).
#include "vtpm/migration.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "acm/file_io.hpp"
#include "swtpm_process.hpp"
#include "vtpm/manager.hpp"
#include "vtpm/migration_wire.hpp"

namespace shype::vtpm {
namespace {

namespace fs = std::filesystem;
using rpc::Json;

const std::vector<std::uint8_t> kPermall = {'p', 'e', 'r', 'm', 0, 1, 2, 3, 0xff};
const std::vector<std::uint8_t> kVolatile = {'v', 'o', 'l', 9, 8, 7};

MigrationMetadata sample_metadata() {
  return {"web",
          "0b6f3c52-8e8a-4c8e-9b59-4d8a1e0f2a11",
          3,
          {"tpm2-00.permall", "tpm2-00.volatilestate"}};
}
const std::vector<std::uint8_t> kChallenge(kMigrationChallengeBytes, 0x5a);
const std::string kChallengeHex(2 * kMigrationChallengeBytes, 'a');  // another challenge

StateFiles sample_files() {
  return {{"tpm2-00.permall", kPermall}, {"tpm2-00.volatilestate", kVolatile}};
}

TEST(VtpmMigrationPackage, SealOpenRoundTrip) {
  auto key = MigrationKey::generate();
  ASSERT_TRUE(key);
  auto package = seal_package(sample_metadata(), sample_files(), key->public_key(), kChallenge);
  ASSERT_TRUE(package) << package.error().message;
  // The state is not in the clear.
  const std::string ct(package->ciphertext.begin(), package->ciphertext.end());
  EXPECT_EQ(ct.find("perm"), std::string::npos);
  auto stored = package_from_json(package_to_json(*package));
  ASSERT_TRUE(stored) << stored.error().message;
  auto files = open_package(*stored, *key, kChallenge);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(*files, sample_files());
}

TEST(VtpmMigrationPackage, WrongKeyIsRefused) {
  auto key = MigrationKey::generate();
  auto other = MigrationKey::generate();
  ASSERT_TRUE(key && other);
  auto package = seal_package(sample_metadata(), sample_files(), key->public_key(), kChallenge);
  ASSERT_TRUE(package);
  auto opened = open_package(*package, *other, kChallenge);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("another manager's key"), std::string::npos);
  // Claiming the other key as recipient does not help: authentication fails.
  package->recipient = other->public_key();
  opened = open_package(*package, *other, kChallenge);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("authentication failed"), std::string::npos);
}

TEST(VtpmMigrationPackage, AnotherMigrationsChallengeIsRefused) {
  auto key = MigrationKey::generate();
  ASSERT_TRUE(key);
  auto package = seal_package(sample_metadata(), sample_files(), key->public_key(), kChallenge);
  ASSERT_TRUE(package);
  const std::vector<std::uint8_t> fresh(kMigrationChallengeBytes, 0x01);
  auto opened = open_package(*package, *key, fresh);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("another migration"), std::string::npos);
  // Rewriting the package's challenge to the fresh one breaks authentication.
  package->challenge = fresh;
  opened = open_package(*package, *key, fresh);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("authentication failed"), std::string::npos);
  EXPECT_FALSE(seal_package(sample_metadata(), sample_files(), key->public_key(), {1, 2}));
}

TEST(VtpmMigrationPackage, TamperingIsRefused) {
  auto key = MigrationKey::generate();
  ASSERT_TRUE(key);
  auto sealed = seal_package(sample_metadata(), sample_files(), key->public_key(), kChallenge);
  ASSERT_TRUE(sealed);
  const auto refused = [&](MigrationPackage p, const char* what) {
    auto opened = open_package(p, *key, kChallenge);
    EXPECT_FALSE(opened) << what;
    if (!opened) {
      EXPECT_NE(opened.error().message.find("authentication failed"), std::string::npos) << what;
    }
  };
  {
    auto p = *sealed;
    p.ciphertext[0] ^= 1;
    refused(p, "ciphertext");
  }
  {
    auto p = *sealed;
    p.tag[15] ^= 0x80;
    refused(p, "tag");
  }
  {
    auto p = *sealed;
    p.nonce[0] ^= 1;
    refused(p, "nonce");
  }
  {
    auto p = *sealed;
    p.metadata.name = "evil";
    refused(p, "metadata.name");
  }
  {
    auto p = *sealed;
    p.metadata.instance = 4;
    refused(p, "metadata.instance");
  }
  {
    auto p = *sealed;
    p.metadata.uuid = "0b6f3c52-8e8a-4c8e-9b59-4d8a1e0f2a12";
    refused(p, "metadata.uuid");
  }
  {
    auto p = *sealed;
    std::swap(p.metadata.files[0], p.metadata.files[1]);
    refused(p, "metadata.files order");
  }
  {
    auto p = *sealed;
    p.ciphertext.pop_back();
    refused(p, "truncated ciphertext");
  }
}

TEST(VtpmMigrationPackage, BadMetadataIsRefusedBeforeSealing) {
  auto key = MigrationKey::generate();
  ASSERT_TRUE(key);
  auto m = sample_metadata();
  m.name = "../x";
  EXPECT_FALSE(seal_package(m, sample_files(), key->public_key(), kChallenge));
  m = sample_metadata();
  m.uuid = "0B6F3C52-8E8A-4C8E-9B59-4D8A1E0F2A11";  // not canonical
  EXPECT_FALSE(seal_package(m, sample_files(), key->public_key(), kChallenge));
  m = sample_metadata();
  m.instance = 0;
  EXPECT_FALSE(seal_package(m, sample_files(), key->public_key(), kChallenge));
  m = sample_metadata();
  m.files = {"tpm2-00.permall", "../escape"};
  EXPECT_FALSE(seal_package(m, sample_files(), key->public_key(), kChallenge));
  m = sample_metadata();
  m.files = {"tpm2-00.permall"};  // the files do not match
  EXPECT_FALSE(seal_package(m, sample_files(), key->public_key(), kChallenge));
  EXPECT_FALSE(seal_package(sample_metadata(), sample_files(), {1, 2, 3}, kChallenge));
}

TEST(VtpmMigrationPackage, StoredFormIsValidatedFieldByField) {
  auto key = MigrationKey::generate();
  ASSERT_TRUE(key);
  auto sealed = seal_package(sample_metadata(), sample_files(), key->public_key(), kChallenge);
  ASSERT_TRUE(sealed);
  const Json good = package_to_json(*sealed);
  const auto refused_with = [&](Json j, const std::string& needle) {
    auto p = package_from_json(j);
    ASSERT_FALSE(p) << j.dump();
    EXPECT_NE(p.error().message.find(needle), std::string::npos) << p.error().message;
  };
  Json j = good;
  j["format"] = "shype-vtpm-migration-0";
  refused_with(j, "unknown format");
  j = good;
  j.erase("nonce");
  refused_with(j, "'nonce'");
  j = good;
  j["recipient"] = "abcd";
  refused_with(j, "'recipient'");
  j = good;
  j.erase("challenge");
  refused_with(j, "'challenge'");
  j = good;
  j["tag"] = std::string(32, 'z');
  refused_with(j, "'tag'");
  j = good;
  j["ciphertext"] = "!!!";
  refused_with(j, "'ciphertext'");
  j = good;
  j["metadata"]["instance"] = -1;
  refused_with(j, "metadata.instance");
  j = good;
  j["metadata"]["files"] = Json::array({"a", "b", "c", "d", "e"});
  refused_with(j, "metadata.files");
  j = good;
  j["metadata"]["name"] = 7;
  refused_with(j, "'name'");
  refused_with(Json::array(), "not a JSON object");
}

TEST(VtpmMigrationKey, PersistsWithMode0600) {
  std::string templ = (fs::temp_directory_path() / "vtpm-key-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path path = fs::path(templ) / "migration/recipient.key";
  auto first = MigrationKey::load_or_create(path);
  ASSERT_TRUE(first) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = MigrationKey::load_or_create(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(first->public_hex(), again->public_hex());
  ASSERT_TRUE(acm::write_file_atomic(path, std::string("not a key"), 0600));
  auto broken = MigrationKey::load_or_create(path);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find(path.string()), std::string::npos);
  fs::remove_all(templ);
}

TEST(VtpmMigrationWire, FrameLengthLimits) {
  EXPECT_FALSE(peer_frame_length({0, 0, 0, 0}));
  EXPECT_FALSE(peer_frame_length({0xff, 0xff, 0xff, 0xff}));
  auto ok = peer_frame_length({0, 0, 1, 0});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 256u);
  const std::string frame = encode_peer_frame(Json{{"type", "hello"}});
  ASSERT_GE(frame.size(), 4u);
  auto n =
      peer_frame_length({static_cast<std::uint8_t>(frame[0]), static_cast<std::uint8_t>(frame[1]),
                         static_cast<std::uint8_t>(frame[2]), static_cast<std::uint8_t>(frame[3])});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, frame.size() - 4);
  auto decoded = decode_peer_message(frame.substr(4));
  ASSERT_TRUE(decoded);
  EXPECT_EQ((*decoded)["type"], "hello");
}

TEST(VtpmMigrationWire, MalformedMessagesNameTheField) {
  const auto refused_with = [](const std::string& payload, const std::string& needle) {
    auto m = decode_peer_message(payload);
    ASSERT_FALSE(m) << payload;
    EXPECT_NE(m.error().message.find(needle), std::string::npos) << m.error().message;
  };
  refused_with("", "length");
  refused_with("{", "not valid JSON");
  refused_with("[1]", "not a JSON object");
  refused_with(R"({"type": 3})", "'type'");
  refused_with(R"({"type": "launch"})", "unknown type");
  refused_with(R"({"type": "recipient", "public_key": "00"})", "'public_key'");
  refused_with(std::string(R"({"type": "recipient", "public_key": ")") + std::string(64, 'a') +
                   R"(", "challenge": "0011"})",
               "'challenge'");
  refused_with(R"({"type": "import"})", "'package'");
  refused_with(R"({"type": "import", "package": {"format": 1}})", "'format'");
  refused_with(R"({"type": "commit", "uuid": "nope"})", "'uuid'");
  refused_with(R"({"type": "imported", "instance": 0, "name": "a",
                   "uuid": "0b6f3c52-8e8a-4c8e-9b59-4d8a1e0f2a11"})",
               "'instance'");
  refused_with(R"({"type": "error"})", "'message'");
  EXPECT_TRUE(
      decode_peer_message(R"({"type": "commit", "uuid": "0b6f3c52-8e8a-4c8e-9b59-4d8a1e0f2a11"})"));
}

// Two managers under two roots, each with its own platform TPM (a swtpm);
// instances are never started, their saved state is written by hand.
class VtpmMigrationManagers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shype::testing::SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
    for (fs::path* root : {&source_root_, &dest_root_}) {
      std::string templ = (fs::temp_directory_path() / "vtpm-mig-XXXXXX").string();
      ASSERT_NE(::mkdtemp(templ.data()), nullptr);
      *root = templ;
    }
    source_tpm_ = std::make_unique<shype::testing::SwtpmProcess>(source_root_ / "platform-tpm");
    dest_tpm_ = std::make_unique<shype::testing::SwtpmProcess>(dest_root_ / "platform-tpm");
  }
  void TearDown() override {
    ::unsetenv("SHYPE_VTPM_PLATFORM_TCTI");
    source_tpm_.reset();
    dest_tpm_.reset();
    std::error_code ec;
    fs::remove_all(source_root_, ec);
    fs::remove_all(dest_root_, ec);
  }
  // The manager reads its platform TPM's TCTI from the environment when it
  // is made.
  Manager make(const fs::path& root) {
    const auto& tpm = root == source_root_ ? source_tpm_ : dest_tpm_;
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", tpm->tcti().c_str(), 1);
    return Manager(Layout(root), [](std::string_view) {});
  }
  std::unique_ptr<shype::testing::SwtpmProcess> source_tpm_;
  std::unique_ptr<shype::testing::SwtpmProcess> dest_tpm_;
  // Creates `name` with saved state at the source; returns its number.
  std::uint32_t create_with_state(Manager& m, const std::string& name, int instance) {
    auto created = m.call("vtpm.create", {{"name", name}, {"instance", instance}});
    EXPECT_TRUE(created);
    const auto n = (*created)["instance"].get<std::uint32_t>();
    EXPECT_TRUE(m.import_saved_state(n, (*created)["uuid"].get<std::string>(), sample_files()));
    return n;
  }
  static std::string status(Manager& m, const std::string& ref) {
    auto list = m.call("vtpm.list", Json::object());
    for (const auto& i : (*list)["instances"]) {
      if (i["name"] == ref) return i["status"];
    }
    return "absent";
  }
  fs::path source_root_;
  fs::path dest_root_;
};

TEST_F(VtpmMigrationManagers, ExportImportCommitMovesTheStateAndLeavesNoClone) {
  Manager source = make(source_root_);
  Manager dest = make(dest_root_);
  ASSERT_TRUE(source.open());
  ASSERT_TRUE(dest.open());
  const auto n = create_with_state(source, "web", 3);
  // At the destination, 3 is taken: the manual's rule gives the lowest free.
  ASSERT_TRUE(dest.call("vtpm.create", {{"name", "other"}, {"instance", 3}}));

  auto key = dest.call("vtpm.migration_key", Json::object());
  ASSERT_TRUE(key);
  auto exported = source.call(
      "vtpm.export_begin",
      {{"ref", "web"}, {"recipient_key", (*key)["public_key"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(status(source, "web"), "migrating");
  auto start = source.call("vtpm.start", {{"ref", "web"}});
  ASSERT_FALSE(start);
  EXPECT_NE(start.error().message.find("migrating away"), std::string::npos);
  // A second export of the same instance is refused.
  EXPECT_FALSE(source.call("vtpm.export_begin", {{"ref", "web"},
                                                 {"recipient_key", (*key)["public_key"]},
                                                 {"challenge", to_hex(kChallenge)}}));

  auto imported = dest.call(
      "vtpm.import", {{"package", (*exported)["package"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ((*imported)["instance"], 1);
  EXPECT_EQ((*imported)["requested"], 3);
  EXPECT_EQ(status(dest, "web"), "incoming");
  EXPECT_FALSE(dest.call("vtpm.start", {{"ref", "web"}}));
  // Offering the package again for another migration is refused.
  auto again =
      dest.call("vtpm.import", {{"package", (*exported)["package"]}, {"challenge", kChallengeHex}});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("another migration"), std::string::npos);
  // Replaying the package is refused: the domain is bound already.
  auto replay = dest.call("vtpm.import",
                          {{"package", (*exported)["package"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_FALSE(replay);
  EXPECT_NE(replay.error().message.find("already has vTPM instance 1"), std::string::npos);

  ASSERT_TRUE(source.call("vtpm.export_commit", {{"ref", "web"}}));
  EXPECT_EQ(status(source, "web"), "absent");
  EXPECT_FALSE(fs::exists(Layout(source_root_).instance_dir(n)));
  auto committed = dest.call("vtpm.import_commit", {{"ref", (*imported)["uuid"]}});
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(status(dest, "web"), "stopped");
  auto state = dest.export_saved_state(1);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, sample_files());

  // The binding is durable: a new manager on the destination root has it.
  Manager reopened = make(dest_root_);
  ASSERT_TRUE(reopened.open());
  EXPECT_EQ(status(reopened, "web"), "stopped");
}

TEST_F(VtpmMigrationManagers, AbortKeepsTheSourceAndRefusedImportsChangeNothing) {
  Manager source = make(source_root_);
  Manager dest = make(dest_root_);
  ASSERT_TRUE(source.open());
  ASSERT_TRUE(dest.open());
  create_with_state(source, "web", 2);
  auto key = dest.call("vtpm.migration_key", Json::object());
  ASSERT_TRUE(key);

  // Unknown instances and bad keys: clear errors, nothing changes.
  auto unknown = source.call("vtpm.export_begin", {{"ref", "nosuch"},
                                                   {"recipient_key", (*key)["public_key"]},
                                                   {"challenge", to_hex(kChallenge)}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("nosuch"), std::string::npos);
  EXPECT_FALSE(
      source.call("vtpm.export_begin",
                  {{"ref", "web"}, {"recipient_key", "00"}, {"challenge", to_hex(kChallenge)}}));
  EXPECT_FALSE(source.call("vtpm.export_commit", {{"ref", "web"}}));  // not migrating
  EXPECT_EQ(status(source, "web"), "stopped");

  // A package for another manager's key is refused by the destination.
  auto stranger = MigrationKey::generate();
  ASSERT_TRUE(stranger);
  auto exported = source.call("vtpm.export_begin", {{"ref", "web"},
                                                    {"recipient_key", stranger->public_hex()},
                                                    {"challenge", to_hex(kChallenge)}});
  ASSERT_TRUE(exported);
  auto refused = dest.call(
      "vtpm.import", {{"package", (*exported)["package"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("another manager's key"), std::string::npos);
  // A tampered package too.
  Json tampered = (*exported)["package"];
  tampered["metadata"]["name"] = "db";
  EXPECT_FALSE(
      dest.call("vtpm.import", {{"package", tampered}, {"challenge", to_hex(kChallenge)}}));
  EXPECT_EQ((*dest.call("vtpm.list", Json::object()))["instances"].size(), 0u);

  ASSERT_TRUE(source.call("vtpm.export_abort", {{"ref", "web"}}));
  EXPECT_EQ(status(source, "web"), "stopped");
  auto state = source.export_saved_state(2);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, sample_files());

  // An incoming instance can be aborted at the destination.
  exported = source.call(
      "vtpm.export_begin",
      {{"ref", "web"}, {"recipient_key", (*key)["public_key"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_TRUE(exported);
  auto imported = dest.call(
      "vtpm.import", {{"package", (*exported)["package"]}, {"challenge", to_hex(kChallenge)}});
  ASSERT_TRUE(imported);
  ASSERT_TRUE(dest.call("vtpm.import_abort", {{"ref", "web"}}));
  EXPECT_EQ(status(dest, "web"), "absent");
  ASSERT_TRUE(source.call("vtpm.export_abort", {{"ref", "web"}}));
  EXPECT_EQ(status(source, "web"), "stopped");
}

TEST_F(VtpmMigrationManagers, ImportOfUnknownStateFilesIsRefused) {
  Manager dest = make(dest_root_);
  ASSERT_TRUE(dest.open());
  auto created = dest.call("vtpm.create", {{"name", "web"}});
  ASSERT_TRUE(created);
  auto bad = dest.import_saved_state(1, (*created)["uuid"].get<std::string>(), {{"passwd", {1}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown state file 'passwd'"), std::string::npos);
}

}  // namespace
}  // namespace shype::vtpm
