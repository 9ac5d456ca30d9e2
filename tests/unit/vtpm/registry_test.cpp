#include "vtpm/registry.hpp"

#include <gtest/gtest.h>

namespace shype::vtpm {
namespace {

constexpr const char* kUuidA = "11111111-2222-3333-4444-555555555555";
constexpr const char* kUuidB = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE";

TEST(VtpmRegistry, RequestedFreeInstanceIsHonoured) {
  Registry r;
  auto a = r.create("web", kUuidA, 7);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->binding.instance, 7u);
  EXPECT_FALSE(a->existing);
  EXPECT_EQ(a->binding.domain_uuid, kUuidA);
}

TEST(VtpmRegistry, InstanceBoundToAnotherDomainFallsThroughToLowestFree) {
  Registry r;
  ASSERT_TRUE(r.create("a", "", 1));
  ASSERT_TRUE(r.create("b", "", 3));
  auto c = r.create("c", "", 3);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->binding.instance, 2u);  // 3 is taken; 1 is taken; 2 is the lowest free
  ASSERT_TRUE(c->requested);
  EXPECT_EQ(*c->requested, 3u);
  auto d = r.create("d", "", 3);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->binding.instance, 4u);
}

TEST(VtpmRegistry, InstanceZeroIsReservedAndOutOfRangeFallsThrough) {
  Registry r;
  auto zero = r.create("a", "", 0);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->binding.instance, 1u);
  auto big = r.create("b", "", 256);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->binding.instance, 2u);
  auto none = r.create("c", "", std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->binding.instance, 3u);
}

TEST(VtpmRegistry, ExistingDomainKeepsItsBinding) {
  Registry r;
  ASSERT_TRUE(r.create("web", kUuidA, 5));
  auto again = r.create("web", kUuidA, 9);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->binding.instance, 5u);
  auto by_name = r.create("web", "", std::nullopt);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->binding.instance, 5u);
  EXPECT_EQ(r.bindings().size(), 1u);
}

TEST(VtpmRegistry, ConflictingNameOrUuidIsRefused) {
  Registry r;
  ASSERT_TRUE(r.create("web", kUuidA, std::nullopt));
  auto other_uuid = r.create("web", kUuidB, std::nullopt);
  ASSERT_FALSE(other_uuid);
  EXPECT_NE(other_uuid.error().message.find("already bound to instance 1"), std::string::npos);
  auto other_name = r.create("db", kUuidA, std::nullopt);
  ASSERT_FALSE(other_name);
  EXPECT_NE(other_name.error().message.find("under the name 'web'"), std::string::npos);
}

TEST(VtpmRegistry, BadInputNamesTheField) {
  Registry r;
  auto name = r.create("bad name", "", std::nullopt);
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message.find("domain name 'bad name' is invalid"), std::string::npos);
  auto uuid = r.create("web", "not-a-uuid", std::nullopt);
  ASSERT_FALSE(uuid);
  EXPECT_NE(uuid.error().message.find("domain uuid 'not-a-uuid' is invalid"), std::string::npos);
  auto negative = r.create("web", "", -1);
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("instance -1 is invalid"), std::string::npos);
  EXPECT_FALSE(r.create("..", "", std::nullopt));
  EXPECT_FALSE(r.create(std::string(65, 'a'), "", std::nullopt));
}

TEST(VtpmRegistry, AllInstancesBoundIsALimit) {
  Registry r;
  for (int i = 1; i <= 255; ++i)
    ASSERT_TRUE(r.create("d" + std::to_string(i), "", std::nullopt));
  auto full = r.create("one-more", "", std::nullopt);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, acm::Errc::limit_exceeded);
  ASSERT_TRUE(r.remove(42));
  auto reuse = r.create("one-more", "", std::nullopt);
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->binding.instance, 42u);
}

TEST(VtpmRegistry, ResolveByNumberNameOrUuid) {
  Registry r;
  ASSERT_TRUE(r.create("web", kUuidB, 4));
  EXPECT_EQ(r.resolve("4")->domain_name, "web");
  EXPECT_EQ(r.resolve("web")->instance, 4u);
  EXPECT_EQ(r.resolve(kUuidB)->instance, 4u);  // either case
  EXPECT_EQ(r.resolve("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")->instance, 4u);
  auto missing = r.resolve("5");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, acm::Errc::not_found);
  EXPECT_EQ(missing.error().message, "no vTPM instance 5");
  EXPECT_FALSE(r.resolve("99999999999"));
  EXPECT_FALSE(r.resolve(""));
  EXPECT_FALSE(r.resolve("nosuch"));
}

