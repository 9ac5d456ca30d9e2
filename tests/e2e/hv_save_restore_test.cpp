// Save and restore the Xen PV way, end to end: the real hypervisor, real
// guests taking part in suspend (guest_counter), a guest that does not
// (rogue ignore-suspend), the Chinese Wall counting saved domains out and
// restored ones back in (manual 10.3.3), and damaged images refused without
// harm to the hypervisor.
#include <regex>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/sealed_memfd.hpp"
#include "hv_fixture.hpp"
#include "hv_mytest.hpp"
#include "shype/save_image.hpp"

namespace shype::testing {
namespace {


std::vector<std::uint8_t> bytes_of(const xc::SavedImage& image) {
  std::vector<std::uint8_t> bytes(image.size);
  EXPECT_EQ(::pread(image.fd.get(), bytes.data(), bytes.size(), 0),
            static_cast<ssize_t>(bytes.size()));
  return bytes;
}

// A plain (unsealed) memfd holding `bytes`: libxenctrl seals a copy.
hv::UniqueFd plain_memfd(const std::vector<std::uint8_t>& bytes) {
  hv::UniqueFd fd(::memfd_create("test-image", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

// Every "counter <n>" line's n, in order.
std::vector<std::uint64_t> counts(const std::string& console) {
  std::vector<std::uint64_t> values;
  static const std::regex line("(^|\n)counter ([0-9]+)");
  for (auto it = std::sregex_iterator(console.begin(), console.end(), line);
       it != std::sregex_iterator(); ++it) {
    values.push_back(std::stoull((*it)[2].str()));
  }
  return values;
}

// The n of "<prefix><n>" in text, if it is there.
std::optional<std::uint64_t> first_number_after(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(text.substr(at + prefix.size()));
}

class HvSaveRestoreTest : public HypervisorTest {
 protected:
  void load_mytest() {
    auto outcome = xc().set_policy(mytest().compact);
    ASSERT_TRUE(outcome) << outcome.error().to_string();
  }
  std::size_t domain_count() {
    auto all = xc().list_domains();
    return all ? all->size() : 0;
  }
};

TEST_F(HvSaveRestoreTest, CounterContinuesAfterSaveAndRestoreWithItsLabel) {
  load_mytest();
  const std::uint32_t a_bank = ssidref_of("A-Bank");
  const abi::domid_t first = create("ctr", kGuestCounter, "10", a_bank);
  ASSERT_NE(first, 0);
  ASSERT_TRUE(eventually([&] { return counts(console(first)).size() >= 2; }, 10s))
      << console(first);
  const std::uint64_t seen_before = counts(console(first)).back();
  ASSERT_GT(seen_before, 0u);

  const std::vector<std::uint8_t> record = {'x', 'e', 'n', 'd', 0, 1, 2, 0xff};
  const auto save_started = Clock::now();
  auto image = xc().save_domain(first, record, 10s);
  const auto save_took = Clock::now() - save_started;
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_GT(image->size, 8u << 20);
  EXPECT_EQ(xc().domain_info(first).error().code, ESRCH) << "a saved domain is gone";

  // What the image says, read back through a file as xm save / restore do.
  const fs::path file = root_ / "ctr.chk";
  ASSERT_TRUE(xc::write_save_file(image->fd.get(), file));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), image->size);
  auto from_file = xc::read_save_file(file);
  ASSERT_TRUE(from_file) << from_file.error().to_string();
  auto described = xc::inspect_save_image(from_file->fd.get());
  ASSERT_TRUE(described) << described.error().to_string();
  EXPECT_EQ(described->name, "ctr");
  EXPECT_EQ(described->memory_mib, 8u);
  EXPECT_EQ(described->vcpus, 1u);
  EXPECT_EQ(described->label, "A-Bank");
  EXPECT_EQ(described->ssidref, a_bank);
  EXPECT_EQ(described->policy_name, "mytest");
  EXPECT_NE(described->policy_fingerprint, (std::array<std::uint8_t, 32>{}));
  EXPECT_EQ(described->cmdline, "10");
  EXPECT_EQ(described->resume_count, 0u);
  EXPECT_EQ(described->toolstack_record, record);
  EXPECT_GT(described->kernel_bytes, 1000u);

  // Restore under the label looked up by name, as xend does.
  const auto restore_started = Clock::now();
  auto second = xc().restore_domain(from_file->fd.get(), ssidref_of(described->label));
  const auto restore_took = Clock::now() - restore_started;
  ASSERT_TRUE(second) << second.error().to_string();
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::fprintf(stderr,
               "8 MiB guest: save_domain %lld ms (suspend included), restore_domain %lld ms\n",
               static_cast<long long>(ms(save_took)), static_cast<long long>(ms(restore_took)));
  EXPECT_NE(*second, first) << "a restored domain gets a new id";
  ASSERT_TRUE(console_shows(*second, "counter: resumed at ", 10s)) << console(*second);
  const auto resumed_at = first_number_after(console(*second), "counter: resumed at ");
  ASSERT_TRUE(resumed_at);
  EXPECT_GE(*resumed_at, seen_before) << "the count went on from where it was, not from 0";
  EXPECT_NE(console(*second).find("(restore 1)"), std::string::npos) << console(*second);
  ASSERT_TRUE(eventually([&] { return !counts(console(*second)).empty(); }, 10s));
  EXPECT_GT(counts(console(*second)).front(), *resumed_at) << console(*second);

  // The console log has both lives: suspended at n, resumed at the same n.
  const std::string log = slurp(root_ / "var/log/xen/console/ctr.log");
  const auto suspended_at = first_number_after(log, "counter: suspending at ");
  ASSERT_TRUE(suspended_at) << log;
  EXPECT_EQ(*suspended_at, *resumed_at) << log;

  const auto now = info(*second);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->name, "ctr");
  EXPECT_EQ(now->ssidref, a_bank);
  EXPECT_EQ(now->memory_kib, 8u * 1024);
  auto ssid = xc().get_ssid(abi::kAcmGetByDomid, *second);
  ASSERT_TRUE(ssid);
  EXPECT_STREQ(ssid->label, "A-Bank");

  // A second round counts the restores.
  auto again = xc().save_domain(*second, {}, 10s);
  ASSERT_TRUE(again) << again.error().to_string();
  auto twice = xc::inspect_save_image(again->fd.get());
  ASSERT_TRUE(twice) << twice.error().to_string();
  EXPECT_EQ(twice->resume_count, 1u);
  EXPECT_TRUE(twice->toolstack_record.empty());
  auto third = xc().restore_domain(again->fd.get(), a_bank);
  ASSERT_TRUE(third) << third.error().to_string();
  EXPECT_TRUE(console_shows(*third, "(restore 2)", 10s)) << console(*third);
}

TEST_F(HvSaveRestoreTest, RestorePausedWaitsForUnpause) {
  const abi::domid_t id = create("ctr", kGuestCounter, "10");
  ASSERT_TRUE(console_shows(id, "counter ", 10s));
  auto image = xc().save_domain(id, {}, 10s);
  ASSERT_TRUE(image) << image.error().to_string();
  auto restored = xc().restore_domain(image->fd.get(), 0, /*paused=*/true);
  ASSERT_TRUE(restored) << restored.error().to_string();
  ASSERT_TRUE(state_becomes(*restored, [](const xc::DomainInfo& d) { return d.paused(); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(console(*restored), "") << "a paused domain does not run";
  ASSERT_TRUE(xc().unpause_domain(*restored));
  EXPECT_TRUE(console_shows(*restored, "counter: resumed at ", 10s)) << console(*restored);
}

TEST_F(HvSaveRestoreTest, UncooperativeGuestTimesOutAndKeepsRunning) {
  const abi::domid_t id = create("stubborn", kGuestRogue, "ignore-suspend");
  ASSERT_TRUE(console_shows(id, "rogue: ignore-suspend: ignoring"));
  const auto started = Clock::now();
  auto image = xc().save_domain(id, {}, 1s);
  const auto took = Clock::now() - started;
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, ETIMEDOUT) << image.error().to_string();
  EXPECT_NE(image.error().message.find("keeps running"), std::string::npos);
  EXPECT_LT(took, 5s) << "the wait is bounded by the timeout";
  EXPECT_TRUE(console_shows(id, "suspend request ignored"));

  const auto after = info(id);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->shutdown()) << after->state_string();
  EXPECT_TRUE(after->running() || after->blocked()) << after->state_string();
  EXPECT_NE(after->host_pid, 0);
  // Still under Domain-0's control: a poweroff request is obeyed.
  ASSERT_TRUE(xc().request_shutdown(id, abi::ShutdownReason::poweroff));
  EXPECT_TRUE(state_becomes(id, [](const xc::DomainInfo& d) {
    return d.shutdown() && d.shutdown_reason == abi::ShutdownReason::poweroff;
  }));
}

TEST_F(HvSaveRestoreTest, SaveNeedsASuspendedDomain) {
  const abi::domid_t id = create("plain", kGuestHello);
  ASSERT_TRUE(console_shows(id, "Hello from shype"));
  auto record = hv::make_sealed_memfd("record", {});
  ASSERT_TRUE(record);
  hv::wire::SaveDomain body;
  body.args.domid = id;
  const int fds[] = {record->get()};
  auto raw = xc().call("save_domain", body, fds);
  ASSERT_TRUE(raw) << raw.error().to_string();
  EXPECT_EQ(raw->header.status, -EINVAL) << "a running domain has not suspended";
  body.args.domid = 0;
  raw = xc().call("save_domain", body, fds);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->header.status, -EINVAL) << "Domain-0 cannot be saved";

  ASSERT_TRUE(xc().pause_domain(id));
  auto paused = xc().save_domain(id, {}, 1s);
  ASSERT_FALSE(paused);
  EXPECT_EQ(paused.error().code, EINVAL) << paused.error().to_string();
  ASSERT_TRUE(xc().unpause_domain(id));

  // hello obeys a suspend request like any other shutdown request.
  auto image = xc().save_domain(id, {}, 10s);
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(xc().save_domain(id, {}, 1s).error().code, ESRCH);
}

TEST_F(HvSaveRestoreTest, ChineseWallCountsSavedDomainsOutAndRestoredOnesIn) {
  load_mytest();
  const abi::domid_t a = create("bank-a", kGuestCounter, "10", ssidref_of("A-Bank"));
  ASSERT_TRUE(console_shows(a, "counter "));
  xc::DomainSpec b;
  b.name = "bank-b";
  b.kernel = kGuestHello;
  b.memory_mib = 8;
  b.ssidref = ssidref_of("B-Bank");
  ASSERT_EQ(xc().create_domain(b).error().code, EACCES) << "A-Bank runs";

  // Manual 10.3.3: "once domain1 is ... saved ... domain2 can start".
  auto image = xc().save_domain(a, {}, 10s);
  ASSERT_TRUE(image) << image.error().to_string();
  auto bank_b = xc().create_domain(b);
  ASSERT_TRUE(bank_b) << bank_b.error().to_string();
  ASSERT_TRUE(console_shows(*bank_b, "Hello from shype"));

  // "... once domain2 is started, domain1 can no longer ... resume".
  const std::size_t before = domain_count();
  auto refused = xc().restore_domain(image->fd.get(), ssidref_of("A-Bank"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EACCES) << refused.error().to_string();
  EXPECT_NE(refused.error().message.find("A-Bank"), std::string::npos) << refused.error().message;
  EXPECT_EQ(domain_count(), before) << "nothing of the refused domain runs";
  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit);
  bool audited = false;
  for (const std::string& line : audit->records) {
    audited = audited || (line.find("\"domain_restore\"") != std::string::npos &&
                          line.find("\"deny\"") != std::string::npos);
  }
  EXPECT_TRUE(audited) << "the refusal is audited";

  ASSERT_TRUE(xc().destroy_domain(*bank_b));
  auto restored = xc().restore_domain(image->fd.get(), ssidref_of("A-Bank"));
  ASSERT_TRUE(restored) << restored.error().to_string();
  EXPECT_TRUE(console_shows(*restored, "counter: resumed at "));
  EXPECT_EQ(xc().create_domain(b).error().code, EACCES) << "A-Bank runs again";
}

TEST_F(HvSaveRestoreTest, RestoreRechecksTheLabel) {
  load_mytest();
  const abi::domid_t a = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  ASSERT_TRUE(console_shows(a, "Hello from shype"));
  auto image = xc().save_domain(a, {}, 10s);
  ASSERT_TRUE(image) << image.error().to_string();

  // Another label than the image records: refused.
  auto other = xc().restore_domain(image->fd.get(), ssidref_of("B-Bank"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, EACCES) << other.error().to_string();
  // No label of the active policy: refused.
  auto unknown = xc().restore_domain(image->fd.get(), 0x00630063);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, EINVAL) << unknown.error().to_string();
  // A name in use: refused.
  const abi::domid_t twin = create("bank-a", kGuestHello, "", ssidref_of("A-Bank"));
  ASSERT_NE(twin, 0);
  EXPECT_EQ(xc().restore_domain(image->fd.get(), ssidref_of("A-Bank")).error().code, EEXIST);
  ASSERT_TRUE(xc().destroy_domain(twin));
  auto restored = xc().restore_domain(image->fd.get(), ssidref_of("A-Bank"));
  EXPECT_TRUE(restored) << restored.error().to_string();
}

TEST_F(HvSaveRestoreTest, GrantedFramesAreSavedFromTheirGrantPages) {
  const abi::domid_t g = create("granter", kGuestGranter);
  ASSERT_TRUE(console_shows(g, "granter"));
  // Frame 5 is filled with 7, granted to Domain-0, then its second half is
  // written with 8 through the grant page the guest now maps over it.
  ASSERT_TRUE(xc().console_write(g, "1 grant 0 5 rw 7\n"));
  ASSERT_TRUE(console_shows(g, "[1] grant = ")) << console(g);
  auto image = xc().save_domain(g, {}, 10s);
  ASSERT_TRUE(image) << image.error().to_string();
  const std::vector<std::uint8_t> bytes = bytes_of(*image);
  const std::size_t frame = bytes.size() - (8u << 20) + 5 * abi::kPageSize;
  EXPECT_EQ(bytes[frame], 7);
  EXPECT_EQ(bytes[frame + abi::kPageSize / 2], 8) << "the grant page's contents, not the stale frame";
  EXPECT_EQ(bytes[frame + abi::kPageSize - 1], 8);
}

TEST_F(HvSaveRestoreTest, DamagedImagesAreRefusedAndTheHypervisorCarriesOn) {
  const abi::domid_t id = create("victim", kGuestCounter, "10");
  ASSERT_TRUE(console_shows(id, "counter "));
  const std::vector<std::uint8_t> record = {1, 2, 3};
  auto image = xc().save_domain(id, record, 10s);
  ASSERT_TRUE(image) << image.error().to_string();
  const std::vector<std::uint8_t> good = bytes_of(*image);
  const std::size_t domains = domain_count();

  const std::size_t record_at = 64 + 5 * 24;  // shype/save_image.hpp
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> damaged;
  const auto flipped = [&](std::size_t at) {
    std::vector<std::uint8_t> bytes = good;
    bytes[at] ^= 0x5a;
    return bytes;
  };
  damaged.emplace_back("magic", flipped(0));
  damaged.emplace_back("version", flipped(8));
  damaged.emplace_back("image size", flipped(16));
  damaged.emplace_back("digest", flipped(40));
  damaged.emplace_back("section table", flipped(64 + 24 + 8));
  damaged.emplace_back("name", flipped(record_at + 1));
  damaged.emplace_back("memory size", flipped(record_at + 64));
  damaged.emplace_back("label", flipped(record_at + 104));
  damaged.emplace_back("kernel", flipped(record_at + 384 + 2 + 100));
  damaged.emplace_back("memory", flipped(good.size() - 4096 * 100));
  damaged.emplace_back("last byte", flipped(good.size() - 1));
  using Bytes = std::vector<std::uint8_t>;
  damaged.emplace_back("truncated by one", Bytes(good.begin(), good.end() - 1));
  damaged.emplace_back("half",
                       Bytes(good.begin(), good.begin() + static_cast<long>(good.size() / 2)));
  damaged.emplace_back("header only", Bytes(good.begin(), good.begin() + 64));
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  damaged.emplace_back("one byte longer", longer);
  std::vector<std::uint8_t> garbage(good.size(), 0x41);
  damaged.emplace_back("garbage", garbage);

  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    hv::UniqueFd fd = plain_memfd(bytes);
    auto inspected = xc::inspect_save_image(fd.get());
    ASSERT_FALSE(inspected);
    EXPECT_EQ(inspected.error().code, EINVAL) << inspected.error().to_string();
    auto restored = xc().restore_domain(fd.get(), 0);
    ASSERT_FALSE(restored);
    EXPECT_EQ(restored.error().code, EINVAL) << restored.error().to_string();
    EXPECT_NE(restored.error().message.find("image refused"), std::string::npos)
        << restored.error().message;
    ASSERT_TRUE(xc().version()) << "the hypervisor still answers";
    EXPECT_EQ(domain_count(), domains);
  }
  // The raw op: an unsealed descriptor, a size that disagrees.
  hv::UniqueFd unsealed = plain_memfd(good);
  hv::wire::RestoreDomain body;
  body.args.image_size = good.size();
  const int unsealed_fds[] = {unsealed.get()};
  auto raw = xc().call("restore_domain", body, unsealed_fds);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->header.status, -EBADF);
  body.args.image_size = good.size() + 1;
  const int sealed_fds[] = {image->fd.get()};
  raw = xc().call("restore_domain", body, sealed_fds);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->header.status, -EINVAL);

  // The undamaged image still restores.
  auto restored = xc().restore_domain(image->fd.get(), 0);
  ASSERT_TRUE(restored) << restored.error().to_string();
  EXPECT_TRUE(console_shows(*restored, "counter: resumed at "));
}

}  // namespace
}  // namespace shype::testing
