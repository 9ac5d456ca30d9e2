// Network devices end to end: xm and xend attach vifs, netback bridges the
// frames between guests through granted pages, the guest_net kernel
// (hypervisor/guest/kernels/net.cpp) pings over its netfront. Label
// control (manual 10.4.1, Test 3 of 10.2.6): two A-Bank guests reach each
// other; an A-Bank and an AutoCorp guest (no STE type in common) do not,
// the refusals are counted by xm network-list and written to the net audit
// log; a run-time policy update that gives AutoCorp the A-Bank type lets
// the same two running domains talk (the bridge's decision cache follows
// the policy). A guest flooding its tx ring with garbage does not stop the
// bridge serving the others.
#include "xm_devices_fixture.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestNet = GUEST_NET_PATH;
constexpr const char* kNetKernel = "/boot/guest_net";

class XmNet : public XmDevicesTest {
 protected:
  void populate_root() override {
    XmTest::populate_root();
    install_kernel(kGuestNet, kNetKernel);
  }

  void SetUp() override {
    XmTest::SetUp();
    if (HasFatalFailure()) return;
    set_policy("mytest");
  }

  // A configuration running guest_net with `extra` and one vif, labeled.
  void make_config(const std::string& name, const std::string& label_name,
                   const std::string& extra, const std::string& vif = "bridge=xenbr0") {
    write_config(name, label_name, kNetKernel, extra, "vif = ['" + vif + "']\n");
  }

