// The protected-state formats (vtpm/state_blob.hpp): a state blob's round
// trip and every tamper (a flipped byte anywhere, another instance, domain or
// file, an older generation, a wrong key, truncation); the manifest's round
// trip, MAC and structural checks.
#include "vtpm/state_blob.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shype::vtpm {
namespace {

const std::string kBlobUuid = "8d2b1c9e-4f4a-4c55-9a1e-0d3c2f6b7a10";

StateKey key_of(std::uint8_t fill) {
  StateKey k{};
  k.fill(fill);
  return k;
}

std::vector<std::uint8_t> sample_state() {
  std::vector<std::uint8_t> s(1500);
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<std::uint8_t>(i * 7);
  return s;
}

acm::Result<std::vector<std::uint8_t>> decode(const StateKey& key,
                                              const std::vector<std::uint8_t>& bytes,
                                              const BlobHeader& expected) {
  auto parsed = parse_state_blob(bytes, "/x/saved/tpm2-00.permall");
  if (!parsed) return tl::unexpected(parsed.error());
  return open_state_blob(key, *parsed, expected, "/x/saved/tpm2-00.permall");
}

TEST(VtpmStateBlob, RoundTripAndFreshNonces) {
  const BlobHeader h{3, 7, kBlobUuid, "tpm2-00.permall"};
  auto a = seal_state_blob(key_of(1), h, sample_state());
  auto b = seal_state_blob(key_of(1), h, sample_state());
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // a fresh nonce each time
  auto plain = decode(key_of(1), *a, h);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, sample_state());
  auto parsed = parse_state_blob(*a, "x");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header, h);
  // The plaintext does not appear in the blob.
  const auto s = sample_state();
  EXPECT_EQ(std::search(a->begin(), a->end(), s.begin(), s.begin() + 64), a->end());
}

TEST(VtpmStateBlob, EveryFlippedByteIsRefused) {
  const BlobHeader h{3, 7, kBlobUuid, "tpm2-00.permall"};
  auto blob = seal_state_blob(key_of(1), h, std::vector<std::uint8_t>(40, 0x5a));
  ASSERT_TRUE(blob);
  for (std::size_t i = 0; i < blob->size(); ++i) {
    auto copy = *blob;
    copy[i] ^= 0x01;
    EXPECT_FALSE(decode(key_of(1), copy, h)) << "byte " << i;
  }
}

TEST(VtpmStateBlob, MovedOlderOrForeignBlobsAreRefusedWithTheReason) {
  const BlobHeader h{3, 7, kBlobUuid, "tpm2-00.permall"};
  auto blob = seal_state_blob(key_of(1), h, sample_state());
  ASSERT_TRUE(blob);
  auto other_instance = decode(key_of(1), *blob, {4, 7, kBlobUuid, "tpm2-00.permall"});
  ASSERT_FALSE(other_instance);
  EXPECT_NE(other_instance.error().message.find("belongs to instance 3, not 4"), std::string::npos)
      << other_instance.error().message;
  EXPECT_NE(other_instance.error().message.find("/x/saved/tpm2-00.permall"), std::string::npos);
  auto other_domain = decode(key_of(1), *blob, {3, 7, "other", "tpm2-00.permall"});
  ASSERT_FALSE(other_domain);
  EXPECT_NE(other_domain.error().message.find("belongs to domain"), std::string::npos);
  auto other_file = decode(key_of(1), *blob, {3, 7, kBlobUuid, "tpm2-00.volatilestate"});
  ASSERT_FALSE(other_file);
  EXPECT_NE(other_file.error().message.find("holds tpm2-00.permall"), std::string::npos);
  auto newer_expected = decode(key_of(1), *blob, {3, 8, kBlobUuid, "tpm2-00.permall"});
  ASSERT_FALSE(newer_expected);
  EXPECT_NE(newer_expected.error().message.find("rollback"), std::string::npos)
      << newer_expected.error().message;
  auto wrong_key = decode(key_of(2), *blob, h);
  ASSERT_FALSE(wrong_key);
  EXPECT_NE(wrong_key.error().message.find("authentication failed"), std::string::npos);

  // A header rewritten to claim the expected generation fails authentication.
  auto parsed = parse_state_blob(*blob, "x");
  ASSERT_TRUE(parsed);
  auto forged = *blob;
  forged[8 + 2 + 4 + 7] = 8;  // the generation's low byte
  auto forged_open = decode(key_of(1), forged, {3, 8, kBlobUuid, "tpm2-00.permall"});
  ASSERT_FALSE(forged_open);
  EXPECT_NE(forged_open.error().message.find("authentication failed"), std::string::npos);
}

