// What xm, xend and shype-hv do when things go wrong: bad input (malformed
// configuration files and policies, unknown labels and files), refused
// policy changes, concurrent clients, a daemon killed at a bad moment or not
// running at all; and the --json output scripts rely on. Every refusal must
// exit 1 with an "Error: ..." line and leave the previous state in place.
#include <map>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "xm_fixture.hpp"

namespace shype::testing {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kMytest10 = R"(
Supported security subsystems : ACM
Policy name : mytest
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded, activated for boot
)";

class XmFailure : public XmTest {
 protected:
  void deploy_mytest() {
    const XmResult r = xm({"setpolicy", "ACM", "mytest"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // Only Domain-0 runs.
  void expect_nothing_started() {
    const XmResult r = xm({"list"});
    EXPECT_EQ(r.exit_code, 0) << r;
    const auto lines = normalized_lines(r.out);
    EXPECT_EQ(lines.size(), 2u) << r;
    if (lines.size() == 2) {
      EXPECT_EQ(lines[1].rfind("Domain-0 0 ", 0), 0u) << r;
    }
  }

  // The resource label store, read as a client would: it must be the
  // versioned JSON document label_store.hpp describes.
  Json read_store() {
    const fs::path file = root_ / "var/lib/xend/security/policies/resource_labels";
    Json store = Json::parse(slurp(file), nullptr, false);
    EXPECT_FALSE(store.is_discarded()) << file << " is not JSON:\n" << slurp(file);
    if (store.is_discarded()) return Json::object();
    EXPECT_EQ(store.value("format", std::string()), "shype-resource-labels");
    EXPECT_EQ(store.value("version", 0), 1);
    return store;
  }

  static std::string pool_disk(int i) {
    return "file:/home/xen/pool/disk" + std::to_string(i) + ".img";
  }
};

TEST_F(XmFailure, MalformedConfigNamesFileAndLine) {
  deploy_mytest();
  write_file(work_ / "domainX.xm",
             "kernel = \"/boot/vmlinuz-2.6.18.8-xen\"\nmemory = 64\nname = = \"domainX\"\n");
  const XmResult r = xm({"create", "domainX.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "Using config file \"./domainX.xm\".\n") << r;
  EXPECT_EQ(r.err.rfind("Error: ./domainX.xm:3: ", 0), 0u) << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r;
  expect_nothing_started();

  // A value of the wrong type is located too.
  write_file(work_ / "domainY.xm",
             "kernel = \"/boot/vmlinuz-2.6.18.8-xen\"\nname = \"domainY\"\nmemory = \"lots\"\n");
  const XmResult typed = xm({"create", "domainY.xm"});
  EXPECT_EQ(typed.exit_code, 1) << typed;
  EXPECT_NE(typed.err.find("domainY.xm:3"), std::string::npos) << typed;
  expect_nothing_started();
}

TEST_F(XmFailure, UnknownLabelsAreRefused) {
  deploy_mytest();
  const std::string before = slurp(work_ / "domain1.xm");
  expect_transcript({"addlabel", "NoSuchLabel", "dom", "domain1.xm"},
                    "Error: Label 'NoSuchLabel' not found.\n", 1);
  EXPECT_EQ(slurp(work_ / "domain1.xm"), before);
  // A label of another policy is not a label of the active one.
  expect_transcript({"addlabel", "CocaCola", "dom", "domain1.xm"},
                    "Error: Label 'CocaCola' not found.\n", 1);
  EXPECT_EQ(slurp(work_ / "domain1.xm"), before);
  expect_transcript({"addlabel", "NoSuchLabel", "res", kFc5Image},
                    "Error: Label 'NoSuchLabel' not found.\n", 1);
  const XmResult mgt = xm({"addlabel", "NoSuchLabel", "mgt", "Domain-0"});
  EXPECT_EQ(mgt.exit_code, 1) << mgt;
  EXPECT_EQ(mgt.err.rfind("Error: An error occurred relabeling the domain: The label is bad", 0),
            0u)
      << mgt;
  expect_transcript({"getlabel", "mgt", "Domain-0"}, "ACM:mytest:SystemManagement\n");
  expect_transcript({"resources"}, "");

  // Labeled twice, unlabeled twice (reference 1.3, 1.4).
  quietly({"addlabel", "A-Bank", "res", kFc5Image});
  expect_transcript(
      {"addlabel", "B-Bank", "res", kFc5Image},
      "Error: \"'file:/home/xen/dom_fc5/fedora.fc5.img' is already labeled with 'ACM:mytest:A-Bank'\"\n",
      1);
  expect_transcript({"getlabel", "res", kFc5Image}, "ACM:mytest:A-Bank\n");
  expect_transcript({"rmlabel", "res", kFc5Swap}, "Error: 'Resource not labeled'\n", 1);
  quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
  expect_transcript({"addlabel", "A-Bank", "dom", "domain1.xm"},
                    "Error: Config file 'domain1.xm' is already labeled.\n", 1);
}

TEST_F(XmFailure, LabelsOfAnotherPolicy) {
  deploy_mytest();
  expect_transcript({"labels", "example.test"}, "CocaCola\nPepsiCo\nSystemManagement\nVIO\n");
  expect_transcript({"labels", "example.test", "type=res"},
                    "CocaCola\nPepsiCo\nSystemManagement\n");
  expect_transcript(
      {"labels", "nosuch"},
      "Error: Policy file '/etc/xen/acm-security/policies/nosuch-security_policy.xml' not found.\n",
      1);
  expect_transcript({"labels", "type=colour"}, "Error: Unknown label type 'colour'\n", 1);
  // A configuration labeled for another policy does not start.
  quietly({"addlabel", "CocaCola", "dom", "domain4.xm", "example.test"});
  const XmResult r = xm({"create", "domain4.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("example.test"), std::string::npos) << r;
  EXPECT_NE(r.err.find("mytest"), std::string::npos) << r;
  expect_nothing_started();
}

TEST_F(XmFailure, MissingConfigurationFile) {
  deploy_mytest();
  expect_transcript({"create", "nosuch.xm"}, "Error: Configuration file 'nosuch.xm' not found.\n",
                    1);
  expect_transcript({"addlabel", "A-Bank", "dom", "nosuch.xm"},
                    "Error: Configuration file 'nosuch.xm' not found.\n", 1);
  expect_transcript({"getlabel", "dom", "nosuch.xm"},
                    "Error: Configuration file 'nosuch.xm' not found.\n", 1);
  expect_transcript({"rmlabel", "dom", "nosuch.xm"},
                    "Error: Configuration file 'nosuch.xm' not found.\n", 1);
  EXPECT_FALSE(fs::exists(work_ / "nosuch.xm"));
  expect_nothing_started();
}

TEST_F(XmFailure, SetpolicyOfANonexistentPolicy) {
  expect_transcript(
      {"setpolicy", "ACM", "nosuch"},
      "Error: Could not read policy file from current directory or '/etc/xen/acm-security/policies'.\n",
      1);
  expect_transcript({"getpolicy"}, R"(
Supported security subsystems : ACM
Policy name : DEFAULT
Policy type : ACM
Version of XML policy : 1.0
Policy configuration : loaded
)");
  const XmResult flask = xm({"setpolicy", "FLASK", "mytest"});
  EXPECT_EQ(flask.exit_code, 1) << flask;
  EXPECT_EQ(flask.err, "Error: Unsupported policytype 'FLASK'.\n") << flask;
}

TEST_F(XmFailure, SetpolicyOfMalformedXmlKeepsTheOldPolicy) {
  deploy_mytest();
  write_file(root_ / "etc/xen/acm-security/policies/broken-security_policy.xml",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">\n"
             "    <PolicyHeader>\n"
             "        <PolicyName>broken</PolicyName>\n"
             "        <Version>1.0</Versoin>\n"
             "    </PolicyHeader>\n"
             "</SecurityPolicyDefinition>\n");
  const XmResult r = xm({"setpolicy", "ACM", "broken"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_EQ(r.err.rfind("Error: An error occurred trying to set the policy: ", 0), 0u) << r;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("broken-security_policy\\.xml:5\\b"))) << r;
  expect_transcript({"getpolicy"}, kMytest10);

  // Well-formed but not a policy (schema violation), located as well.
  write_file(root_ / "etc/xen/acm-security/policies/invalid-security_policy.xml",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">\n"
             "    <PolicyHeader>\n"
             "        <PolicyName>invalid</PolicyName>\n"
             "        <Version>1.0</Version>\n"
             "    </PolicyHeader>\n"
             "    <Colour>blue</Colour>\n"
             "</SecurityPolicyDefinition>\n");
  const XmResult invalid = xm({"setpolicy", "ACM", "invalid"});
  EXPECT_EQ(invalid.exit_code, 1) << invalid;
  EXPECT_EQ(invalid.err.rfind("Error: An error occurred trying to set the policy: ", 0), 0u)
      << invalid;
  EXPECT_TRUE(std::regex_search(invalid.err, std::regex("invalid-security_policy\\.xml:\\d+")))
      << invalid;
  expect_transcript({"getpolicy"}, kMytest10);
  expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
Domain-0 0 941 1 r----- 81.5 ACM:mytest:SystemManagement
)");
}

// Reference 5.4: switching between unrelated policies needs resetpolicy
// first; an update must name the active policy and version in FromPolicy.
TEST_F(XmFailure, SetpolicyOfAnUnrelatedPolicyIsRefused) {
  deploy_mytest();
  const std::string prefix = "Error: An error occurred trying to set the policy: ";
  const XmResult unrelated = xm({"setpolicy", "ACM", "example.test"});
  EXPECT_EQ(unrelated.exit_code, 1) << unrelated;
  EXPECT_EQ(unrelated.out, "") << unrelated;
  EXPECT_EQ(unrelated.err.rfind(prefix + "The version of the policy prevents an update", 0), 0u)
      << unrelated;
  expect_transcript({"getpolicy"}, kMytest10);
  expect_transcript({"labels"}, R"(
A-Bank
A-Bank.MarketAnalysis
A-Bank.SecurityUnderwriting
AutoCorp
B-Bank
SystemManagement
__UNLABELED__
)");

  // The update applies once; applied again, its FromPolicy (1.0) no longer
  // matches the active version (1.1).
  ASSERT_EQ(xm({"setpolicy", "ACM", "mytest_update"}).exit_code, 0);
  const XmResult again = xm({"setpolicy", "ACM", "mytest_update"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_EQ(again.err.rfind(prefix + "The version of the policy prevents an update", 0), 0u)
      << again;
  const XmResult policy = xm({"getpolicy"});
  EXPECT_NE(normalize(policy.out).find("Version of XML policy : 1.1\n"), std::string::npos)
      << policy;
  // Nor does the older policy come back by setpolicy.
  const XmResult older = xm({"setpolicy", "ACM", "mytest"});
  EXPECT_EQ(older.exit_code, 1) << older;
}

// An update that a running domain's resources do not survive is refused
// and changes nothing (10.3.5: "the old policy remains active").
TEST_F(XmFailure, UpdateRefusedWhileARunningDomainWouldLoseItsResources) {
  deploy_mytest();
  // An unlabeled domain: mytest_update drops __UNLABELED__.
  ASSERT_EQ(xm({"create", "domain4.xm"}).exit_code, 0);
  const XmResult r = xm({"setpolicy", "ACM", "mytest_update"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err.rfind("Error: An error occurred trying to set the policy: ", 0), 0u) << r;
  expect_transcript({"getpolicy"}, kMytest10);
  expect_list_label(R"(
Name ID Mem VCPUs State Time(s) Label
domain4 1 64 1 -b---- 0.1 ACM:mytest:__UNLABELED__
Domain-0 0 941 1 r----- 81.5 ACM:mytest:SystemManagement
)");
  shutdown_and_wait("domain4");
}

TEST_F(XmFailure, MissingDiskImageRefusesCreate) {
  deploy_mytest();
  write_file(work_ / "domain5.xm",
             "kernel = \"/boot/vmlinuz-2.6.18.8-xen\"\nmemory = 64\nname = \"domain5\"\n"
             "disk = ['file:/home/xen/missing.img,sda1,w']\n");
  const XmResult r = xm({"create", "domain5.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "Using config file \"./domain5.xm\".\n") << r;
  EXPECT_EQ(r.err.rfind("Error: Block device 'file:/home/xen/missing.img' cannot be used", 0), 0u)
      << r;
  expect_nothing_started();
  // A missing kernel likewise.
  write_file(work_ / "domain6.xm",
             "kernel = \"/boot/vmlinuz-nosuch\"\nmemory = 64\nname = \"domain6\"\n");
  const XmResult kernel = xm({"create", "domain6.xm"});
  EXPECT_EQ(kernel.exit_code, 1) << kernel;
  EXPECT_NE(kernel.err.find("/boot/vmlinuz-nosuch"), std::string::npos) << kernel;
  expect_nothing_started();
}

TEST_F(XmFailure, ConcurrentXmCommandsKeepTheStoreConsistent) {
  deploy_mytest();
  constexpr int kDisks = 8;
  for (int i = 0; i < kDisks; ++i)
    make_image(pool_disk(i));
  std::vector<XmResult> labeled(kDisks);
  std::vector<XmResult> listed(4);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kDisks; ++i) {
      threads.emplace_back([&, i] {
        labeled[static_cast<std::size_t>(i)] =
            xm({"addlabel", i % 2 == 0 ? "A-Bank" : "B-Bank", "res", pool_disk(i)}, 60s);
      });
    }
    for (std::size_t j = 0; j < listed.size(); ++j) {
      threads.emplace_back([&, j] { listed[j] = xm({"resources"}, 60s); });
    }
    for (auto& t : threads)
      t.join();
  }
  for (int i = 0; i < kDisks; ++i) {
    const XmResult& r = labeled[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.exit_code, 0) << pool_disk(i) << "\n" << r;
    EXPECT_EQ(r.text(), "") << r;
  }
  for (const auto& r : listed) {
    EXPECT_EQ(r.exit_code, 0) << r;
    // Whatever subset it saw, every entry is whole.
    for (const auto& entry : resource_entries(r.out)) {
      EXPECT_EQ(std::count(entry.begin(), entry.end(), '\n'), 4) << entry;
    }
  }
  std::string expected;
  for (int i = 0; i < kDisks; ++i) {
    expected += pool_disk(i) +
                "\ntype: ACM\npolicy: mytest\nlabel: " + (i % 2 == 0 ? "A-Bank" : "B-Bank") + "\n";
  }
  expect_resources(expected);
  const Json store = read_store();
  EXPECT_EQ(store.value("resources", Json::object()).size(), static_cast<std::size_t>(kDisks))
      << store.dump(2);
  // The same after xend reads the store again.
  ASSERT_NO_FATAL_FAILURE(restart_xend());
  expect_resources(expected);
}

// The store is durable (label_store.hpp): an acknowledged label survives
// xend being killed right after, and the store still parses.
TEST_F(XmFailure, LabelSurvivesXendKilledRightAfterAcknowledging) {
  deploy_mytest();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    make_image(pool_disk(i));
    quietly({"addlabel", "A-Bank", "res", pool_disk(i)});
    kill_xend();
    read_store();
    ASSERT_NO_FATAL_FAILURE(start_xend());
    expect_transcript({"getlabel", "res", pool_disk(i)}, "ACM:mytest:A-Bank\n");
  }
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    expected += pool_disk(i) + "\ntype: ACM\npolicy: mytest\nlabel: A-Bank\n";
  }
  expect_resources(expected);
  expect_transcript({"getpolicy"}, kMytest10);
}

TEST_F(XmFailure, XmWithoutXendFailsClearly) {
  stop_xend();
  for (const char* command : {"list", "getpolicy", "resources"}) {
    SCOPED_TRACE(command);
    const auto began = Clock::now();
    const XmResult r = xm({command}, 30s);
    EXPECT_LT(Clock::now() - began, 10s) << "xm should not wait for a missing xend";
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_EQ(r.err, "Error: xend is not running (no answer on " +
                         (root_ / "run/xend/xend.sock").string() + ")\n")
        << r;
  }
  // A killed xend leaves its socket file behind; xm says the same.
  ASSERT_NO_FATAL_FAILURE(start_xend());
  kill_xend();
  const XmResult r = xm({"list"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("xend is not running"), std::string::npos) << r;
  ASSERT_NO_FATAL_FAILURE(start_xend());
  EXPECT_EQ(xm({"list"}).exit_code, 0);
}

TEST_F(XmFailure, JsonOutputParses) {
  deploy_mytest();
  quietly({"addlabel", "A-Bank", "dom", "domain1.xm"});
  quietly({"addlabel", "A-Bank", "res", kFc5Image});
  quietly({"addlabel", "A-Bank", "res", kFc5Swap});
  ASSERT_EQ(xm({"create", "domain1.xm"}).exit_code, 0);

  const auto parsed = [&](const std::vector<std::string>& args) {
    const XmResult r = xm(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    Json j = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r;
    return j.is_discarded() ? Json::object() : j;
  };

  const Json list = parsed({"--json", "list"});
  ASSERT_TRUE(list.contains("domains") && list["domains"].is_array()) << list.dump(2);
  std::map<std::string, Json> by_name;
  for (const auto& d : list["domains"]) {
    for (const char* key : {"name", "domid", "memory", "vcpus", "state", "cpu_time", "label"}) {
      EXPECT_TRUE(d.contains(key)) << key << " missing in " << d.dump();
    }
    by_name[d.value("name", std::string())] = d;
  }
  ASSERT_EQ(by_name.size(), 2u) << list.dump(2);
  EXPECT_EQ(by_name["Domain-0"].value("domid", -1), 0);
  EXPECT_EQ(by_name["Domain-0"].value("label", std::string()), "ACM:mytest:SystemManagement");
  EXPECT_GT(by_name["domain1"].value("domid", -1), 0);
  EXPECT_EQ(by_name["domain1"].value("memory", 0), 128);
  EXPECT_EQ(by_name["domain1"].value("label", std::string()), "ACM:mytest:A-Bank");
  EXPECT_EQ(state_class(by_name["domain1"].value("state", std::string())), "running");
  // --label changes nothing in the JSON form.
  EXPECT_EQ(parsed({"--json", "list", "--label"})["domains"].size(), 2u);

  const Json labels = parsed({"--json", "labels"});
  EXPECT_EQ(labels.value("policy", std::string()), "mytest") << labels.dump(2);
  EXPECT_EQ(labels.value("type", std::string()), "dom") << labels.dump(2);
  EXPECT_EQ(labels.value("labels", Json::array()),
            Json::array({"A-Bank", "A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting",
                         "AutoCorp", "B-Bank", "SystemManagement", "__UNLABELED__"}));

  const Json resources = parsed({"--json", "resources"});
  ASSERT_TRUE(resources.contains("resources")) << resources.dump(2);
  std::set<std::string> names;
  for (const auto& r : resources["resources"]) {
    EXPECT_EQ(r.value("type", std::string()), "ACM") << r.dump();
    EXPECT_EQ(r.value("policy", std::string()), "mytest") << r.dump();
    EXPECT_EQ(r.value("label", std::string()), "A-Bank") << r.dump();
    names.insert(r.value("resource", std::string()));
  }
  EXPECT_EQ(names, (std::set<std::string>{kFc5Image, kFc5Swap}));

  const Json policy = parsed({"--json", "getpolicy"});
  EXPECT_EQ(policy.value("name", std::string()), "mytest") << policy.dump(2);
  EXPECT_EQ(policy.value("type", std::string()), "ACM") << policy.dump(2);
  EXPECT_EQ(policy.value("version", std::string()), "1.0") << policy.dump(2);
  EXPECT_EQ(policy.value("loaded", false), true) << policy.dump(2);
  EXPECT_EQ(policy.value("boot", false), true) << policy.dump(2);
  EXPECT_EQ(policy.value("subsystems", Json::array()), Json::array({"ACM"})) << policy.dump(2);

  shutdown_and_wait("domain1");
}

}  // namespace
}  // namespace shype::testing
