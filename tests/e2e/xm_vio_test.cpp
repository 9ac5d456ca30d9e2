// A driver domain (manual 10.3.4's virtual I/O server) end to end, under
// the example.vio policy (policies/example/vio-security_policy.xml): the
// VIO domain (label VIOServer, carrying the A-Bank workload types) gets its
// disks from Domain-0 and serves them to A-Bank department domains
// (`backend=vio` in their disk specs). Data written by a client travels
// client -> VIO -> Domain-0 -> the host file. The VIO domain checks each
// client against the disk's resource label itself (xsm_op resource_access);
// a B-Bank domain never gets a disk from it.
//
// The same VIO domain bridges vifs (`backend=vio` in a vif spec): two
// A-Bank guests (guest_net) ping each other through it; an A-Bank and an
// A-Bank.MarketAnalysis guest, both allowed to connect to it, get no frame
// across (their labels share no STE type: the VIO domain asks the
// hypervisor, xsm_op frame_access, which refuses and audits); a B-Bank guest
// gets no vif from it; when it goes away its clients' vifs close and
// everything else runs on.
#include "xm_devices_fixture.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestDisk = GUEST_DISK_PATH;
inline const fs::path kGuestVio = GUEST_VIO_PATH;
inline const fs::path kGuestNet = GUEST_NET_PATH;
constexpr const char* kDiskKernel = "/boot/guest_disk";
constexpr const char* kNetKernel = "/boot/guest_net";
constexpr const char* kVioKernel = "/boot/guest_vio";
constexpr std::size_t kImageBytes = 2 * 1024 * 1024;
constexpr const char* kSuImage = "file:/home/xen/vio/su.img";
constexpr const char* kMaImage = "file:/home/xen/vio/ma.img";

class XmVio : public XmDevicesTest {
 protected:
  void populate_root() override {
    XmTest::populate_root();
    install_kernel(kGuestDisk, kDiskKernel);
    install_kernel(kGuestVio, kVioKernel);
    install_kernel(kGuestNet, kNetKernel);
    fs::copy_file(kSourceDir / "policies/example/vio-security_policy.xml",
                  root_ / "etc/xen/acm-security/policies/example/vio-security_policy.xml",
                  fs::copy_options::overwrite_existing);
  }

  void SetUp() override {
    XmTest::SetUp();
    if (HasFatalFailure()) return;
    set_policy("example.vio");
    if (HasFatalFailure()) return;
    for (const char* image : {kSuImage, kMaImage}) {
      const std::string path = std::string(image).substr(5);
      write_file(root_ / path.substr(1), std::string(kImageBytes, '\0'));
    }
    quietly({"addlabel", "A-Bank.SecurityUnderwriting", "res", kSuImage});
    quietly({"addlabel", "A-Bank.MarketAnalysis", "res", kMaImage});
  }

  void make_config(const std::string& name, const std::string& label_name,
                   const std::string& kernel, const std::vector<std::string>& disks,
                   const std::string& extra) {
    write_config(name, label_name, kernel, extra, disk_line(disks));
  }

  // The domain id `xm list <name>` shows.
  std::string domid_of(const std::string& name) {
    const XmResult r = xm({"list", name});
    const auto lines = normalized_lines(r.out);
    if (lines.size() < 2) return "";
    const auto words = split_words(lines[1]);
    return words.size() > 1 ? words[1] : "";
  }

  // A guest_net client of the VIO domain's bridge.
  void make_net_client(const std::string& name, const std::string& label_name,
                       const std::string& mac, const std::string& extra) {
    write_config(name, label_name, kNetKernel, extra,
                 "vif = ['mac=" + mac + ",bridge=xenbr0,backend=vio']\n");
  }

