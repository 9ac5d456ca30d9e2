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

namespace shype::vtpm {
namespace {

// Labels without a hypervisor: the label is validated and kept, and every
// access that needs the policy core is refused plainly (nothing to ask).
TEST_F(VtpmManager, LabelsAreValidatedKeptAndNeedTheHypervisor) {
  Manager m = make();
  ASSERT_TRUE(m.open());
  for (const char* bad : {"A-Bank", "ACM:mytest", "INV_ACM:mytest:A-Bank", "ACM:*:A-Bank",
                          "ACM:my:test:A-Bank"}) {
    auto refused = m.call("vtpm.create", {{"name", "web"}, {"label", bad}});
    ASSERT_FALSE(refused) << bad;
    EXPECT_NE(refused.error().message.find("invalid vTPM label"), std::string::npos)
        << refused.error().message;
  }
  auto created = m.call("vtpm.create", {{"name", "web"}, {"label", "ACM:mytest:A-Bank"}});
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ((*created)["label"], "ACM:mytest:A-Bank");
  EXPECT_TRUE((*created)["domid"].is_null());
  // The same domain asking under another label is refused, the label kept.
  auto other = m.call("vtpm.create", {{"name", "web"}, {"label", "ACM:mytest:B-Bank"}});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("is labeled ACM:mytest:A-Bank, not ACM:mytest:B-Bank"),
            std::string::npos)
      << other.error().message;
  // Starting it and its TCTI are Domain-0's accesses: no hypervisor, no access.
  for (const char* method : {"vtpm.start", "vtpm.tcti"}) {
    auto refused = m.call(method, {{"ref", "web"}});
    ASSERT_FALSE(refused) << method;
    EXPECT_NE(refused.error().message.find("cannot ask the hypervisor"), std::string::npos)
        << refused.error().message;
  }
  auto attach = m.call("vtpm.attach", {{"ref", "web"}, {"domid", 1}});
  ASSERT_FALSE(attach);
  EXPECT_NE(attach.error().message.find("is not running"), std::string::npos);
  EXPECT_FALSE(m.call("vtpm.attach", {{"ref", "web"}, {"domid", "one"}}));
  // Relabeling is stored; "" removes the label, and an unlabeled instance is
  // Domain-0's own: its TCTI needs no policy decision.
  ASSERT_TRUE(m.call("vtpm.label", {{"ref", "web"}, {"label", "ACM:mytest:AutoCorp"}}));
  {
    Manager again = make();
    ASSERT_TRUE(again.open());
    auto listed = again.call("vtpm.list", Json::object());
    ASSERT_TRUE(listed);
    EXPECT_EQ((*listed)["instances"][0]["label"], "ACM:mytest:AutoCorp");
  }
  ASSERT_TRUE(m.call("vtpm.label", {{"ref", "web"}, {"label", ""}}));
  EXPECT_TRUE(m.call("vtpm.tcti", {{"ref", "web"}}));
  EXPECT_FALSE(m.call("vtpm.label", {{"ref", "web"}, {"label", "nonsense"}}));
}

}  // namespace
}  // namespace shype::vtpm
