// The manager's answers without workers: create, list, tcti, delete,
// persistence of bindings in registry.json, and bad requests.
#include "vtpm/manager.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "swtpm_process.hpp"

namespace shype::vtpm {
namespace {

namespace fs = std::filesystem;
using rpc::Json;

class VtpmManager : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vtpm-unit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    // The platform TPM the manager seals its key to.
    if (!shype::testing::SwtpmProcess::available()) GTEST_SKIP() << "swtpm is not installed";
    platform_ = std::make_unique<shype::testing::SwtpmProcess>(root_ / "platform-tpm");
    ::setenv("SHYPE_VTPM_PLATFORM_TCTI", platform_->tcti().c_str(), 1);
  }
  void TearDown() override {
    platform_.reset();
    ::unsetenv("SHYPE_VTPM_PLATFORM_TCTI");
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  Manager make() {
    return Manager(Layout(root_), [this](std::string_view line) { log_.emplace_back(line); });
  }
  fs::path root_;
  std::unique_ptr<shype::testing::SwtpmProcess> platform_;
  std::vector<std::string> log_;
};

TEST_F(VtpmManager, CreateListTctiDelete) {
  Manager m = make();
  ASSERT_TRUE(m.open());
  auto created = m.call("vtpm.create", {{"name", "web"}, {"instance", 2}});
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ((*created)["instance"], 2);
  EXPECT_EQ((*created)["status"], "stopped");
  EXPECT_EQ((*created)["existing"], false);
  auto taken = m.call("vtpm.create", {{"name", "db"}, {"instance", 2}});
  ASSERT_TRUE(taken);
  EXPECT_EQ((*taken)["instance"], 1);
  EXPECT_EQ((*taken)["requested"], 2);

  auto tcti = m.call("vtpm.tcti", {{"ref", "web"}});
  ASSERT_TRUE(tcti);
  EXPECT_EQ((*tcti)["tcti"], "swtpm:path=" + (root_ / "run/vtpm/2/tpm.sock").string());

  auto list = m.call("vtpm.list", Json::object());
  ASSERT_TRUE(list);
  ASSERT_EQ((*list)["instances"].size(), 2u);
  EXPECT_EQ((*list)["instances"][0]["name"], "db");

  auto deleted = m.call("vtpm.delete", {{"ref", 1}});
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_FALSE(fs::exists(root_ / "var/lib/vtpm/instances/1"));
  EXPECT_EQ((*m.call("vtpm.list", Json::object()))["instances"].size(), 1u);
}

TEST_F(VtpmManager, BindingsPersistAcrossManagers) {
  {
    Manager m = make();
    ASSERT_TRUE(m.open());
    ASSERT_TRUE(m.call("vtpm.create", {{"name", "web"}, {"instance", 9}}));
  }
  Manager again = make();
  ASSERT_TRUE(again.open());
  auto same = again.call("vtpm.create", {{"name", "web"}});
  ASSERT_TRUE(same);
  EXPECT_EQ((*same)["instance"], 9);
  EXPECT_EQ((*same)["existing"], true);
}

TEST_F(VtpmManager, BadRequestsAreClearErrors) {
  Manager m = make();
  ASSERT_TRUE(m.open());
  const auto message = [&](std::string_view method, const Json& params) {
    auto r = m.call(method, params);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(message("vtpm.start", {{"ref", "nosuch"}}),
            "no vTPM instance is bound to a domain named or with uuid 'nosuch'");
  EXPECT_EQ(message("vtpm.stop", {{"ref", 7}}), "no vTPM instance 7");
  EXPECT_EQ(message("vtpm.save", Json::object()),
            "missing parameter 'ref' (an instance number, domain name or uuid)");
  EXPECT_EQ(message("vtpm.delete", {{"ref", true}}),
            "parameter 'ref' must be a string or an instance number");
  EXPECT_EQ(message("vtpm.create", Json::object()), "missing parameter 'name' (the domain name)");
  EXPECT_EQ(message("vtpm.create", {{"name", "web"}, {"instance", "x"}}),
            "parameter 'instance' must be an integer");
  EXPECT_EQ(message("vtpm.frobnicate", Json::object()), "unknown method 'vtpm.frobnicate'");
  ASSERT_TRUE(m.call("vtpm.create", {{"name", "web"}}));
  EXPECT_EQ(message("vtpm.save", {{"ref", "web"}}),
            "vTPM instance 1 is not running (its saved state is current)");
}

TEST_F(VtpmManager, CorruptRegistryIsRefusedWithItsPath) {
  fs::create_directories(root_ / "var/lib/vtpm");
  std::ofstream(root_ / "var/lib/vtpm/registry.json")
      << "{\"version\": 1, \"instances\": [{\"instance\": 0}]}";
  Manager m = make();
  auto opened = m.open();
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().to_string().find("registry.json"), std::string::npos);
  EXPECT_NE(opened.error().to_string().find("entry 0"), std::string::npos);
  std::ofstream(root_ / "var/lib/vtpm/registry.json") << "not json";
  Manager m2 = make();
  EXPECT_FALSE(m2.open());
}

}  // namespace
}  // namespace shype::vtpm