  void create_ok(const std::string& name) {
    const XmResult r = xm({"create", name + ".xm"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // The last "vio: vifs ..." counts line of the VIO console: the value
  // after `word` ("denied"), or -1.
  long vio_count(const std::string& word) {
    const std::string log = slurp(console_log("vio"));
    const auto at = log.rfind("vio: vifs ");
    if (at == std::string::npos) return -1;
    const auto end = log.find('\n', at);
    const auto words = split_words(log.substr(at, end - at));
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == word) return std::stol(words[i + 1]);
    }
    return -1;
  }

  std::string vio_debug() {
    return "\n--- vio\n" + slurp(console_log("vio")) + "\n--- xenstore\n" +
           xm({"xenstore-ls", "/local/domain"}).out;
  }

  void start_vio() {
    make_config("vio", "VIOServer", kVioKernel,
                {std::string(kSuImage) + ",xvda,w", std::string(kMaImage) + ",xvdb,w"}, "");
    const XmResult r = xm({"create", "vio.xm"});
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(console_shows("vio", "vio: serving 2 disks")) << slurp(console_log("vio"));
  }
};

// The departments' disks through the VIO server: the data lands in the host
// files, each department in its own.
TEST_F(XmVio, ServesEachDepartmentItsOwnDisk) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_config("su", "A-Bank.SecurityUnderwriting", kDiskKernel,
              {std::string(kSuImage) + ",xvda,w,backend=vio"}, "mode=pattern start=8 sectors=300");
  const XmResult su = xm({"create", "su.xm"});
  ASSERT_EQ(su.exit_code, 0) << su;
  ASSERT_TRUE(console_shows("su", "disk xvda: wrote 300 sectors, read back OK"))
      << slurp(console_log("su")) << "\n--- vio\n" << slurp(console_log("vio"));
  EXPECT_TRUE(console_shows("vio", "blkback: serving file:/home/xen/vio/su.img to domain"))
      << slurp(console_log("vio"));

  const XmResult list = xm({"--json", "block-list", "su"});
  ASSERT_EQ(list.exit_code, 0) << list;
  const auto rows = nlohmann::json::parse(list.out).value("devices", nlohmann::json::array());
  ASSERT_EQ(rows.size(), 1u) << list;
  EXPECT_EQ(rows[0].value("backend_state", 0), 4);

  // The pattern crossed two hops and is in the host file.
  xm({"destroy", "su"});
  const std::string bytes = slurp(root_ / "home/xen/vio/su.img");
  ASSERT_EQ(bytes.size(), kImageBytes);
  const std::uint32_t seed = fnv1a32("su");
  std::size_t wrong = 0;
  for (std::uint64_t o = 8 * 512; o < (8 + 300) * 512; ++o) {
    if (static_cast<std::uint8_t>(bytes[o]) != pattern_byte(seed, o)) ++wrong;
  }
  EXPECT_EQ(wrong, 0u) << "bytes of su.img that do not hold the client's pattern";
  EXPECT_EQ(slurp(root_ / "home/xen/vio/ma.img"), std::string(kImageBytes, '\0'))
      << "the other department's disk was touched";
}

