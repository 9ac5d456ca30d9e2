// Security policy: the XSM layer inside the real hypervisor, driven through
// xsm_op from Domain-0 - the manual's mytest policy (Chinese Wall between
// A-Bank and B-Bank), audit records, relabelling, the dummy module, and
// booting with a policy file and a Domain-0 label.
#include <nlohmann/json.hpp>
#include <sys/mman.h>

#include "acm/binary_policy.hpp"
#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/file_io.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"
#include "hv_mytest.hpp"
#include "process.hpp"

namespace shype::testing {
namespace {

class HvAcmTest : public HypervisorTest {
 protected:
  void load_mytest() {
    auto outcome = xc().set_policy(mytest().compact);
    ASSERT_TRUE(outcome) << outcome.error().to_string();
  }
};

TEST_F(HvAcmTest, ChineseWallKeepsTheBanksApartAndAuditsIt) {
  load_mytest();
  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  ASSERT_NE(a, 0);
  EXPECT_TRUE(console_shows(a, "Hello from shype"));

  xc::DomainSpec b;
  b.name = "bank-b";
  b.kernel = kGuestHello;
  b.memory_mib = 8;
  b.ssidref = ssidref_of("B-Bank");
  auto refused = xc().create_domain(b);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EACCES);
  EXPECT_NE(refused.error().to_string().find("createdomain: Permission denied (EACCES)"),
            std::string::npos)
      << refused.error().to_string();
  EXPECT_NE(refused.error().message.find("B-Bank"), std::string::npos) << refused.error().message;
  EXPECT_EQ(xc().list_domains()->size(), 2u) << "nothing of the refused domain remains";

  // The denial is an audit record naming both labels.
  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  bool found = false;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record["hook"] != "domain_create" || record["decision"] != "deny") continue;
    found = true;
    EXPECT_EQ(record["status"], -EACCES);
    EXPECT_EQ(record["policy"]["name"], "mytest");
    EXPECT_NE(line.find("B-Bank"), std::string::npos) << line;
    EXPECT_NE(line.find("A-Bank"), std::string::npos) << line;
  }
  EXPECT_TRUE(found) << "no domain_create denial among " << audit->records.size() << " records";
  EXPECT_GT(audit->next_seq, 1u);
  EXPECT_NE(slurp(root_ / "var/log/xen/audit.log").find("domain_create"), std::string::npos);

  auto stats = xc().dumpstats();
  ASSERT_TRUE(stats);
  EXPECT_GE(stats->domain_create_denied, 1u);

  // Once A-Bank is gone, B-Bank may run.
  ASSERT_TRUE(xc().destroy_domain(a));
  auto admitted = xc().create_domain(b);
  ASSERT_TRUE(admitted) << admitted.error().to_string();
  EXPECT_TRUE(console_shows(*admitted, "Hello from shype"));
}

TEST_F(HvAcmTest, UnknownLabelIsEinval) {
  load_mytest();
  xc::DomainSpec spec;
  spec.name = "nolabel";
  spec.kernel = kGuestHello;
  spec.ssidref = 0x00630063;
  auto refused = xc().create_domain(spec);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EINVAL) << refused.error().to_string();
}

