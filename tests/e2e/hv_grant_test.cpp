// Grant tables end to end: guest_granter grants frames from its console
// commands; Domain-0 maps them through libxenctrl (read-write and
// read-only), guests map and copy each other's grants; refusals, the
// policy (mytest: labels that share no STE type), release on close,
// crash and destroy.
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include "acm/binary_policy.hpp"
#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"
#include "hv_mytest.hpp"

namespace shype::testing {
namespace {


// A one-page mapping of a grant descriptor in this process.
class Page {
 public:
  Page(int fd, int prot) {
    void* address = ::mmap(nullptr, abi::kPageSize, prot, MAP_SHARED, fd, 0);
    if (address != MAP_FAILED) bytes_ = static_cast<volatile std::uint8_t*>(address);
  }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  ~Page() {
    // SAFETY: bytes_ is the page mmap returned.
    if (bytes_ != nullptr) ::munmap(const_cast<std::uint8_t*>(bytes_), abi::kPageSize);
  }
  [[nodiscard]] bool valid() const { return bytes_ != nullptr; }
  volatile std::uint8_t& operator[](std::size_t i) { return bytes_[i]; }

 private:
  volatile std::uint8_t* bytes_ = nullptr;
};

class HvGrantTest : public HypervisorTest {
 protected:
  abi::domid_t start_granter(const std::string& name, std::uint32_t ssidref = 0) {
    const abi::domid_t domid = create(name, kGuestGranter, "", ssidref);
    if (domid == 0) return 0;
    EXPECT_TRUE(console_shows(domid, "granter " + std::to_string(domid) + " ready"));
    return domid;
  }

  // Sends "<n> <command>" to the guest and returns what follows " = " on
  // its answer line ("" if none came within 10 s).
  std::string command(abi::domid_t domid, const std::string& text) {
    const std::string id = std::to_string(++commands_);
    EXPECT_TRUE(xc().console_write(domid, id + " " + text + "\n"));
    const std::string tag = "[" + id + "] ";
    std::string answer;
    eventually(
        [&] {
          const std::string all = console(domid);
          const auto at = all.find(tag);
          if (at == std::string::npos) return false;
          const auto end = all.find('\n', at);
          if (end == std::string::npos) return false;
          const std::string line = all.substr(at, end - at);
          const auto equals = line.find(" = ");
          answer = equals == std::string::npos ? line : line.substr(equals + 3);
          return true;
        },
        10s);
    return answer;
  }
  // The first number of the answer.
  long number(abi::domid_t domid, const std::string& text) {
    const std::string answer = command(domid, text);
    std::istringstream in(answer);
    long value = 0x7fffffff;
    in >> value;
    EXPECT_FALSE(in.fail()) << text << " answered '" << answer << "'";
    return value;
  }
  std::vector<long> numbers(abi::domid_t domid, const std::string& text) {
    std::istringstream in(command(domid, text));
    std::vector<long> values;
    long value = 0;
    while (in >> value)
      values.push_back(value);
    return values;
  }

  // A raw grant_table_op from Domain-0; returns the response status.
  std::int32_t raw_status(const hv::wire::Body& body) {
    auto message = xc().call("grant_table_op", body);
    EXPECT_TRUE(message) << message.error().to_string();
    return message ? message->header.status : 0;
  }