// A B-Bank domain gets nothing from the VIO server: xend refuses the
// disk's label, and the hypervisor would refuse the channel besides.
TEST_F(XmVio, RefusedForBBank) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_config("bb", "B-Bank", kDiskKernel, {std::string(kSuImage) + ",xvda,w,backend=vio"},
              "mode=pattern sectors=8");
  const XmResult r = xm({"create", "bb.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "Error: VM's access to block device 'file:/home/xen/vio/su.img' denied\n");
  EXPECT_FALSE(domain_listed("bb"));
}

// The VIO domain goes away under a client that keeps writing and reading
// its disk: the client's calls fail once blkfront has waited for a backend
// in vain (-ENOTCONN), the client keeps running, and Domain-0 serves on.
// When a VIO domain of that name starts again, xend offers the client its
// disk from the new one: blkfront joins it (new grants for the new backend
// domain) and the client's loop goes on, its data reaching the host file
// through the new VIO domain.
TEST_F(XmVio, ClientOutlivesTheDriverDomain) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  const std::string first_vio = domid_of("vio");
  // Named by its id: xend records the driver domain by name, so the VIO
  // domain started again (with another id) is the disk's backend again.
  make_config("su", "A-Bank.SecurityUnderwriting", kDiskKernel,
              {std::string(kSuImage) + ",xvda,w,backend=" + first_vio},
              "mode=loop write=1 seconds=300");
  const XmResult su = xm({"create", "su.xm"});
  ASSERT_EQ(su.exit_code, 0) << su;
  ASSERT_TRUE(console_shows("su", "disk xvda: loop ok")) << slurp(console_log("su"));

  const XmResult destroyed = xm({"destroy", "vio"});
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed;
  // -ENOTCONN (107): blkfront saw the backend go and none came back.
  EXPECT_TRUE(console_shows("su", "disk xvda: loop error -107"))
      << slurp(console_log("su")) << vio_debug();
  EXPECT_TRUE(domain_listed("su"));
  const XmResult list = xm({"block-list", "su"});
  EXPECT_EQ(list.exit_code, 0) << list;

  ASSERT_NO_FATAL_FAILURE(start_vio());
  EXPECT_NE(domid_of("vio"), first_vio);
  EXPECT_TRUE(console_shows("su", "disk xvda: reconnected 1")) << slurp(console_log("su")) << vio_debug();
  EXPECT_TRUE(eventually([&] { return count_of(slurp(console_log("su")), "disk xvda: loop ok") == 2; },
                         30s, 100ms))
      << slurp(console_log("su")) << vio_debug();
  const std::string serving = "blkback: serving " + std::string(kSuImage) + " to domain ";
  EXPECT_TRUE(eventually([&] { return count_of(slurp(console_log("vio")), serving) == 2; }, 10s,
                         100ms))
      << vio_debug();
  // The client's latest write went through the new VIO domain to the host file.
  const std::string path = std::string(kSuImage).substr(5);
  EXPECT_TRUE(eventually(
      [&] {
        const std::string bytes = slurp(root_ / path.substr(1));
        std::uint64_t round = 0;
        if (bytes.size() < 4096 + sizeof round) return false;
        std::memcpy(&round, bytes.data() + 4096, sizeof round);
        return round > 0;
      },
      10s, 100ms));
  const XmResult gone = xm({"destroy", "su"});
  EXPECT_EQ(gone.exit_code, 0) << gone;
  EXPECT_FALSE(domain_listed("su"));
}

// xend is killed and starts again while a client of the VIO domain writes
// and reads its disk: both the VIO domain's own disk (served by Domain-0)
// and the client's (served by the VIO domain) lost their backends with
// xend's store. The new xend offers both again; the VIO domain sets its
// watches again in the new store, finds the client's device and serves
// it; the client's blkfront joins it and its loop never fails.
TEST_F(XmVio, ClientKeepsItsDiskAcrossXendRestart) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_config("su", "A-Bank.SecurityUnderwriting", kDiskKernel,
              {std::string(kSuImage) + ",xvda,w,backend=vio"}, "mode=loop write=1 seconds=300");
  ASSERT_EQ(xm({"create", "su.xm"}).exit_code, 0);
  ASSERT_TRUE(console_shows("su", "disk xvda: loop ok")) << slurp(console_log("su"));
  kill_xend();
  ASSERT_NO_FATAL_FAILURE(start_xend());
  EXPECT_TRUE(console_shows("su", "disk xvda: reconnected 1")) << slurp(console_log("su")) << vio_debug();
  const std::string serving = "blkback: serving " + std::string(kSuImage) + " to domain ";
  EXPECT_TRUE(eventually([&] { return count_of(slurp(console_log("vio")), serving) == 2; }, 30s,
                         100ms))
      << vio_debug();
  const auto rows = device_list("block-list", "su");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("backend_state", 0u), 4u) << xm({"--json", "block-list", "su"}).out;
  const std::string log = slurp(console_log("su"));
  EXPECT_EQ(log.find("loop error"), std::string::npos) << log << vio_debug();
  EXPECT_EQ(xm({"destroy", "su"}).exit_code, 0);
}