TEST_F(HvAcmTest, PolicyQueries) {
  load_mytest();
  auto policy = xc().get_policy();
  ASSERT_TRUE(policy) << policy.error().to_string();
  EXPECT_EQ(*policy, mytest().compact);

  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, a);
  ASSERT_TRUE(ssid) << ssid.error().to_string();
  EXPECT_EQ(ssid->ssidref, ssidref_of("A-Bank"));
  EXPECT_STREQ(ssid->policy_name, "mytest");
  EXPECT_STREQ(ssid->label, "A-Bank");
  auto self = xc().get_ssid(abi::kAcmGetByDomid, abi::kDomidSelf);
  ASSERT_TRUE(self);
  EXPECT_STREQ(self->label, "SystemManagement");
  EXPECT_EQ(xc().get_ssid(abi::kAcmGetByDomid, 999).error().code, ESRCH);

  auto apart = xc().get_decision(abi::kAcmGetBySsidref, ssidref_of("A-Bank"), abi::kAcmGetBySsidref,
                                 ssidref_of("B-Bank"), abi::AcmHook::sharing);
  ASSERT_TRUE(apart);
  EXPECT_EQ(*apart, abi::kAcmAccessDenied);
  auto together = xc().get_decision(abi::kAcmGetByDomid, a, abi::kAcmGetBySsidref,
                                    ssidref_of("A-Bank"), abi::AcmHook::sharing);
  ASSERT_TRUE(together);
  EXPECT_EQ(*together, abi::kAcmAccessPermitted);
}

TEST_F(HvAcmTest, RelabelChangesTheDomainTable) {
  load_mytest();
  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  const abi::AcmRelabelEntry entry{a, ssidref_of("A-Bank.SecurityUnderwriting")};
  auto outcome = xc().relabel({&entry, 1});
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(info(a)->ssidref, ssidref_of("A-Bank.SecurityUnderwriting"));
}

TEST_F(HvAcmTest, MalformedPoliciesAreRefusedWithAReason) {
  const std::vector<std::uint8_t> garbage(64, 0x5a);
  auto refused = xc().set_policy(garbage);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EFAULT);
  EXPECT_FALSE(refused.error().message.empty());
  // The old policy is still active.
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, 0);
  ASSERT_TRUE(ssid);
  EXPECT_STREQ(ssid->policy_name, "DEFAULT");
}

TEST_F(HvAcmTest, PoliciesMustArriveSealed) {
  // A raw call with an unsealed memfd: refused before the XSM layer sees it.
  hv::UniqueFd fd(::memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  const auto& bytes = mytest().compact;
  ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  hv::wire::AcmSetPolicy body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.size = static_cast<std::uint32_t>(bytes.size());
  const int fds[] = {fd.get()};
  auto response = xc().call("setpolicy", body, fds);
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->header.status, -EBADF);
  // And the interface version is checked (Xen: -EACCES).
  body.args.interface_version = abi::kAcmInterfaceVersion - 1;
  response = xc().call("setpolicy", body, fds);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header.status, -EACCES);
}

class HvDummyTest : public HypervisorTest {
 protected:
  std::string boot_conf() const override { return "# baseline\nxsm = dummy\n"; }
};

TEST_F(HvDummyTest, BootsAndPermits) {
  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  const abi::domid_t b = create("bank-b", kGuestHello, "", ssidref_of("B-Bank"));
  EXPECT_TRUE(console_shows(a, "Hello from shype"));
  EXPECT_TRUE(console_shows(b, "Hello from shype"));
  auto refused = xc().set_policy(mytest().compact);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ENOSYS);
}

class HvBootPolicyTest : public HypervisorTest {
 protected:
  std::string boot_conf() const override {
    return "xsm = acm\npolicy = etc/shype/mytest.bin\ndom0_label = SystemManagement\n";
  }
  void prepare_root() override {
    ASSERT_TRUE(acm::write_file_atomic(root_ / "etc/shype/mytest.bin", mytest().compact));
  }
};

TEST_F(HvBootPolicyTest, BootsWithTheConfiguredPolicyAndLabel) {
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, 0);
  ASSERT_TRUE(ssid) << ssid.error().to_string();
  EXPECT_STREQ(ssid->policy_name, "mytest");
  EXPECT_STREQ(ssid->label, "SystemManagement");
  // The Chinese Wall holds from boot on.
  create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  xc::DomainSpec b;
  b.name = "bank-b";
  b.kernel = kGuestHello;
  b.ssidref = ssidref_of("B-Bank");
  EXPECT_EQ(xc().create_domain(b).error().code, EACCES);
}

}  // namespace
}  // namespace shype::testing
