// Block devices end to end: xm and xend attach labeled disk images, blkback
// serves them, the guest_disk kernel's blkfront moves real data through
// granted pages (hypervisor/guest/kernels/disk.cpp documents its modes).
// The manual's flow (10.2.5-10.2.6): a disk labeled A-Bank works for an
// A-Bank domain, whose data lands in the host file; a B-Bank disk is
// refused at create and at block-attach; read-only disks refuse writes; a
// frontend scribbling garbage into its ring does not stop the backend from
// serving another domain.
#include "xm_devices_fixture.hpp"

namespace shype::testing {
namespace {

inline const fs::path kGuestDisk = GUEST_DISK_PATH;
constexpr const char* kDiskKernel = "/boot/guest_disk";
constexpr std::size_t kImageBytes = 4 * 1024 * 1024;

std::uint64_t fnv1a64(const std::string& data) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : data) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

class XmBlock : public XmDevicesTest {
 protected:
  void populate_root() override {
    XmTest::populate_root();
    install_kernel(kGuestDisk, kDiskKernel);
  }

  void SetUp() override {
    XmTest::SetUp();
    if (HasFatalFailure()) return;
    set_policy("mytest");
  }

  // A disk image of kImageBytes filled with `fill` (or zeros).
  fs::path make_disk(const std::string& resource, const std::string& fill = {}) {
    const std::string path = resource.substr(resource.find(':') + 1);
    const fs::path host = root_ / path.substr(1);
    std::string bytes = fill;
    bytes.resize(kImageBytes, '\0');
    write_file(host, bytes);
    return host;
  }

  void label(const std::string& label_name, const std::string& resource) {
    quietly({"addlabel", label_name, "res", resource});
  }

  // A configuration running guest_disk with `extra`, labeled `label_name`.
  void make_config(const std::string& name, const std::string& label_name,
                   const std::vector<std::string>& disks, const std::string& extra) {
    write_config(name, label_name, kDiskKernel, extra, disks.empty() ? "" : disk_line(disks));
  }

  XmResult create(const std::string& name) { return xm({"create", name + ".xm"}); }


  // `xm --json block-list` rows.
  nlohmann::json block_list(const std::string& domain) {
    return device_list("block-list", domain);
  }

  void destroy(const std::string& name) {
    const XmResult r = xm({"destroy", name});
    EXPECT_EQ(r.exit_code, 0) << r;
  }
};

constexpr const char* kImageA = "file:/home/xen/abank/disk.img";
constexpr const char* kImageA2 = "file:/home/xen/abank/data.img";
constexpr const char* kImageB = "file:/home/xen/bbank/disk.img";

// The manual's 10.2.5: an A-Bank domain on an A-Bank disk. The guest's
// pattern must really be in the host file afterwards.
TEST_F(XmBlock, PatternWrittenByTheGuestIsInTheHostFile) {
  const fs::path image = make_disk(kImageA);
  label("A-Bank", kImageA);
  make_config("blk1", "A-Bank", {std::string(kImageA) + ",xvda,w"}, "mode=pattern start=64 sectors=600");
  const XmResult r = create("blk1");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Using config file \"./blk1.xm\".\nStarted domain blk1\n");
  ASSERT_TRUE(console_shows("blk1", "disk xvda: wrote 600 sectors, read back OK"))
      << slurp(console_log("blk1"));

  const std::string bytes = slurp(image);
  ASSERT_EQ(bytes.size(), kImageBytes);
  const std::uint32_t seed = fnv1a32("blk1");
  std::size_t wrong = 0;
  for (std::uint64_t o = 64 * 512; o < (64 + 600) * 512; ++o) {
    if (static_cast<std::uint8_t>(bytes[o]) != pattern_byte(seed, o)) ++wrong;
  }
  EXPECT_EQ(wrong, 0u) << "bytes of the host file that do not hold the guest's pattern";
  // Outside the range nothing was written.
  EXPECT_EQ(bytes.substr(0, 64 * 512), std::string(64 * 512, '\0'));
  EXPECT_EQ(bytes.substr((64 + 600) * 512, 512), std::string(512, '\0'));