// xend is killed and starts again while one client of the VIO domain's
// bridge pings another: the VIO domain sets its watches again in the new
// store, its netback starts over with the vifs xend offers again, both
// clients rejoin it and the pings are answered again.
TEST_F(XmVio, BridgedClientsSurviveXendRestart) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("neta1", "A-Bank", "00:16:3e:00:00:41", "ip=10.0.0.1");
  make_net_client("neta2", "A-Bank", "00:16:3e:00:00:42",
                  "ip=10.0.0.2 ping=10.0.0.1 count=400 interval=100 wait=1");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1")) << slurp(console_log("neta1"));
  ASSERT_NO_FATAL_FAILURE(create_ok("neta2"));
  ASSERT_TRUE(console_shows("neta2", "64 bytes from 10.0.0.1")) << slurp(console_log("neta2"));
  kill_xend();
  ASSERT_NO_FATAL_FAILURE(start_xend());
  const auto answered = count_of(slurp(console_log("neta2")), "64 bytes from 10.0.0.1");
  EXPECT_TRUE(console_shows("neta2", "net: vif reconnected 1"))
      << slurp(console_log("neta2")) << vio_debug();
  EXPECT_TRUE(eventually(
      [&] { return count_of(slurp(console_log("neta2")), "64 bytes from 10.0.0.1") > answered + 5; },
      30s, 100ms))
      << slurp(console_log("neta2")) << "\n--- neta1\n" << slurp(console_log("neta1"))
      << vio_debug();
  EXPECT_TRUE(console_shows("neta1", "net: vif reconnected 1")) << slurp(console_log("neta1"));
}

// The VIO domain enforces the resource labels itself: a device written
// into its xenstore directory behind xend's back (as Domain-0), offering
// the SecurityUnderwriting disk to a MarketAnalysis domain, is refused by
// the VIO domain after the hypervisor's resource_access check, and the
// hypervisor audits the refusal. The client never gets the disk.
TEST_F(XmVio, EnforcesResourceLabelsItself) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  // A legitimate client first, to learn the disk's resource ssidref.
  make_config("su", "A-Bank.SecurityUnderwriting", kDiskKernel,
              {std::string(kSuImage) + ",xvda,w,backend=vio"}, "mode=pattern sectors=8");
  ASSERT_EQ(xm({"create", "su.xm"}).exit_code, 0);
  ASSERT_TRUE(console_shows("su", "disk xvda: wrote 8 sectors, read back OK"))
      << slurp(console_log("su"));
  const std::string vio = domid_of("vio");
  const std::string su = domid_of("su");
  ASSERT_FALSE(vio.empty());
  const std::string legit = "/local/domain/" + vio + "/backend/vbd/" + su + "/51712";
  const XmResult ssidref = xm({"xenstore-read", legit + "/resource-ssidref"});
  ASSERT_EQ(ssidref.exit_code, 0) << ssidref;
  const std::string su_ssidref = ssidref.out.substr(0, ssidref.out.find('\n'));

  // The two departments are in one conflict set (Chinese Wall): one at a time.
  ASSERT_EQ(xm({"destroy", "su"}).exit_code, 0);
  make_config("ma", "A-Bank.MarketAnalysis", kDiskKernel, {}, "mode=none");
  const XmResult created = xm({"create", "ma.xm"});
  ASSERT_EQ(created.exit_code, 0) << created;
  const std::string ma = domid_of("ma");
  const std::string be = "/local/domain/" + vio + "/backend/vbd/" + ma + "/51712";
  const std::string fe = "/local/domain/" + ma + "/device/vbd/51712";
  // Each directory is made and given xend's permissions (docs/devices.md:
  // each side may read the other's) before anything is put in it; the
  // states come last, as xend writes them.
  const auto ok = [&](const std::vector<std::string>& args) {
    const XmResult r = xm(args);
    ASSERT_EQ(r.exit_code, 0) << r;
  };
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", be + "/frontend", fe}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", be, "n" + vio, "r" + ma}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", be + "/frontend", "n" + vio, "r" + ma}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", be + "/frontend-id", ma, be + "/params", kSuImage,
                              be + "/mode", "w", be + "/resource-ssidref", su_ssidref}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", fe + "/backend-id", vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", fe, "n" + ma, "r" + vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", fe + "/backend-id", "n" + ma, "r" + vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", fe + "/backend", be, fe + "/virtual-device",
                              "51712", be + "/state", "1", fe + "/state", "1"}));
  EXPECT_TRUE(console_shows("vio", "blkback: device 51712 of domain " + ma + " refused: access to " +
                                       std::string(kSuImage) + " denied by the policy"))
      << slurp(console_log("vio")) << "\n--- ma\n" << slurp(console_log("ma")) << "\n"
      << xm({"xenstore-ls", "/local/domain/" + vio + "/backend"}).out << "\n"
      << xm({"xenstore-ls", "/local/domain/" + ma}).out;
  EXPECT_TRUE(console_shows("ma", "refused")) << slurp(console_log("ma"));
  EXPECT_EQ(slurp(console_log("ma")).find("read back OK"), std::string::npos);
  const XmResult audit = xm({"audit"});
  EXPECT_NE(audit.out.find("resource_access"), std::string::npos) << audit;
}