TEST(VtpmRegistry, StoredFormRoundTrips) {
  Registry r;
  ASSERT_TRUE(r.create("web", kUuidA, 3));
  ASSERT_TRUE(r.create("db", "", 1));
  ASSERT_TRUE(r.set_autostart(3, true));
  auto back = Registry::from_json(r.to_json());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->to_json(), r.to_json());
  ASSERT_EQ(back->bindings().size(), 2u);
  EXPECT_EQ(back->bindings()[0].instance, 1u);
  EXPECT_TRUE(back->bindings()[1].autostart);
}

TEST(VtpmRegistry, StoredFormIsValidated) {
  using nlohmann::json;
  const auto entry = [](json instance, json name, json uuid) {
    return json{
        {"version", 1},
        {"instances", json::array({{{"instance", instance}, {"name", name}, {"uuid", uuid}}})}};
  };
  EXPECT_TRUE(Registry::from_json(entry(1, "a", kUuidA)));
  const auto message = [](const json& j) {
    auto r = Registry::from_json(j, "registry.json");
    return r ? std::string("accepted") : r.error().to_string();
  };
  EXPECT_NE(message(json::array()).find("not a JSON object"), std::string::npos);
  EXPECT_NE(
      message(json{{"version", 2}, {"instances", json::array()}}).find("\"version\" must be 1"),
      std::string::npos);
  EXPECT_NE(message(entry(0, "a", kUuidA)).find("instance 0 is out of range"), std::string::npos);
  EXPECT_NE(message(entry(256, "a", kUuidA)).find("out of range"), std::string::npos);
  EXPECT_NE(message(entry(-1, "a", kUuidA)).find("\"instance\" must be"), std::string::npos);
  EXPECT_NE(message(entry(1, "a b", kUuidA)).find("\"name\""), std::string::npos);
  EXPECT_NE(message(entry(1, "a", "x")).find("\"uuid\""), std::string::npos);
  json twice = entry(1, "a", kUuidA);
  twice["instances"].push_back({{"instance", 1}, {"name", "b"}, {"uuid", kUuidB}});
  EXPECT_NE(message(twice).find("instance 1 appears twice"), std::string::npos);
  EXPECT_NE(message(twice).find("registry.json"), std::string::npos);
}

TEST(VtpmRegistry, UuidHelpers) {
  EXPECT_EQ(canonical_uuid(kUuidB), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
  EXPECT_FALSE(canonical_uuid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee"));
  EXPECT_FALSE(canonical_uuid("aaaaaaaaxbbbb-cccc-dddd-eeeeeeeeeeee"));
  const auto u = random_uuid();
  ASSERT_TRUE(canonical_uuid(u));
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(random_uuid(), u);
}

}  // namespace
}  // namespace shype::vtpm

namespace shype::vtpm {
namespace {

TEST(VtpmRegistry, LabelsAreStoredAndValidated) {
  Registry r;
  ASSERT_TRUE(r.create("web", "", 2));
  ASSERT_TRUE(r.set_label(2, "ACM:mytest:A-Bank"));
  auto back = Registry::from_json(r.to_json());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->find(2)->label, "ACM:mytest:A-Bank");
  // An unlabeled instance stores no label field.
  ASSERT_TRUE(r.set_label(2, ""));
  EXPECT_FALSE(r.to_json()["instances"][0].contains("label"));
  nlohmann::json stored = {{"version", 1},
                           {"instances",
                            {{{"instance", 2},
                              {"name", "web"},
                              {"uuid", "0606742f-36f7-4fd1-a20d-2d587471ab6d"},
                              {"label", "A-Bank"}}}}};
  auto refused = Registry::from_json(stored, "registry.json");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("entry 0: invalid vTPM label 'A-Bank'"),
            std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(r.set_label(9, "ACM:mytest:A-Bank"));
}

}  // namespace
}  // namespace shype::vtpm