  void create(const std::string& name) {
    const XmResult r = xm({"create", name + ".xm"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }


  // `xm --json network-list` rows.
  nlohmann::json network_list(const std::string& domain) {
    return device_list("network-list", domain);
  }

  std::uint64_t counter(const std::string& domain, const char* name) {
    const auto rows = network_list(domain);
    if (rows.empty()) return 0;
    return rows[0].value(name, std::uint64_t{0});
  }

  std::string domid_of(const std::string& name) {
    for (const auto& line : normalized_lines(xm({"list"}).out)) {
      const auto words = split_words(line);
      if (words.size() >= 2 && words[0] == name) return words[1];
    }
    return "?";
  }

  // mytest `version` as an update of `from`, written as
  // policies/<file>-security_policy.xml; with `autocorp_shares` the AutoCorp
  // label also has the A-Bank type.
  void write_update(const std::string& file, const std::string& version, const std::string& from,
                    bool autocorp_shares) {
    std::string xml = slurp(kSourceDir / "policies/mytest-security_policy.xml");
    const std::string original = "<Version>1.0</Version>";
    const auto at = xml.find(original);
    ASSERT_NE(at, std::string::npos);
    xml.replace(at, original.size(),
                "<Version>" + version + "</Version>\n        <FromPolicy>\n            "
                "<PolicyName>mytest</PolicyName>\n            <Version>" + from +
                "</Version>\n        </FromPolicy>");
    if (autocorp_shares) {
      const auto subjects = xml.find("<SubjectLabels");
      ASSERT_NE(subjects, std::string::npos);
      const auto label = xml.find("<Name>AutoCorp</Name>", subjects);
      ASSERT_NE(label, std::string::npos);
      const std::string type = "<Type>AutoCorp</Type>";
      const auto type_at = xml.find(type, label);
      ASSERT_NE(type_at, std::string::npos);
      xml.insert(type_at + type.size(), "\n                    <Type>A-Bank</Type>");
    }
    write_file(root_ / ("etc/xen/acm-security/policies/" + file + "-security_policy.xml"), xml);
  }
};

// Two A-Bank guests on xenbr0 ping each other; a third A-Bank guest floods
// its tx ring with garbage meanwhile and gets errors, while the others are
// served.
TEST_F(XmNet, SameLabelGuestsPingEachOtherWhileAFlooderGetsErrors) {
  make_config("neta1", "A-Bank", "ip=10.0.0.1");
  make_config("flood", "A-Bank", "ip=10.0.0.9 flood=40");
  make_config("neta2", "A-Bank", "ip=10.0.0.2 ping=10.0.0.1 count=3 interval=200");
  ASSERT_NO_FATAL_FAILURE(create("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1")) << slurp(console_log("neta1"));
  ASSERT_NO_FATAL_FAILURE(create("flood"));
  ASSERT_NO_FATAL_FAILURE(create("neta2"));
  ASSERT_TRUE(console_shows("neta2", "packets transmitted")) << slurp(console_log("neta2"));
  const std::string pinger = slurp(console_log("neta2"));
  EXPECT_NE(pinger.find("64 bytes from 10.0.0.1: icmp_seq=1 time="), std::string::npos) << pinger;
  EXPECT_NE(pinger.find("64 bytes from 10.0.0.1: icmp_seq=3 time="), std::string::npos) << pinger;
  EXPECT_NE(pinger.find("3 packets transmitted, 3 received, 0% packet loss"), std::string::npos)
      << pinger;

  ASSERT_TRUE(console_shows("flood", "net: flood 2560 requests, 2560 errors"))
      << slurp(console_log("flood"));
  EXPECT_GE(counter("flood", "errors"), 2560u);

  // The server answered: frames both ways, none refused.
  const auto rows = network_list("neta1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(rows[0].value("tx_frames", 0u), 4u);  // ARP reply + 3 echo replies
  EXPECT_GE(rows[0].value("rx_frames", 0u), 4u);
  EXPECT_EQ(rows[0].value("denied_frames", 1u), 0u);
  EXPECT_EQ(rows[0].value("backend_state", 0u), 4u);
  EXPECT_EQ(rows[0].value("bridge", std::string()), "xenbr0");
  EXPECT_EQ(rows[0].value("mac", std::string()).rfind("00:16:3e:", 0), 0u);
  EXPECT_GE(rows[0].value("event_channel", -1), 1);
  EXPECT_GE(rows[0].value("tx_ring_ref", -1), 0);

  // The table form has Xen's columns.
  const XmResult table = xm({"network-list", "neta1"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_EQ(split_words(normalized_lines(table.out).at(0)).at(0), "Idx");
  EXPECT_NE(table.out.find("/local/domain/0/backend/vif/"), std::string::npos) << table.out;
}

// Label control: A-Bank and AutoCorp share no type, so no frame passes; the
// refusals are counted and audited. A run-time update giving AutoCorp the
// A-Bank type lets the very same running domains talk.
TEST_F(XmNet, DifferentLabelsAreSeparatedUntilThePolicyLetsThemShare) {
  make_config("bank", "A-Bank", "ip=10.0.0.1");
  make_config("auto", "AutoCorp", "ip=10.0.0.3 ping=10.0.0.1 count=24 interval=250 wait=1");
  ASSERT_NO_FATAL_FAILURE(create("bank"));
  ASSERT_TRUE(console_shows("bank", "net: serving 10.0.0.1")) << slurp(console_log("bank"));
  ASSERT_NO_FATAL_FAILURE(create("auto"));
  // Nothing gets through: the pinger's ARP requests are refused.
  ASSERT_TRUE(console_shows("auto", "icmp_seq=2 Destination Host Unreachable"))
      << slurp(console_log("auto"));
  EXPECT_EQ(slurp(console_log("auto")).find("bytes from"), std::string::npos);
  EXPECT_GE(counter("auto", "denied_frames"), 2u);
  EXPECT_EQ(counter("bank", "rx_frames"), 0u);
  const std::string audit = slurp(root_ / "var/log/xen/net-audit.log");
  const std::string auto_id = domid_of("auto");
  const std::string bank_id = domid_of("bank");
  EXPECT_NE(audit.find("\"from_domid\":" + auto_id + ","), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"to_domid\":" + bank_id + ","), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"decision\":\"denied\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"bridge\":\"xenbr0\""), std::string::npos) << audit;

  // The update: both keep running, the bridge decides again.
  ASSERT_NO_FATAL_FAILURE(write_update("mytest_share", "1.1", "1.0", true));
  XmResult update = xm({"setpolicy", "ACM", "mytest_share"});
  ASSERT_EQ(update.exit_code, 0) << update;
  ASSERT_TRUE(console_shows("auto", "bytes from 10.0.0.1: icmp_seq=", 30s))
      << slurp(console_log("auto"));
  EXPECT_GE(counter("bank", "rx_frames"), 1u);
  EXPECT_GE(counter("bank", "tx_frames"), 1u);

  // And back: an update taking the type away separates them again.
  ASSERT_NO_FATAL_FAILURE(write_update("mytest_split", "1.2", "1.1", false));
  const std::uint64_t denied = counter("auto", "denied_frames");
  update = xm({"setpolicy", "ACM", "mytest_split"});
  ASSERT_EQ(update.exit_code, 0) << update;
  EXPECT_TRUE(eventually([&] { return counter("auto", "denied_frames") > denied; }, 20s, 200ms))
      << slurp(console_log("auto"));
  ASSERT_TRUE(console_shows("auto", "packets transmitted", 60s)) << slurp(console_log("auto"));
  const std::string pinger = slurp(console_log("auto"));
  // Some answered (while they shared), not all.
  EXPECT_NE(pinger.find("24 packets transmitted, "), std::string::npos) << pinger;
  EXPECT_EQ(pinger.find("24 packets transmitted, 24 received"), std::string::npos) << pinger;
  EXPECT_EQ(pinger.find("24 packets transmitted, 0 received"), std::string::npos) << pinger;
}

// network-attach adds a vif to a running domain (a MAC given or generated);
// network-detach removes it; bad arguments are refused with reasons.
TEST_F(XmNet, AttachListDetach) {
  make_config("host", "A-Bank", "ip=10.0.0.1");
  ASSERT_NO_FATAL_FAILURE(create("host"));
  ASSERT_TRUE(console_shows("host", "net: serving")) << slurp(console_log("host"));
  XmResult r = xm({"network-attach", "host", "mac=00:16:3e:aa:bb:cc", "bridge=xenbr1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto rows = network_list("host");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].value("devid", 99u), 1u);
  EXPECT_EQ(rows[1].value("mac", std::string()), "00:16:3e:aa:bb:cc");
  EXPECT_EQ(rows[1].value("bridge", std::string()), "xenbr1");

  r = xm({"network-attach", "host", "mac=00:16:3e:aa:bb:cc"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.text().find("already used"), std::string::npos) << r;
  r = xm({"network-attach", "host", "mac=01:00:5e:00:00:01"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.text().find("unicast"), std::string::npos) << r;
  r = xm({"network-attach", "host", "bridge=no/such"});
  EXPECT_NE(r.exit_code, 0) << r;

  r = xm({"network-detach", "host", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  rows = network_list("host");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("devid", 99u), 0u);
  r = xm({"network-detach", "host", "7"});
  EXPECT_NE(r.exit_code, 0) << r;

  // The connected vif: the guest lets go when asked.
  r = xm({"network-detach", "host", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(console_shows("host", "net: vif closed by the backend", 20s))
      << slurp(console_log("host"));
  EXPECT_TRUE(network_list("host").empty());
}

// xend is killed and starts again while one guest pings another across
// Domain-0's bridge: netback, the bridge and xenstore lived in the old
// xend. The new xend offers both vifs again from the domain records (same
// device ids and MACs); each netfront rejoins its new backend and the
// pings are answered again.
TEST_F(XmNet, VifsSurviveXendRestart) {
  make_config("neta1", "A-Bank", "ip=10.0.0.1");
  make_config("neta2", "A-Bank", "ip=10.0.0.2 ping=10.0.0.1 count=400 interval=100 wait=1");
  ASSERT_NO_FATAL_FAILURE(create("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1")) << slurp(console_log("neta1"));
  ASSERT_NO_FATAL_FAILURE(create("neta2"));
  ASSERT_TRUE(console_shows("neta2", "64 bytes from 10.0.0.1")) << slurp(console_log("neta2"));
  const auto macs_before = network_list("neta2");
  ASSERT_EQ(macs_before.size(), 1u);

  kill_xend();
  ASSERT_NO_FATAL_FAILURE(start_xend());
  const auto answered = count_of(slurp(console_log("neta2")), "64 bytes from 10.0.0.1");
  EXPECT_TRUE(console_shows("neta2", "net: vif reconnected 1"))
      << slurp(console_log("neta2")) << "\n--- neta1\n" << slurp(console_log("neta1"));
  EXPECT_TRUE(eventually(
      [&] { return count_of(slurp(console_log("neta2")), "64 bytes from 10.0.0.1") > answered + 5; },
      30s, 100ms))
      << slurp(console_log("neta2")) << "\n--- neta1\n" << slurp(console_log("neta1"));
  EXPECT_TRUE(console_shows("neta1", "net: vif reconnected 1")) << slurp(console_log("neta1"));
  const auto rows = network_list("neta2");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("devid", 99u), macs_before[0].value("devid", 98u));
  EXPECT_EQ(rows[0].value("mac", std::string("?")), macs_before[0].value("mac", std::string("!")));
  EXPECT_EQ(rows[0].value("backend_state", 0u), 4u);
  quietly({"destroy", "neta2"});
  quietly({"destroy", "neta1"});
}

// xm save keeps the vifs the domain has at that moment, and xm restore
// attaches those (same device id, MAC and bridge) rather than its
// configuration's.
TEST_F(XmNet, RestoreAttachesTheVifsTheDomainHadWhenSaved) {
  make_config("host", "A-Bank", "ip=10.0.0.1");
  ASSERT_NO_FATAL_FAILURE(create("host"));
  ASSERT_TRUE(console_shows("host", "net: serving")) << slurp(console_log("host"));
  XmResult r = xm({"network-attach", "host", "mac=00:16:3e:aa:bb:cd", "bridge=xenbr1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = xm({"network-detach", "host", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(console_shows("host", "net: vif closed by the backend", 20s))
      << slurp(console_log("host"));

  r = xm({"save", "host", "host.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = xm({"restore", "host.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto rows = network_list("host");
  ASSERT_EQ(rows.size(), 1u) << xm({"--json", "network-list", "host"}).out;
  EXPECT_EQ(rows[0].value("devid", 99u), 1u);
  EXPECT_EQ(rows[0].value("mac", std::string()), "00:16:3e:aa:bb:cd");
  EXPECT_EQ(rows[0].value("bridge", std::string()), "xenbr1");
  // The restored guest starts over and serves on the vif it has.
  EXPECT_TRUE(eventually(
      [&] { return count_of(slurp(console_log("host")), "net: serving") == 2; }, 30s, 100ms))
      << slurp(console_log("host"));
  EXPECT_TRUE(eventually([&] {
    const auto now = network_list("host");
    return now.size() == 1 && now[0].value("backend_state", 0u) == 4u;
  }, 10s, 100ms))
      << xm({"--json", "network-list", "host"}).out;
  quietly({"destroy", "host"});
}

}  // namespace
}  // namespace shype::testing