// A disk the VIO domain does not hold cannot be served by it.
TEST_F(XmVio, BackendMustHoldTheDisk) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  const std::string other = "file:/home/xen/vio/other.img";
  write_file(root_ / "home/xen/vio/other.img", std::string(kImageBytes, '\0'));
  quietly({"addlabel", "A-Bank.SecurityUnderwriting", "res", other});
  make_config("su2", "A-Bank.SecurityUnderwriting", kDiskKernel, {other + ",xvda,w,backend=vio"},
              "mode=pattern sectors=8");
  const XmResult r = xm({"create", "su2.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("backend domain 'vio' does not hold block device '" + other + "'"),
            std::string::npos)
      << r;
}

// A client of the VIO domain floods its tx ring with garbage (bad sizes,
// offsets, flags, grant refs that are not its own): every request comes
// back as an error, and two other clients keep pinging each other through
// the same driver domain.
TEST_F(XmVio, AFlooderDoesNotStopTheDriverDomainsBridge) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  ASSERT_TRUE(console_shows("vio", "vio: bridging vifs")) << vio_debug();
  make_net_client("neta1", "A-Bank", "00:16:3e:00:00:11", "ip=10.0.0.1");
  make_net_client("flood", "A-Bank", "00:16:3e:00:00:19", "ip=10.0.0.9 flood=40");
  make_net_client("neta2", "A-Bank", "00:16:3e:00:00:12",
                  "ip=10.0.0.2 ping=10.0.0.1 count=3 interval=200");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1")) << vio_debug();
  ASSERT_NO_FATAL_FAILURE(create_ok("flood"));
  ASSERT_NO_FATAL_FAILURE(create_ok("neta2"));
  ASSERT_TRUE(console_shows("flood", "net: flood 2560 requests, 2560 errors"))
      << slurp(console_log("flood")) << vio_debug();
  ASSERT_TRUE(console_shows("neta2", "packets transmitted")) << vio_debug();
  EXPECT_NE(slurp(console_log("neta2")).find("3 packets transmitted, 3 received, 0% packet loss"),
            std::string::npos)
      << slurp(console_log("neta2")) << vio_debug();
  EXPECT_TRUE(eventually([&] { return vio_count("errors") >= 2560; }, 10s, 100ms)) << vio_debug();
  EXPECT_TRUE(domain_listed("vio"));
}