  // xm block-list: Xen's columns, the device connected (state 4).
  const XmResult list = xm({"block-list", "blk1"});
  ASSERT_EQ(list.exit_code, 0) << list;
  const auto lines = normalized_lines(list.out);
  ASSERT_EQ(lines.size(), 2u) << list;
  EXPECT_EQ(lines[0], "Vdev BE handle state evt-ch ring-ref BE-path");
  const auto words = split_words(lines[1]);
  ASSERT_EQ(words.size(), 7u) << list;
  EXPECT_EQ(words[0], "51712");
  EXPECT_EQ(words[1], "0");
  EXPECT_EQ(words[3], "4");
  EXPECT_TRUE(words[6].starts_with("/local/domain/0/backend/vbd/") &&
              words[6].ends_with("/51712"))
      << words[6];
  const auto rows = block_list("blk1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("vdev", ""), "xvda");
  EXPECT_GT(rows[0].value("requests", 0u), 0u);
  EXPECT_EQ(rows[0].value("errors", 1u), 0u);
  destroy("blk1");
}

// What the guest reads is what the host file holds.
TEST_F(XmBlock, GuestReadsTheHostFilesBytes) {
  std::string content(kImageBytes, '\0');
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : content) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  make_disk(kImageA, content);
  label("A-Bank", kImageA);
  make_config("reader", "A-Bank", {std::string(kImageA) + ",xvda,r"}, "mode=read sectors=8192");
  const XmResult r = create("reader");
  ASSERT_EQ(r.exit_code, 0) << r;
  char expected[64];
  std::snprintf(expected, sizeof expected, "disk xvda: checksum %llx over 8192 sectors",
                static_cast<unsigned long long>(fnv1a64(content)));
  EXPECT_TRUE(console_shows("reader", expected)) << "expected " << expected << "\n"
                                                 << slurp(console_log("reader"));
  destroy("reader");
}

// An "r" disk: the frontend refuses, and a write sent anyway is refused by
// blkback; the host file is untouched.
TEST_F(XmBlock, ReadOnlyDiskRefusesWrites) {
  const fs::path image = make_disk(kImageA, std::string(512, 'R'));
  label("A-Bank", kImageA);
  make_config("ro", "A-Bank", {std::string(kImageA) + ",xvda,r"}, "mode=readonly");
  const XmResult r = create("ro");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(console_shows("ro", "disk xvda: read-only enforced (frontend -30, backend error)"))
      << slurp(console_log("ro"));
  EXPECT_EQ(slurp(image).substr(0, 512), std::string(512, 'R'));
  const auto rows = block_list("ro");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(rows[0].value("errors", 0u), 1u);
  destroy("ro");
}

// The manual's 10.2.6 test 2: a B-Bank disk is refused for an A-Bank
// domain, at create and at block-attach; nothing is attached.
TEST_F(XmBlock, OtherWorkloadsDiskIsRefused) {
  make_disk(kImageA);
  make_disk(kImageB);
  label("A-Bank", kImageA);
  label("B-Bank", kImageB);
  make_config("abank", "A-Bank", {std::string(kImageB) + ",xvda,w"}, "mode=pattern");
  const XmResult refused = create("abank");
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_EQ(refused.text(), "Using config file \"./abank.xm\".\nError: VM's access to block device '" +
                                std::string(kImageB) + "' denied\n");
  EXPECT_FALSE(domain_listed("abank"));

  make_config("abank", "A-Bank", {std::string(kImageA) + ",xvda,w"}, "mode=pattern sectors=64");
  const XmResult started = create("abank");
  ASSERT_EQ(started.exit_code, 0) << started;
  ASSERT_TRUE(console_shows("abank", "disk xvda: wrote 64 sectors, read back OK"))
      << slurp(console_log("abank"));
  const XmResult attach = xm({"block-attach", "abank", kImageB, "xvdb", "w"});
  EXPECT_EQ(attach.exit_code, 1) << attach;
  EXPECT_EQ(attach.err, "Error: VM's access to block device '" + std::string(kImageB) + "' denied\n");
  EXPECT_EQ(block_list("abank").size(), 1u);
  destroy("abank");
}

