// blkback behind the device host, driven directly (no xend, whose label
// checks would refuse first): the backend asks the hypervisor itself before
// it connects a disk, and an image that vanishes or shrinks while attached
// gives the guest errors, not a dead backend.
#include <memory>

#include <nlohmann/json.hpp>

#include "devices/device_host.hpp"
#include "hv/log.hpp"
#include "hv_mytest.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestDisk = GUEST_DISK_PATH;
constexpr std::size_t kImageBytes = 1024 * 1024;

class BlkHost : public HypervisorTest {
 protected:
  void prepare_root() override {
    fs::create_directories(root_ / "home/xen");
    for (const char* name : {"a.img", "b.img"}) {
      std::ofstream(root_ / "home/xen" / name, std::ios::binary) << std::string(kImageBytes, '\0');
    }
  }

  void SetUp() override {
    HypervisorTest::SetUp();
    if (HasFatalFailure()) return;
    auto set = xc().set_policy(mytest().compact);
    ASSERT_TRUE(set) << set.error().to_string();
    auto host = devices::DeviceHost::start(root_, log_);
    ASSERT_TRUE(host) << host.error().to_string();
    host_ = std::move(*host);
  }

  void TearDown() override {
    host_.reset();  // the device thread stops before the hypervisor
    HypervisorTest::TearDown();
  }

  static std::uint32_t resource_ssidref(const std::string& label) {
    auto ssidref = acm::find_label_ssidref(mytest().labels, label, 'R');
    if (!ssidref) throw std::runtime_error(ssidref.error().to_string());
    return *ssidref;
  }

  // A paused A-Bank guest_disk domain with its console and store.
  abi::domid_t start_guest(const std::string& name, const std::string& cmdline) {
    const abi::domid_t domid = create(name, kGuestDisk, cmdline, ssidref_of("A-Bank"), true);
    auto introduced = host_->introduce_domain(domid, name);
    EXPECT_TRUE(introduced) << introduced.error().to_string();
    return domid;
  }

  std::uint32_t attach(abi::domid_t domid, const std::string& resource, const std::string& vdev,
                       const std::string& label) {
    devices::DiskSpec disk;
    disk.resource = resource;
    disk.vdev = vdev;
    disk.writable = true;
    disk.resource_ssidref = resource_ssidref(label);
    auto devid = host_->attach_disk(domid, disk);
    EXPECT_TRUE(devid) << devid.error().to_string();
    return devid ? *devid : 0;
  }

  bool console_shows(const std::string& name, const std::string& text) {
    return eventually(
        [&] { return slurp(host_->console_log(name)).find(text) != std::string::npos; }, 30s,
        50ms);
  }

  hv::Log log_;
  std::unique_ptr<devices::DeviceHost> host_;
};

// The toolstack wrote a B-Bank disk for an A-Bank domain: blkback asks the
// hypervisor, is refused, says why in xenstore and never connects; the
// A-Bank disk beside it works.
TEST_F(BlkHost, BackendRefusesADiskTheDomainMayNotShare) {
  const abi::domid_t domid = start_guest("abank", "mode=pattern devid=51728 sectors=64");
  attach(domid, "file:/home/xen/b.img", "xvda", "B-Bank");
  attach(domid, "file:/home/xen/a.img", "xvdb", "A-Bank");
  ASSERT_TRUE(xc().unpause_domain(domid));
  EXPECT_TRUE(console_shows("abank", "disk xvda: refused: access to block device "
                                     "'file:/home/xen/b.img' denied by the policy for domain " +
                                         std::to_string(domid)))
      << slurp(host_->console_log("abank"));
  EXPECT_TRUE(console_shows("abank", "disk xvdb: wrote 64 sectors, read back OK"))
      << slurp(host_->console_log("abank"));
  auto disks = host_->list_disks(domid);
  ASSERT_TRUE(disks);
  ASSERT_EQ(disks->size(), 2u);
  for (const auto& d : *disks) {
    EXPECT_EQ(d.backend_state, d.vdev == "xvda" ? 6u : 4u) << d.vdev;
  }
  EXPECT_EQ(slurp(root_ / "home/xen/b.img"), std::string(kImageBytes, '\0'));
  EXPECT_NE(slurp(root_ / "home/xen/a.img"), std::string(kImageBytes, '\0'));

  // blkback asked resource_access, so the refusal is in the hypervisor's
  // audit trail.
  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  std::size_t denials = 0;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record.value("hook", "") == "resource_access" && record.value("decision", "") == "deny") {
      ++denials;
    }
  }
  EXPECT_EQ(denials, 1u) << "among " << audit->records.size() << " audit records";
}

// The image shrinks to nothing while attached: the guest's reads fail
// (error responses), the backend lives on and serves again once the image
// is back; another domain is served throughout.
TEST_F(BlkHost, VanishingImageGivesErrorsNotACrash) {
  const abi::domid_t domid = start_guest("looper", "mode=loop seconds=60");
  attach(domid, "file:/home/xen/a.img", "xvda", "A-Bank");
  ASSERT_TRUE(xc().unpause_domain(domid));
  ASSERT_TRUE(console_shows("looper", "disk xvda: loop ok")) << slurp(host_->console_log("looper"));

  fs::resize_file(root_ / "home/xen/a.img", 0);
  EXPECT_TRUE(console_shows("looper", "disk xvda: loop error -5"))
      << slurp(host_->console_log("looper"));
  fs::remove(root_ / "home/xen/a.img");

  const abi::domid_t other = start_guest("other", "mode=pattern sectors=128");
  attach(other, "file:/home/xen/b.img", "xvda", "A-Bank");
  ASSERT_TRUE(xc().unpause_domain(other));
  EXPECT_TRUE(console_shows("other", "disk xvda: wrote 128 sectors, read back OK"))
      << slurp(host_->console_log("other"));

  auto disks = host_->list_disks(domid);
  ASSERT_TRUE(disks);
  ASSERT_EQ(disks->size(), 1u);
  EXPECT_EQ((*disks)[0].backend_state, 4u);
  EXPECT_GE((*disks)[0].errors, 1u);
}

}  // namespace
}  // namespace shype::testing