// Two A-Bank guests on the VIO domain's bridge ping each other: ARP and
// ICMP cross client -> VIO -> client through granted pages, every frame
// permitted by the hypervisor. xm network-list shows the VIO domain as the
// backend.
TEST_F(XmVio, BridgesVifsOfSameLabelClients) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  ASSERT_TRUE(console_shows("vio", "vio: bridging vifs")) << vio_debug();
  make_net_client("neta1", "A-Bank", "00:16:3e:00:00:11", "ip=10.0.0.1");
  make_net_client("neta2", "A-Bank", "00:16:3e:00:00:12",
                  "ip=10.0.0.2 ping=10.0.0.1 count=3 interval=200");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1"))
      << slurp(console_log("neta1")) << vio_debug();
  ASSERT_NO_FATAL_FAILURE(create_ok("neta2"));
  ASSERT_TRUE(console_shows("neta2", "packets transmitted"))
      << slurp(console_log("neta2")) << vio_debug();
  const std::string pinger = slurp(console_log("neta2"));
  EXPECT_NE(pinger.find("64 bytes from 10.0.0.1: icmp_seq=3 time="), std::string::npos) << pinger;
  EXPECT_NE(pinger.find("3 packets transmitted, 3 received, 0% packet loss"), std::string::npos)
      << pinger << vio_debug();
  const std::string vio = domid_of("vio");
  const std::string a1 = domid_of("neta1");
  EXPECT_TRUE(console_shows("vio", "netback: serving vif 0 of domain " + a1 + " on xenbr0"))
      << vio_debug();

  const auto rows = device_list("network-list", "neta1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::to_string(rows[0].value("backend", 0)), vio);
  EXPECT_EQ(rows[0].value("backend_state", 0), 4);
  EXPECT_EQ(rows[0].value("backend_path", std::string()),
            "/local/domain/" + vio + "/backend/vif/" + a1 + "/0");
  // xm network-list's BE column names the VIO domain.
  const XmResult table = xm({"network-list", "neta1"});
  const auto lines = normalized_lines(table.out);
  ASSERT_EQ(lines.size(), 2u) << table;
  const auto words = split_words(lines[1]);
  ASSERT_GE(words.size(), 2u) << table;
  EXPECT_EQ(words[1], vio) << table;

  // Frames went through the VIO domain's bridge, none refused.
  EXPECT_TRUE(eventually([&] { return vio_count("delivered") >= 8; }, 10s, 100ms)) << vio_debug();
  EXPECT_EQ(vio_count("denied"), 0) << vio_debug();
  // xm network-list has the VIO domain's counts for the vif (published
  // every 2 s): neta1 answered 3 pings and ARP, refused nothing.
  EXPECT_TRUE(eventually(
      [&] {
        const auto now = device_list("network-list", "neta1");
        return now.size() == 1 && now[0].value("tx_frames", 0u) >= 4 &&
               now[0].value("rx_frames", 0u) >= 4;
      },
      10s, 200ms))
      << xm({"--json", "network-list", "neta1"}).out << vio_debug();
  EXPECT_EQ(device_list("network-list", "neta1")[0].value("denied_frames", 1u), 0u);
}