// Hot-plug: block-attach, the guest connects the new disk and writes it;
// block-list shows it; block-detach lets the guest close it and removes it.
// A disk attached writable to one domain is refused for another.
TEST_F(XmBlock, AttachListDetach) {
  make_disk(kImageA);
  const fs::path data = make_disk(kImageA2);
  label("A-Bank", kImageA);
  label("A-Bank", kImageA2);
  make_config("hot", "A-Bank", {std::string(kImageA) + ",xvda,w"}, "mode=none");
  ASSERT_EQ(create("hot").exit_code, 0);
  ASSERT_TRUE(console_shows("hot", "disk xvda: connected")) << slurp(console_log("hot"));

  const XmResult attach = xm({"block-attach", "hot", kImageA2, "xvdb", "w"});
  ASSERT_EQ(attach.exit_code, 0) << attach;
  EXPECT_EQ(attach.text(), "");
  ASSERT_TRUE(console_shows("hot", "disk xvdb: wrote 2048 sectors, read back OK"))
      << slurp(console_log("hot"));
  const std::uint32_t seed = fnv1a32("hot");
  const std::string bytes = slurp(data);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[1000]), pattern_byte(seed, 1000));
  auto rows = block_list("hot");
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::uint32_t> devids;
  for (const auto& row : rows) {
    devids.insert(row.value("devid", 0u));
    EXPECT_EQ(row.value("backend_state", 0u), 4u) << row.dump();
  }
  EXPECT_EQ(devids, (std::set<std::uint32_t>{51712, 51728}));

  // The same image again, writable, for another domain: refused (manual 5.1).
  make_config("other", "A-Bank", {}, "mode=none");
  ASSERT_EQ(create("other").exit_code, 0);
  const XmResult shared = xm({"block-attach", "other", kImageA2, "xvda", "w"});
  EXPECT_EQ(shared.exit_code, 1) << shared;
  EXPECT_NE(shared.err.find("is in use by domain"), std::string::npos) << shared;

  const XmResult detach = xm({"block-detach", "hot", "xvdb"});
  ASSERT_EQ(detach.exit_code, 0) << detach;
  EXPECT_TRUE(console_shows("hot", "disk xvdb: detached")) << slurp(console_log("hot"));
  rows = block_list("hot");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("devid", 0u), 51712u);
  // -f: removed at once, whatever the guest does; nothing stale is left
  // behind, so the same device can be attached again.
  ASSERT_EQ(xm({"block-attach", "hot", kImageA2, "xvdc", "r"}).exit_code, 0);
  const XmResult forced = xm({"block-detach", "-f", "hot", "xvdc"});
  EXPECT_EQ(forced.exit_code, 0) << forced;
  EXPECT_EQ(block_list("hot").size(), 1u);
  const XmResult reattached = xm({"block-attach", "hot", kImageA2, "xvdc", "r"});
  EXPECT_EQ(reattached.exit_code, 0) << reattached;
  EXPECT_EQ(xm({"block-detach", "-f", "hot", "51744"}).exit_code, 0);
  const XmResult again = xm({"block-detach", "hot", "51728"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_EQ(xm({"block-detach", "hot", "51712"}).exit_code, 0);
  EXPECT_TRUE(block_list("hot").empty());
  destroy("hot");
  destroy("other");
}

// A frontend writing garbage into its ring gets error responses, then is
// disconnected for overflowing it; another domain keeps being served.
TEST_F(XmBlock, GarbageInOneRingDoesNotStopTheOthers) {
  make_disk(kImageA);
  make_disk(kImageA2);
  label("A-Bank", kImageA);
  label("A-Bank", kImageA2);
  make_config("vandal", "A-Bank", {std::string(kImageA) + ",xvda,w"}, "mode=garbage");
  ASSERT_EQ(create("vandal").exit_code, 0);
  EXPECT_TRUE(console_shows("vandal", "disk xvda: garbage 8/8 refused")) << slurp(console_log("vandal"));
  EXPECT_TRUE(console_shows("vandal", "disk xvda: ring overflow sent")) << slurp(console_log("vandal"));
  // blkback closed the vandal's device.
  EXPECT_TRUE(eventually(
      [&] {
        const auto rows = block_list("vandal");
        return rows.size() == 1 && rows[0].value("backend_state", 0u) == 6u;
      },
      20s, 200ms));

  make_config("victim", "A-Bank", {std::string(kImageA2) + ",xvda,w"}, "mode=pattern sectors=1024");
  ASSERT_EQ(create("victim").exit_code, 0);
  EXPECT_TRUE(console_shows("victim", "disk xvda: wrote 1024 sectors, read back OK"))
      << slurp(console_log("victim"));
  EXPECT_TRUE(domain_listed("vandal"));
  destroy("vandal");
  destroy("victim");
}

// xend stops (SIGTERM), then is killed (SIGKILL), while a guest writes and
// reads its disk: xenstore and blkback live in xend, so the disk's backend
// is gone each time. The new xend offers the disk again from the domain's
// record; blkfront finds the new backend, joins it (new event channel, the
// same grants) and sends again what was in flight. The guest's loop never
// sees an error, the new blkback serves it, and the guest's last write is
// in the host file.
TEST_F(XmBlock, DiskSurvivesXendRestart) {
  const fs::path image = make_disk(kImageA);
  label("A-Bank", kImageA);
  make_config("blk1", "A-Bank", {std::string(kImageA) + ",xvda,w"},
              "mode=loop write=1 seconds=600");
  ASSERT_EQ(create("blk1").exit_code, 0);
  ASSERT_TRUE(console_shows("blk1", "disk xvda: loop ok")) << slurp(console_log("blk1"));
  // The round number the guest wrote last, from the host file's second page.
  const auto last_round = [&] {
    std::uint64_t round = 0;
    const std::string bytes = slurp(image);
    if (bytes.size() >= 4096 + sizeof round) std::memcpy(&round, bytes.data() + 4096, sizeof round);
    return round;
  };
  const std::uint64_t before = last_round();
  EXPECT_GT(before, 0u);
  int restarts = 0;
  for (const bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "xend killed" : "xend stopped");
    ASSERT_NO_FATAL_FAILURE(restart_xend(killed));
    ++restarts;
    EXPECT_TRUE(console_shows("blk1", "disk xvda: reconnected " + std::to_string(restarts)))
        << slurp(console_log("blk1"));
    // This xend's blkback serves the disk: Connected, and counting requests.
    EXPECT_TRUE(eventually(
        [&] {
          const auto rows = block_list("blk1");
          return rows.size() == 1 && rows[0].value("backend_state", 0u) == 4u &&
                 rows[0].value("frontend_state", 0u) == 4u && rows[0].value("requests", 0u) > 20u;
        },
        30s, 200ms))
        << xm({"--json", "block-list", "blk1"}).out;
  }
  const std::string log = slurp(console_log("blk1"));
  EXPECT_EQ(log.find("loop error"), std::string::npos) << log;
  EXPECT_EQ(count_of(log, "disk xvda: loop ok"), 1u) << log;
  // The guest's writes after the restarts reached the host file.
  EXPECT_GT(last_round(), before);
  destroy("blk1");
}

