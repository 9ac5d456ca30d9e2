// The hypervisor's part of split devices: domctl set_start_info (how a
// guest learns its console and xenstore channels) and xsm_op
// resource_access (what a backend asks before it connects a disk) and
// frame_access (what a driver domain's bridge asks per frame).
#include <nlohmann/json.hpp>

#include "acm/binary_policy.hpp"
#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"
#include "hv_mytest.hpp"

namespace shype::testing {
namespace {

class HvDeviceOpsTest : public HypervisorTest {
 protected:
  // An unbound port of `dom` that `remote` may bind.
  abi::evtchn_port_t unbound(abi::domid_t dom, abi::domid_t remote) {
    auto port = xc().evtchn_alloc_unbound(remote, dom);
    EXPECT_TRUE(port) << port.error().to_string();
    return port ? *port : 0;
  }
};

TEST_F(HvDeviceOpsTest, StartInfoGoesToAPausedDomainWithChannelsToDomainZero) {
  const abi::domid_t guest = create("devices", kGuestHello, "", 0, /*paused=*/true);
  ASSERT_NE(guest, 0);
  const abi::domid_t other = create("other", kGuestHello, "", 0, /*paused=*/true);
  ASSERT_NE(other, 0);
  const abi::evtchn_port_t console = unbound(guest, abi::kDomain0);
  const abi::evtchn_port_t store = unbound(guest, abi::kDomain0);
  const abi::evtchn_port_t to_other = unbound(guest, other);
  ASSERT_NE(console, 0u);
  ASSERT_NE(store, 0u);

  // Ports that are not channels to Domain-0 are refused.
  auto refused = xc().set_start_info(guest, console, to_other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EINVAL);
  EXPECT_NE(refused.error().to_string().find("not a channel to Domain-0"), std::string::npos)
      << refused.error().to_string();
  refused = xc().set_start_info(guest, console, 999);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EINVAL);
  // The same port twice is malformed.
  refused = xc().set_start_info(guest, console, console);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EINVAL);
  // Bound ports count as well as unbound ones.
  auto bound = xc().evtchn_bind_interdomain(guest, store);
  ASSERT_TRUE(bound) << bound.error().to_string();
  EXPECT_TRUE(xc().set_start_info(guest, console, store));
  EXPECT_TRUE(xc().set_start_info(guest, 0, 0));  // cleared again

  // A running domain has read its shared_info already.
  const abi::domid_t running = create("running", kGuestCounter);
  ASSERT_NE(running, 0);
  const abi::evtchn_port_t late = unbound(running, abi::kDomain0);
  const abi::evtchn_port_t late2 = unbound(running, abi::kDomain0);
  refused = xc().set_start_info(running, late, late2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EBUSY);
  refused = xc().set_start_info(abi::kDomain0, late, late2);
  ASSERT_FALSE(refused);
  refused = xc().set_start_info(4000, late, late2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ESRCH);
}

TEST_F(HvDeviceOpsTest, ResourceAccessFollowsTheLabelsAndAuditsARefusal) {
  auto outcome = xc().set_policy(mytest().compact);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  ASSERT_NE(a, 0);
  const auto resource = [](const std::string& label) {
    auto ssidref = acm::find_label_ssidref(mytest().labels, label, 'R');
    if (!ssidref) throw std::runtime_error(ssidref.error().to_string());
    return *ssidref;
  };
  auto own = xc().resource_access(a, resource("A-Bank"));
  ASSERT_TRUE(own) << own.error().to_string();
  EXPECT_EQ(*own, abi::kAcmAccessPermitted);
  auto foreign = xc().resource_access(a, resource("B-Bank"));
  ASSERT_TRUE(foreign) << foreign.error().to_string();
  EXPECT_EQ(*foreign, abi::kAcmAccessDenied);

  auto missing = xc().resource_access(4000, resource("A-Bank"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ESRCH);

  // The refusal is in the audit trail, naming the hook.
  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  bool found = false;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record.value("hook", "") == "resource_access" && record.value("decision", "") == "deny") {
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no resource_access denial among " << audit->records.size() << " records";
}

// frame_access: Domain-0 may ask about any pair and gets the STE sharing
// decision; a refusal is audited; a guest with no channels to the two
// domains is refused the question itself.
TEST_F(HvDeviceOpsTest, FrameAccessFollowsTheLabelsAndIsRefusedToUnrelatedGuests) {
  auto outcome = xc().set_policy(mytest().compact);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  const abi::domid_t a1 = create("bank-a1", kGuestHello, "", ssidref_of("A-Bank"));
  const abi::domid_t a2 = create("bank-a2", kGuestHello, "", ssidref_of("A-Bank"));
  const abi::domid_t auto_corp = create("autocorp", kGuestHello, "", ssidref_of("AutoCorp"));
  ASSERT_NE(a1, 0);
  ASSERT_NE(a2, 0);
  ASSERT_NE(auto_corp, 0);

  auto same = xc().frame_access(a1, a2);
  ASSERT_TRUE(same) << same.error().to_string();
  EXPECT_EQ(*same, abi::kAcmAccessPermitted);
  auto other = xc().frame_access(a1, auto_corp);
  ASSERT_TRUE(other) << other.error().to_string();
  EXPECT_EQ(*other, abi::kAcmAccessDenied);
  auto back = xc().frame_access(auto_corp, a2);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, abi::kAcmAccessDenied);
  auto missing = xc().frame_access(a1, 4000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ESRCH);

  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  int denials = 0;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record.value("hook", "") == "frame_access" && record.value("decision", "") == "deny") {
      ++denials;
    }
  }
  EXPECT_EQ(denials, 2) << "frame_access denials among " << audit->records.size() << " records";

  // A guest asking about domains it has no channel with: -EPERM.
  const abi::domid_t rogue = create("rogue-frame", kGuestRogue, "frame-access", ssidref_of("A-Bank"));
  ASSERT_NE(rogue, 0);
  ASSERT_TRUE(state_becomes(rogue, [](const xc::DomainInfo& i) { return i.shutdown() || i.crashed(); },
                            60s))
      << console(rogue);
  auto state = info(rogue);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->shutdown_reason, abi::ShutdownReason::poweroff) << console(rogue);
  EXPECT_NE(console(rogue).find("rogue: frame-access: refused -1 (expected -1)"), std::string::npos)
      << console(rogue);
}

}  // namespace
}  // namespace shype::testing