// An A-Bank and an A-Bank.MarketAnalysis guest may both connect to the VIO
// domain (it carries both types; no Chinese Wall conflict between the two)
// but share no STE type with each other: the VIO domain's bridge asks the
// hypervisor about every frame between them and gets refusals, so not even
// ARP gets across. The VIO domain counts the denied frames; the
// hypervisor's audit trail has the frame_access refusals.
TEST_F(XmVio, BridgeKeepsClientsWithoutACommonTypeApart) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("neta", "A-Bank", "00:16:3e:00:00:21", "ip=10.0.0.1");
  make_net_client("netma", "A-Bank.MarketAnalysis", "00:16:3e:00:00:23",
                  "ip=10.0.0.3 ping=10.0.0.1 count=3 interval=200 wait=1 linger=1");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta"));
  ASSERT_TRUE(console_shows("neta", "net: serving 10.0.0.1"))
      << slurp(console_log("neta")) << vio_debug();
  ASSERT_NO_FATAL_FAILURE(create_ok("netma"));
  ASSERT_TRUE(console_shows("netma", "packets transmitted"))
      << slurp(console_log("netma")) << vio_debug();
  const std::string pinger = slurp(console_log("netma"));
  EXPECT_NE(pinger.find("3 packets transmitted, 0 received, 100% packet loss"), std::string::npos)
      << pinger;
  EXPECT_EQ(pinger.find("64 bytes from"), std::string::npos) << pinger;
  // Both were connected by the VIO domain: the refusal is per frame.
  const std::string ma = domid_of("netma");
  EXPECT_TRUE(console_shows("vio", "netback: serving vif 0 of domain " + ma)) << vio_debug();
  // The counts line comes every 2 s while they change.
  EXPECT_TRUE(eventually([&] { return vio_count("denied") >= 3; }, 10s, 100ms)) << vio_debug();
  EXPECT_EQ(vio_count("delivered"), 0) << vio_debug();
  const std::string server = slurp(console_log("neta"));
  EXPECT_EQ(server.find("crash"), std::string::npos) << server;

  const XmResult audit = xm({"audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit;
  EXPECT_NE(audit.out.find("frame_access"), std::string::npos) << audit;
  // xm network-list shows the refusals on the sender's vif.
  EXPECT_TRUE(eventually(
      [&] {
        const auto rows = device_list("network-list", "netma");
        return rows.size() == 1 && rows[0].value("denied_frames", 0u) >= 3;
      },
      10s, 200ms))
      << xm({"--json", "network-list", "netma"}).out << vio_debug();
}

// The VIO domain asks about every frame, so a run-time policy update takes
// effect at its bridge at once: giving the MarketAnalysis label the A-Bank
// type lets the same running clients talk through the same driver domain.
TEST_F(XmVio, APolicyUpdateReachesTheDriverDomainsBridge) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("neta", "A-Bank", "00:16:3e:00:00:21", "ip=10.0.0.1");
  make_net_client("netma", "A-Bank.MarketAnalysis", "00:16:3e:00:00:23",
                  "ip=10.0.0.3 ping=10.0.0.1 count=40 interval=250 wait=1");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta"));
  ASSERT_TRUE(console_shows("neta", "net: serving 10.0.0.1")) << vio_debug();
  ASSERT_NO_FATAL_FAILURE(create_ok("netma"));
  ASSERT_TRUE(console_shows("netma", "icmp_seq=2 Destination Host Unreachable"))
      << slurp(console_log("netma")) << vio_debug();
  EXPECT_EQ(slurp(console_log("netma")).find("bytes from"), std::string::npos);

  // example.vio 1.1: the MarketAnalysis VM label also carries A-Bank.
  std::string xml = slurp(kSourceDir / "policies/example/vio-security_policy.xml");
  const std::string version = "<Version>1.0</Version>";
  const auto at = xml.find(version);
  ASSERT_NE(at, std::string::npos);
  xml.replace(at, version.size(),
              "<Version>1.1</Version>\n        <FromPolicy>\n            <PolicyName>example.vio"
              "</PolicyName>\n            <Version>1.0</Version>\n        </FromPolicy>");
  const auto label = xml.find("<Name>A-Bank.MarketAnalysis</Name>", xml.find("<SubjectLabels"));
  ASSERT_NE(label, std::string::npos);
  const std::string type = "<Type>A-Bank.MarketAnalysis</Type>";
  const auto type_at = xml.find(type, label);
  ASSERT_NE(type_at, std::string::npos);
  xml.insert(type_at + type.size(), "\n                    <Type>A-Bank</Type>");
  write_file(root_ / "etc/xen/acm-security/policies/example/vio_share-security_policy.xml", xml);
  const XmResult update = xm({"setpolicy", "ACM", "example.vio_share"});
  ASSERT_EQ(update.exit_code, 0) << update;
  EXPECT_TRUE(console_shows("netma", "bytes from 10.0.0.1: icmp_seq=", 30s))
      << slurp(console_log("netma")) << vio_debug();
  EXPECT_TRUE(domain_listed("vio"));
}

// A B-Bank guest shares no type with the VIO domain: xend refuses its vif
// before writing anything. Written into xenstore behind xend's back (as
// Domain-0), the vif still gets nowhere: the hypervisor refuses the
// guest's grants and channel to the VIO domain.
TEST_F(XmVio, NoVifFromTheDriverDomainForBBank) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("netb", "B-Bank", "00:16:3e:00:00:31", "ip=10.0.0.5");
  const XmResult r = xm({"create", "netb.xm"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err,
            "Error: starting netb failed: vif 0 ('mac=00:16:3e:00:00:31, bridge=xenbr0, "
            "backend=vio'): backend domain "
            "'vio' may not serve this network interface: the labels of the two domains share no "
            "STE type\n");
  EXPECT_FALSE(domain_listed("netb"));

  // Behind xend's back: a B-Bank guest created paused without a vif, the
  // vif's two directories written by hand, then the guest let run.
  write_config("netb2", "B-Bank", kNetKernel, "ip=10.0.0.5");
  const XmResult created = xm({"create", "-p", "netb2.xm"});
  ASSERT_EQ(created.exit_code, 0) << created;
  const std::string vio = domid_of("vio");
  const std::string bb = domid_of("netb2");
  const std::string be = "/local/domain/" + vio + "/backend/vif/" + bb + "/0";
  const std::string fe = "/local/domain/" + bb + "/device/vif/0";
  const auto ok = [&](const std::vector<std::string>& args) {
    const XmResult x = xm(args);
    ASSERT_EQ(x.exit_code, 0) << x;
  };
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", be + "/frontend", fe}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", be, "n" + vio, "r" + bb}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", be + "/frontend", "n" + vio, "r" + bb}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", be + "/frontend-id", bb, be + "/mac",
                              "00:16:3e:00:00:32", be + "/bridge", "xenbr0"}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", fe + "/backend-id", vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", fe, "n" + bb, "r" + vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-chmod", fe + "/backend-id", "n" + bb, "r" + vio}));
  ASSERT_NO_FATAL_FAILURE(ok({"xenstore-write", fe + "/backend", be, fe + "/mac",
                              "00:16:3e:00:00:32", be + "/state", "1", fe + "/state", "1"}));
  ASSERT_NO_FATAL_FAILURE(ok({"unpause", "netb2"}));
  // -13: EACCES, the hypervisor's STE check on the grant to the VIO domain.
  EXPECT_TRUE(console_shows("netb2", "net: connect failed: -13"))
      << slurp(console_log("netb2")) << vio_debug();
  EXPECT_EQ(slurp(console_log("vio")).find("serving vif 0 of domain " + bb), std::string::npos)
      << vio_debug();
  const XmResult audit = xm({"audit"});
  EXPECT_NE(audit.out.find("grant_setup"), std::string::npos) << audit;
}