  unsigned commands_ = 0;
};

constexpr int kBadDomain = -abi::kGntstBadDomain;
constexpr int kBadGntref = -abi::kGntstBadGntref;
constexpr int kBadHandle = -abi::kGntstBadHandle;
constexpr int kPermissionDenied = -abi::kGntstPermissionDenied;

TEST_F(HvGrantTest, DomainZeroMapsAGrantAndBothSeeEachOthersWrites) {
  const abi::domid_t g = start_granter("granter");
  ASSERT_NE(g, 0);
  const long ref = number(g, "grant 0 3 rw 65");
  ASSERT_GE(ref, 0);
  EXPECT_EQ(numbers(g, "query"), (std::vector<long>{0, 1, abi::kMaxGrantsPerDomain}));

  auto mapped = xc().map_grant(g, static_cast<abi::grant_ref_t>(ref), false);
  ASSERT_TRUE(mapped) << mapped.error().to_string();
  EXPECT_FALSE(mapped->readonly);
  Page page(mapped->fd.get(), PROT_READ | PROT_WRITE);
  ASSERT_TRUE(page.valid()) << std::strerror(errno);
  // The contents from before the grant, and the guest's writes after it.
  EXPECT_EQ(page[0], 65);
  EXPECT_EQ(page[2047], 65);
  EXPECT_EQ(page[2048], 66);
  EXPECT_EQ(page[4095], 66);

  page[100] = 0x99;
  EXPECT_EQ(number(g, "peek 3 100"), 0x99) << "the guest sees Domain-0's write";
  EXPECT_EQ(number(g, "poke 3 200 7"), 0);
  EXPECT_EQ(page[200], 7) << "Domain-0 sees the guest's write";

  EXPECT_EQ(number(g, "end " + std::to_string(ref)), -EBUSY) << "mapped grants cannot end";
  ASSERT_TRUE(xc().unmap_grant(*mapped));
  EXPECT_FALSE(mapped->fd) << "unmap closes the descriptor";
  EXPECT_EQ(number(g, "end " + std::to_string(ref)), 0);
  EXPECT_EQ(numbers(g, "query"), (std::vector<long>{0, 0, abi::kMaxGrantsPerDomain}));
  // The page went back into guest memory with everything written to it.
  EXPECT_EQ(number(g, "peek 3 100"), 0x99);
  EXPECT_EQ(number(g, "peek 3 200"), 7);
  EXPECT_EQ(number(g, "peek 3 2048"), 66);
  // Writes through the old mapping no longer reach the guest.
  page[300] = 1;
  EXPECT_EQ(number(g, "peek 3 300"), 65);

  auto again = xc().map_grant(g, static_cast<abi::grant_ref_t>(ref), false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, kBadGntref) << again.error().to_string();
  // The frame can be granted again.
  EXPECT_GE(number(g, "grant 0 3 rw 1"), 0);
}

TEST_F(HvGrantTest, ReadOnlyGrantsAndMapsRefuseWrites) {
  const abi::domid_t g = start_granter("granter");
  const abi::domid_t reader = start_granter("reader");
  ASSERT_NE(g, 0);
  ASSERT_NE(reader, 0);
  const long ref = number(g, "grant 0 5 ro 10");
  ASSERT_GE(ref, 0);

  auto writable = xc().map_grant(g, static_cast<abi::grant_ref_t>(ref), false);
  ASSERT_FALSE(writable);
  EXPECT_EQ(writable.error().code, kPermissionDenied) << writable.error().to_string();

  auto mapped = xc().map_grant(g, static_cast<abi::grant_ref_t>(ref), true);
  ASSERT_TRUE(mapped) << mapped.error().to_string();
  errno = 0;
  EXPECT_EQ(
      ::mmap(nullptr, abi::kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, mapped->fd.get(), 0),
      MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  const std::uint8_t byte = 1;
  EXPECT_EQ(::write(mapped->fd.get(), &byte, 1), -1);
  EXPECT_EQ(errno, EBADF);
  Page page(mapped->fd.get(), PROT_READ);
  ASSERT_TRUE(page.valid());
  EXPECT_EQ(page[0], 10);
  EXPECT_EQ(page[4000], 11);
  EXPECT_EQ(number(g, "poke 5 1 42"), 0) << "the granter still writes its frame";
  EXPECT_EQ(page[1], 42);
  ASSERT_TRUE(xc().unmap_grant(*mapped));

  // A read-write grant mapped read-only by a sandboxed guest: its
  // descriptor refuses PROT_WRITE mappings and write(2) there too.
  const long rw_ref = number(g, "grant " + std::to_string(reader) + " 6 rw 3");
  ASSERT_GE(rw_ref, 0);
  EXPECT_EQ(numbers(reader, "map " + std::to_string(g) + " " + std::to_string(rw_ref) + " ro"),
            (std::vector<long>{0, 0}));
  EXPECT_EQ(numbers(reader, "mapw 0"), (std::vector<long>{-EACCES, -EBADF}));
  EXPECT_EQ(number(reader, "mpeek 0 5"), 3);
  EXPECT_EQ(number(reader, "unmap 0"), 0);
  // A read-only grant to a guest: a writable map is refused there too.
  const long ro_ref = number(g, "grant " + std::to_string(reader) + " 7 ro 4");
  ASSERT_GE(ro_ref, 0);
  EXPECT_EQ(number(reader, "map " + std::to_string(g) + " " + std::to_string(ro_ref) + " rw"),
            -kPermissionDenied);
  EXPECT_EQ(numbers(reader, "map " + std::to_string(g) + " " + std::to_string(ro_ref) + " ro"),
            (std::vector<long>{0, 0}));
  EXPECT_EQ(number(reader, "mpeek 0 4095"), 5);
  EXPECT_EQ(numbers(reader, "mapw 0"), (std::vector<long>{-EACCES, -EBADF}));
}

TEST_F(HvGrantTest, BadFramesRefsAndHandlesAreRefusedAndChangeNothing) {
  const abi::domid_t g = start_granter("granter");
  const abi::domid_t other = start_granter("other");
  ASSERT_NE(g, 0);
  ASSERT_NE(other, 0);
  const std::uint64_t frames = 8u * 1024 * 1024 / abi::kPageSize;
  EXPECT_EQ(number(g, "grant 0 " + std::to_string(frames) + " rw 1"), -EINVAL);
  EXPECT_EQ(number(g, "grant 999 1 rw 1"), -ESRCH);
  EXPECT_EQ(number(g, "grant self 1 rw 1"), -EINVAL) << "granting to itself";
  EXPECT_EQ(number(g, "grant " + std::to_string(g) + " 1 rw 1"), -EINVAL);
  const long ref = number(g, "grant 0 1 rw 1");
  ASSERT_EQ(ref, 0) << "refs are allocated lowest first";
  EXPECT_EQ(number(g, "grant 0 1 rw 1"), -EINVAL) << "a frame is granted once";
  EXPECT_EQ(numbers(g, "query"), (std::vector<long>{0, 1, abi::kMaxGrantsPerDomain}));
  EXPECT_EQ(number(g, "end 5"), -EINVAL);

  // Domain-0: unknown domain, unknown ref, a grant for someone else.
  auto bad_domain = xc().map_grant(999, 0, true);
  ASSERT_FALSE(bad_domain);
  EXPECT_EQ(bad_domain.error().code, kBadDomain);
  EXPECT_NE(bad_domain.error().message.find("GNTST_bad_domain"), std::string::npos);
  auto bad_ref = xc().map_grant(g, 7, true);
  ASSERT_FALSE(bad_ref);
  EXPECT_EQ(bad_ref.error().code, kBadGntref);
  EXPECT_EQ(number(other, "map " + std::to_string(g) + " 0 ro"), -kBadGntref)
      << "the grant is Domain-0's, not other's";
  EXPECT_EQ(number(other, "unmap 3"), -kBadHandle);

  // Domain-0 cannot grant or end (it has no memory) nor copy to a frame.
  hv::wire::GntGrantAccess grant;
  grant.args.grantee = g;
  EXPECT_EQ(raw_status(grant), -EPERM);
  hv::wire::GntEndAccess end;
  EXPECT_EQ(raw_status(end), -EPERM);
  hv::wire::GntCopy copy;
  copy.args.source.dom = g;
  copy.args.source.ref_or_frame = static_cast<std::uint32_t>(ref);
  copy.args.dest.dom = abi::kDomidSelf;
  copy.args.length = 1;
  EXPECT_EQ(raw_status(copy), -EPERM);
  hv::wire::GntUnmapRef unmap;
  unmap.args.handle = 0;
  EXPECT_EQ(raw_status(unmap), abi::kGntstBadHandle);

  // Another connection's handle is not this connection's to unmap.
  auto mapped = xc().map_grant(g, static_cast<abi::grant_ref_t>(ref), false);
  ASSERT_TRUE(mapped) << mapped.error().to_string();
  auto second = xc::Connection::open(root_, 10s);
  ASSERT_TRUE(second);
  hv::wire::GntUnmapRef theirs;
  theirs.args.handle = mapped->handle;
  auto refused = second->call("grant_table_op", theirs);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->header.status, abi::kGntstBadHandle);
  EXPECT_EQ(number(g, "end 0"), -EBUSY) << "the mapping survived the refused unmap";
  EXPECT_TRUE(xc().unmap_grant(*mapped));
  EXPECT_EQ(number(g, "end 0"), 0);
}

TEST_F(HvGrantTest, GrantCopyBetweenGrantsAndFrames) {
  const abi::domid_t g = start_granter("granter");
  const abi::domid_t peer = start_granter("peer");
  ASSERT_NE(g, 0);
  ASSERT_NE(peer, 0);
  const std::string gs = std::to_string(g);
  const long ref = number(g, "grant " + std::to_string(peer) + " 4 rw 20");
  ASSERT_GE(ref, 0);
  const std::string rs = std::to_string(ref);
  // Grant -> own frame, own frame -> grant.
  EXPECT_EQ(number(peer, "copy " + gs + " " + rs + " 2046 self 7 0 4"), 0);
  EXPECT_EQ(number(peer, "peek 7 1"), 20);
  EXPECT_EQ(number(peer, "peek 7 2"), 21);
  EXPECT_EQ(number(peer, "poke 7 0 99"), 0);
  EXPECT_EQ(number(peer, "copy self 7 0 " + gs + " " + rs + " 10 1"), 0);
  EXPECT_EQ(number(g, "peek 4 10"), 99);
  // Refusals: a read-only grant as destination, a bad ref, a bad domain,
  // a frame beyond memory.
  const long ro = number(g, "grant " + std::to_string(peer) + " 5 ro 30");
  ASSERT_GE(ro, 0);
  EXPECT_EQ(number(peer, "copy self 7 0 " + gs + " " + std::to_string(ro) + " 0 1"),
            -kPermissionDenied);
  EXPECT_EQ(number(g, "peek 5 0"), 30);
  EXPECT_EQ(number(peer, "copy " + gs + " " + std::to_string(ro) + " 0 self 8 0 1"), 0);
  EXPECT_EQ(number(peer, "peek 8 0"), 30);
  EXPECT_EQ(number(peer, "copy " + gs + " 900 0 self 7 0 1"), -kBadGntref);
  EXPECT_EQ(number(peer, "copy 999 0 0 self 7 0 1"), -kBadDomain);
  EXPECT_EQ(number(peer, "copy " + gs + " " + rs + " 0 self 99999 0 1"), -EINVAL);
  EXPECT_EQ(number(g, "copy self 4 0 self 9 0 8"), 0) << "within one's own memory";
  EXPECT_EQ(number(g, "peek 9 0"), 20);

  // Domain-0: between two grants to it.
  const long a = number(g, "grant 0 11 ro 50");
  const long b = number(g, "grant 0 12 rw 60");
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  abi::GntCopy request{};
  request.source.dom = g;
  request.source.ref_or_frame = static_cast<std::uint32_t>(a);
  request.source.offset = 4000;
  request.dest.dom = g;
  request.dest.ref_or_frame = static_cast<std::uint32_t>(b);
  request.dest.offset = 8;
  request.length = 2;
  ASSERT_TRUE(xc().copy_grant(request));
  EXPECT_EQ(number(g, "peek 12 8"), 51);
  EXPECT_EQ(number(g, "peek 12 10"), 60);
  std::swap(request.source, request.dest);
  auto refused = xc().copy_grant(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, kPermissionDenied);
  auto size = xc().query_grants();
  ASSERT_TRUE(size);
  EXPECT_EQ(size->grants, 0u);
  EXPECT_EQ(size->max_grants, abi::kMaxGrantsPerDomain);
}

TEST_F(HvGrantTest, MappingsGoWithTheirConnectionTheGranteeAndTheGranter) {
  const abi::domid_t g = start_granter("granter");
  ASSERT_NE(g, 0);
  // A closing connection drops its mappings.
  const long ref = number(g, "grant 0 2 rw 5");
  ASSERT_GE(ref, 0);
  {
    auto second = xc::Connection::open(root_, 10s);
    ASSERT_TRUE(second);
    auto mapped = second->map_grant(g, static_cast<abi::grant_ref_t>(ref), false);
    ASSERT_TRUE(mapped) << mapped.error().to_string();
    EXPECT_EQ(number(g, "end " + std::to_string(ref)), -EBUSY);
  }
  EXPECT_TRUE(eventually([&] { return number(g, "end " + std::to_string(ref)) == 0; }, 5s));

  // A destroyed grantee drops its mappings.
  const abi::domid_t grantee = start_granter("grantee");
  ASSERT_NE(grantee, 0);
  const long to_grantee = number(g, "grant " + std::to_string(grantee) + " 3 rw 6");
  ASSERT_GE(to_grantee, 0);
  EXPECT_EQ(numbers(grantee, "map " + std::to_string(g) + " " + std::to_string(to_grantee) + " rw"),
            (std::vector<long>{0, 0}));
  EXPECT_EQ(number(g, "end " + std::to_string(to_grantee)), -EBUSY);
  ASSERT_TRUE(xc().destroy_domain(grantee));
  EXPECT_EQ(number(g, "end " + std::to_string(to_grantee)), 0);

  // A destroyed granter's grants are gone; mappings keep their page.
  const abi::domid_t survivor = start_granter("survivor");
  ASSERT_NE(survivor, 0);
  const long to_dom0 = number(g, "grant 0 4 rw 7");
  const long to_survivor = number(g, "grant " + std::to_string(survivor) + " 5 rw 8");
  ASSERT_GE(to_dom0, 0);
  ASSERT_GE(to_survivor, 0);
  auto mapped = xc().map_grant(g, static_cast<abi::grant_ref_t>(to_dom0), false);
  ASSERT_TRUE(mapped) << mapped.error().to_string();
  EXPECT_EQ(
      numbers(survivor, "map " + std::to_string(g) + " " + std::to_string(to_survivor) + " rw"),
      (std::vector<long>{0, 0}));
  ASSERT_TRUE(xc().destroy_domain(g));
  Page page(mapped->fd.get(), PROT_READ | PROT_WRITE);
  ASSERT_TRUE(page.valid());
  EXPECT_EQ(page[0], 7);
  auto again = xc().map_grant(g, static_cast<abi::grant_ref_t>(to_dom0), false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, kBadDomain);
  EXPECT_TRUE(xc().unmap_grant(*mapped)) << "the handle is still ours to unmap";
  EXPECT_EQ(number(survivor, "mpeek 0 0"), 8);
  EXPECT_EQ(number(survivor, "unmap 0"), 0);
  EXPECT_EQ(number(survivor, "unmap 0"), -kBadHandle);
}

// --- the policy ----------------------------------------------------------------

TEST_F(HvGrantTest, ThePolicyDecidesGrantsMapsAndRelabels) {
  auto loaded = xc().set_policy(mytest().compact);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const abi::domid_t bank = start_granter("bank", ssidref_of("A-Bank"));
  const abi::domid_t bank2 = start_granter("bank2", ssidref_of("A-Bank"));
  const abi::domid_t car = start_granter("car", ssidref_of("AutoCorp"));
  ASSERT_NE(bank, 0);
  ASSERT_NE(bank2, 0);
  ASSERT_NE(car, 0);

  // A-Bank and AutoCorp share no STE type: no grant, audited.
  EXPECT_EQ(number(bank, "grant " + std::to_string(car) + " 1 rw 1"), -EACCES);
  EXPECT_EQ(numbers(bank, "query"), (std::vector<long>{0, 0, abi::kMaxGrantsPerDomain}));
  // SystemManagement (Domain-0) shares with A-Bank.
  EXPECT_GE(number(bank, "grant 0 1 rw 1"), 0);

  // A live mapping between the banks holds bank2's label in place.
  const long ref = number(bank, "grant " + std::to_string(bank2) + " 2 rw 2");
  ASSERT_GE(ref, 0);
  const std::string map = "map " + std::to_string(bank) + " " + std::to_string(ref) + " rw";
  EXPECT_EQ(numbers(bank2, map), (std::vector<long>{0, 0}));
  const abi::AcmRelabelEntry entry{bank2, ssidref_of("AutoCorp")};
  auto refused = xc().relabel({&entry, 1});
  ASSERT_FALSE(refused);
  bool violation = false;
  for (const auto& tuple : refused.error().acm_errors) {
    violation = violation || tuple.code == abi::kAcmGnttabSharingViolation;
  }
  EXPECT_TRUE(violation) << refused.error().to_string();
  EXPECT_EQ(number(bank2, "unmap 0"), 0);
  auto relabeled = xc().relabel({&entry, 1});
  ASSERT_TRUE(relabeled) << relabeled.error().to_string();
  // Now AutoCorp: the grant is still there, but mapping it is refused.
  EXPECT_EQ(number(bank2, map), -EACCES);
  EXPECT_EQ(
      number(bank2, "copy " + std::to_string(bank) + " " + std::to_string(ref) + " 0 self 3 0 1"),
      -EACCES);

  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  std::set<std::string> denied;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record["decision"] == "deny") denied.insert(record["hook"].get<std::string>());
  }
  EXPECT_TRUE(denied.count("grant_setup")) << audit->records.size() << " records";
  EXPECT_TRUE(denied.count("grant_map"));
  EXPECT_TRUE(denied.count("grant_copy"));
}

}  // namespace
}  // namespace shype::testing