// A restored domain's record keeps its disk too: after xm save and xm
// restore, a restart of xend offers the disk again and the guest's loop
// goes on.
TEST_F(XmBlock, RestoredDomainKeepsItsDiskAcrossXendRestart) {
  make_disk(kImageA);
  label("A-Bank", kImageA);
  make_config("blk1", "A-Bank", {std::string(kImageA) + ",xvda,w"},
              "mode=loop write=1 seconds=600");
  ASSERT_EQ(create("blk1").exit_code, 0);
  ASSERT_TRUE(console_shows("blk1", "disk xvda: loop ok")) << slurp(console_log("blk1"));
  XmResult r = xm({"save", "blk1", "blk1.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = xm({"restore", "blk1.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(eventually([&] { return count_of(slurp(console_log("blk1")), "disk xvda: loop ok") == 2; },
                         30s, 100ms))
      << slurp(console_log("blk1"));
  ASSERT_NO_FATAL_FAILURE(restart_xend(true));
  EXPECT_TRUE(console_shows("blk1", "disk xvda: reconnected 1")) << slurp(console_log("blk1"));
  const auto rows = block_list("blk1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value("backend_state", 0u), 4u);
  const std::string log = slurp(console_log("blk1"));
  EXPECT_EQ(log.find("loop error"), std::string::npos) << log;
  destroy("blk1");
}

// xm save keeps the disks the domain has at that moment, and xm restore
// attaches those rather than its configuration's: a disk hot-plugged before
// the save is back, one detached before it stays detached.
TEST_F(XmBlock, RestoreAttachesTheDisksTheDomainHadWhenSaved) {
  make_disk(kImageA);
  make_disk(kImageA2);
  label("A-Bank", kImageA);
  label("A-Bank", kImageA2);
  make_config("hot", "A-Bank", {std::string(kImageA) + ",xvda,w"}, "mode=none");
  ASSERT_EQ(create("hot").exit_code, 0);
  ASSERT_TRUE(console_shows("hot", "disk xvda: connected")) << slurp(console_log("hot"));
  XmResult r = xm({"block-attach", "hot", kImageA2, "xvdb", "w"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(console_shows("hot", "disk xvdb: wrote 2048 sectors, read back OK"))
      << slurp(console_log("hot"));
  r = xm({"block-detach", "hot", "xvda"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(console_shows("hot", "disk xvda: detached")) << slurp(console_log("hot"));

  r = xm({"save", "hot", "hot.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = xm({"restore", "hot.chk"});
  ASSERT_EQ(r.exit_code, 0) << r;
  // The restored guest starts over and connects the one disk it has.
  EXPECT_TRUE(eventually(
      [&] { return count_of(slurp(console_log("hot")), "disk xvdb: connected") == 2; }, 30s,
      100ms))
      << slurp(console_log("hot"));
  const auto rows = block_list("hot");
  ASSERT_EQ(rows.size(), 1u) << xm({"--json", "block-list", "hot"}).out;
  EXPECT_EQ(rows[0].value("vdev", std::string()), "xvdb");
  EXPECT_EQ(rows[0].value("resource", std::string()), kImageA2);
  EXPECT_TRUE(eventually([&] {
    const auto now = block_list("hot");
    return now.size() == 1 && now[0].value("backend_state", 0u) == 4u;
  }, 10s, 100ms));
  EXPECT_EQ(count_of(slurp(console_log("hot")), "disk xvda: connected"), 1u)
      << slurp(console_log("hot"));
  destroy("hot");
}

}  // namespace
}  // namespace shype::testing