// The driver domain goes away: its clients' vifs lose their backend (the
// guest waits for it), the clients, Domain-0 and guests on Domain-0's own
// bridge run on. When a VIO domain of that name starts again, xend offers
// the clients their vifs from it, they rejoin and ping each other again.
TEST_F(XmVio, ClientsSurviveTheDriverDomain) {
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("neta1", "A-Bank", "00:16:3e:00:00:41", "ip=10.0.0.1");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta1"));
  ASSERT_TRUE(console_shows("neta1", "net: serving 10.0.0.1"))
      << slurp(console_log("neta1")) << vio_debug();
  // A pair on Domain-0's bridge, to show the rest of the network lives.
  write_config("d0a", "A-Bank", kNetKernel, "ip=10.0.1.1", "vif = ['bridge=xenbr1']\n");
  ASSERT_NO_FATAL_FAILURE(create_ok("d0a"));
  ASSERT_TRUE(console_shows("d0a", "net: serving 10.0.1.1")) << slurp(console_log("d0a"));

  ASSERT_EQ(xm({"destroy", "vio"}).exit_code, 0);
  EXPECT_TRUE(console_shows("neta1", "net: vif waiting for its backend", 30s))
      << slurp(console_log("neta1"));
  EXPECT_TRUE(domain_listed("neta1"));
  EXPECT_FALSE(domain_listed("vio"));

  write_config("d0b", "A-Bank", kNetKernel, "ip=10.0.1.2 ping=10.0.1.1 count=2 interval=200",
               "vif = ['bridge=xenbr1']\n");
  ASSERT_NO_FATAL_FAILURE(create_ok("d0b"));
  ASSERT_TRUE(console_shows("d0b", "packets transmitted")) << slurp(console_log("d0b"));
  EXPECT_NE(slurp(console_log("d0b")).find("2 packets transmitted, 2 received"), std::string::npos)
      << slurp(console_log("d0b"));

  // The VIO domain again: neta1 rejoins it, and a new client reaches it.
  ASSERT_NO_FATAL_FAILURE(start_vio());
  make_net_client("neta2", "A-Bank", "00:16:3e:00:00:42",
                  "ip=10.0.0.2 ping=10.0.0.1 count=3 interval=200 wait=2");
  ASSERT_NO_FATAL_FAILURE(create_ok("neta2"));
  ASSERT_TRUE(console_shows("neta2", "packets transmitted")) << slurp(console_log("neta2"));
  EXPECT_NE(slurp(console_log("neta2")).find("3 received"), std::string::npos)
      << slurp(console_log("neta2")) << "\n--- neta1\n" << slurp(console_log("neta1"))
      << vio_debug();
  EXPECT_TRUE(console_shows("neta1", "net: vif reconnected 1")) << slurp(console_log("neta1"));
  const std::string client = slurp(console_log("neta1"));
  EXPECT_EQ(client.find("failed"), std::string::npos) << client;
}

}  // namespace
}  // namespace shype::testing