TEST(VtpmStateBlob, TruncatedOrExtendedBlobsAreRefused) {
  const BlobHeader h{3, 7, kBlobUuid, "tpm2-00.permall"};
  auto blob = seal_state_blob(key_of(1), h, sample_state());
  ASSERT_TRUE(blob);
  for (std::size_t size = 0; size < blob->size(); size += 37) {
    std::vector<std::uint8_t> cut(blob->begin(), blob->begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_FALSE(parse_state_blob(cut, "x")) << size;
  }
  auto longer = *blob;
  longer.push_back(0);
  auto parsed = parse_state_blob(longer, "/x/f");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("truncated or extended"), std::string::npos);
  auto bad_magic = *blob;
  bad_magic[0] = 'X';
  EXPECT_NE(parse_state_blob(bad_magic, "/x/f").error().message.find("bad magic"),
            std::string::npos);
}

TEST(VtpmManifest, RoundTripAndMac) {
  Manifest m;
  m.counter = 42;
  m.instances[3] = {
      kBlobUuid, 5, {"tpm2-00.permall", "tpm2-00.volatilestate"}, std::string(64, 'a')};
  m.instances[200] = {"u2", 0, {}, std::string(64, 'b')};
  const std::string text = m.serialize(key_of(9));
  auto parsed = parse_manifest(text, "manifest.json");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->manifest, m);
  EXPECT_TRUE(parsed->verify(key_of(9)));
  EXPECT_FALSE(parsed->verify(key_of(8)));

  // An edited generation or counter keeps the structure but breaks the MAC.
  std::string edited = text;
  edited.replace(edited.find("\"generation\": 5"), 15, "\"generation\": 4");
  auto reparsed = parse_manifest(edited, "manifest.json");
  ASSERT_TRUE(reparsed);
  EXPECT_FALSE(reparsed->verify(key_of(9)));
}

TEST(VtpmManifest, MalformedManifestsNameTheProblem) {
  const auto error_of = [](const std::string& text) {
    auto parsed = parse_manifest(text, "m.json");
    return parsed ? std::string() : parsed.error().message;
  };
  const std::string mac = "\"mac\": \"" + std::string(64, '0') + "\"";
  EXPECT_NE(error_of("[]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of("{\"version\": 2}").find("version"), std::string::npos);
  EXPECT_NE(
      error_of("{\"version\": 1, \"counter\": -1, " + mac + ", \"instances\": {}}").find("counter"),
      std::string::npos);
  EXPECT_NE(
      error_of("{\"version\": 1, \"counter\": 1, \"mac\": \"zz\", \"instances\": {}}").find("mac"),
      std::string::npos);
  EXPECT_NE(error_of("{\"version\": 1, \"counter\": 1, " + mac + ", \"instances\": {\"0\": {}}}")
                .find("instance '0'"),
            std::string::npos);
  EXPECT_NE(
      error_of("{\"version\": 1, \"counter\": 1, " + mac +
               ", \"instances\": {\"3\": {\"uuid\": \"u\", \"generation\": 1, \"key_sha256\": \"" +
               std::string(64, 'a') + "\", \"files\": [\"../etc/passwd\"]}}}")
          .find("bad file name"),
      std::string::npos);
}

TEST(VtpmStateKeys, DerivedKeysDifferByLabel) {
  EXPECT_NE(derive_key(key_of(1), "a"), derive_key(key_of(1), "b"));
  EXPECT_EQ(derive_key(key_of(1), "a"), derive_key(key_of(1), "a"));
  auto r1 = random_state_key();
  auto r2 = random_state_key();
  ASSERT_TRUE(r1 && r2);
  EXPECT_NE(*r1, *r2);
}

}  // namespace
}  // namespace shype::vtpm
