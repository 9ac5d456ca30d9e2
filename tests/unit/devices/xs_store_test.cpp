// xenstore's semantics (toolstack/devices/src/xenstore.cpp).
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "devices/xenstore.hpp"

namespace shype::devices {
namespace {

constexpr abi::domid_t kDom0 = 0;

class XsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.introduce_domain(3, "alice"));
    ASSERT_TRUE(store_.introduce_domain(4, "bob"));
  }
  // A watch whose events land in `events`.
  WatchId watch(abi::domid_t dom, const std::string& path, std::vector<std::string>& events) {
    auto id = store_.watch(dom, store_.new_owner(), path, "tok",
                           [&events](const std::string& p, const std::string& t) {
                             events.push_back(p + "|" + t);
                           });
    EXPECT_TRUE(id) << path;
    return id ? *id : 0;
  }

  Xenstore store_;
};

TEST_F(XsStoreTest, HomeIsOwnedByTheDomainWithNameAndDomid) {
  EXPECT_EQ(store_.read(3, 0, "name").value(), "alice");
  EXPECT_EQ(store_.read(3, 0, "/local/domain/3/domid").value(), "3");
  const XsPerms perms = store_.get_perms(kDom0, 0, "/local/domain/3").value();
  ASSERT_EQ(perms.size(), 1u);
  EXPECT_EQ(format_perm(perms[0]), "n3");
}

TEST_F(XsStoreTest, GuestsCannotReadOrWriteEachOthersHome) {
  EXPECT_EQ(store_.read(4, 0, "/local/domain/3/name").error(), EACCES);
  EXPECT_EQ(store_.write(4, 0, "/local/domain/3/data/x", "1").error(), EACCES);
  EXPECT_EQ(store_.directory(4, 0, "/local/domain/3").error(), EACCES);
  EXPECT_EQ(store_.rm(4, 0, "/local/domain/3/name").error(), EACCES);
  EXPECT_EQ(store_.read(4, 0, "/local/domain/3/none").error(), ENOENT);
  // Nor anything outside their homes.
  EXPECT_EQ(store_.write(3, 0, "/tool/x", "1").error(), EACCES);
  EXPECT_EQ(store_.read(3, 0, "/local/domain").error(), EACCES);
  // Domain-0 may do anything.
  EXPECT_EQ(store_.read(kDom0, 0, "/local/domain/3/name").value(), "alice");
}

TEST_F(XsStoreTest, WritesCreateParentsThatInheritAndAreOwnedByTheWriter) {
  ASSERT_TRUE(store_.write(3, 0, "data/a/b", "v"));
  EXPECT_EQ(store_.read(3, 0, "data/a/b").value(), "v");
  EXPECT_EQ(store_.read(3, 0, "data/a").value(), "");
  EXPECT_EQ(format_perm(store_.get_perms(kDom0, 0, "/local/domain/3/data/a").value()[0]), "n3");
  // Domain-0 writing under a guest's home keeps the guest as owner.
  ASSERT_TRUE(store_.write(kDom0, 0, "/local/domain/3/device/vbd/1/state", "1"));
  EXPECT_EQ(store_.read(3, 0, "device/vbd/1/state").value(), "1");
  // The directory lists children.
  const auto children = store_.directory(3, 0, "data").value();
  EXPECT_EQ(children, std::vector<std::string>{"a"});
}

TEST_F(XsStoreTest, PermissionListsGrantReadAndWriteToNamedDomains) {
  ASSERT_TRUE(store_.write(kDom0, 0, "/shared/x", "1"));
  ASSERT_TRUE(store_.set_perms(kDom0, 0, "/shared/x",
                               XsPerms{{0, XsAccess::none}, {3, XsAccess::read}, {4, XsAccess::both}}));
  EXPECT_EQ(store_.read(3, 0, "/shared/x").value(), "1");
  EXPECT_EQ(store_.write(3, 0, "/shared/x", "2").error(), EACCES);
  EXPECT_TRUE(store_.write(4, 0, "/shared/x", "2"));
  EXPECT_EQ(store_.read(5, 0, "/shared/x").error(), EACCES);
  // Only the owner (or Domain-0) sets permissions; a guest cannot give a node away.
  EXPECT_EQ(store_.set_perms(4, 0, "/shared/x", XsPerms{{4, XsAccess::none}}).error(), EACCES);
  ASSERT_TRUE(store_.write(3, 0, "mine", "1"));
  EXPECT_EQ(store_.set_perms(3, 0, "mine", XsPerms{{4, XsAccess::none}}).error(), EPERM);
  EXPECT_TRUE(store_.set_perms(3, 0, "mine", XsPerms{{3, XsAccess::none}, {4, XsAccess::read}}));
  EXPECT_EQ(store_.read(4, 0, "/local/domain/3/mine").value(), "1");
}

TEST_F(XsStoreTest, PathsAreChecked) {
  EXPECT_EQ(store_.write(3, 0, "a//b", "1").error(), EINVAL);
  EXPECT_EQ(store_.write(3, 0, "a/", "1").error(), EINVAL);
  EXPECT_EQ(store_.write(3, 0, "a b", "1").error(), EINVAL);
  EXPECT_EQ(store_.write(3, 0, "", "1").error(), EINVAL);
  EXPECT_EQ(store_.write(3, 0, std::string(abi::io::kXsPathMax, 'a'), "1").error(), E2BIG);
  EXPECT_EQ(store_.rm(kDom0, 0, "/").error(), EINVAL);
}

TEST_F(XsStoreTest, WatchesFireAtRegistrationAndOnChangesBelow) {
  std::vector<std::string> events;
  watch(3, "data", events);
  ASSERT_EQ(events, std::vector<std::string>{"data|tok"});
  ASSERT_TRUE(store_.write(3, 0, "data/x", "1"));
  ASSERT_TRUE(store_.write(kDom0, 0, "/local/domain/3/other", "1"));  // not below
  ASSERT_TRUE(store_.rm(3, 0, "data"));
  EXPECT_EQ(events, (std::vector<std::string>{"data|tok", "data/x|tok", "data|tok"}));
}

TEST_F(XsStoreTest, WatchesOnlyReportWhatTheWatcherMayRead) {
  std::vector<std::string> events;
  watch(4, "/local/domain/3", events);  // allowed to set, but 3's nodes are not readable
  events.clear();
  ASSERT_TRUE(store_.write(3, 0, "secret", "1"));
  EXPECT_TRUE(events.empty());
  std::vector<std::string> dom0_events;
  watch(kDom0, "/local/domain/3", dom0_events);
  ASSERT_TRUE(store_.write(3, 0, "secret", "2"));
  EXPECT_EQ(dom0_events.back(), "/local/domain/3/secret|tok");
  EXPECT_TRUE(events.empty());
}

TEST_F(XsStoreTest, RemovingAParentFiresWatchesBelowIt) {
  std::vector<std::string> events;
  ASSERT_TRUE(store_.write(3, 0, "a/b/c", "1"));
  watch(3, "/local/domain/3/a/b/c", events);
  events.clear();
  ASSERT_TRUE(store_.rm(3, 0, "a"));
  EXPECT_EQ(events, std::vector<std::string>{"/local/domain/3/a/b/c|tok"});
}

TEST_F(XsStoreTest, ReleaseRemovesTheHomeAndFiresReleaseDomain) {
  std::vector<std::string> events;
  watch(kDom0, "@releaseDomain", events);
  events.clear();
  store_.release_domain(3);
  EXPECT_EQ(events, std::vector<std::string>{"@releaseDomain|tok"});
  EXPECT_EQ(store_.read(kDom0, 0, "/local/domain/3").error(), ENOENT);
  EXPECT_EQ(store_.nodes_owned(3), 0u);
}

TEST_F(XsStoreTest, TransactionsApplyAtCommitOrConflict) {
  const std::uint32_t tx = store_.transaction_start(3).value();
  ASSERT_TRUE(store_.write(3, tx, "t", "in-tx"));
  EXPECT_EQ(store_.read(3, 0, "t").error(), ENOENT);  // not visible outside yet
  EXPECT_EQ(store_.read(3, tx, "t").value(), "in-tx");
  ASSERT_TRUE(store_.transaction_end(3, tx, true));
  EXPECT_EQ(store_.read(3, 0, "t").value(), "in-tx");

  const std::uint32_t conflicting = store_.transaction_start(3).value();
  ASSERT_TRUE(store_.write(3, conflicting, "t", "mine"));
  ASSERT_TRUE(store_.write(kDom0, 0, "/local/domain/3/t", "theirs"));
  EXPECT_EQ(store_.transaction_end(3, conflicting, true).error(), EAGAIN);
  EXPECT_EQ(store_.read(3, 0, "t").value(), "theirs");

  const std::uint32_t aborted = store_.transaction_start(3).value();
  ASSERT_TRUE(store_.write(3, aborted, "t", "never"));
  ASSERT_TRUE(store_.transaction_end(3, aborted, false));
  EXPECT_EQ(store_.read(3, 0, "t").value(), "theirs");
  // Another domain cannot use or end it.
  const std::uint32_t own = store_.transaction_start(3).value();
  EXPECT_EQ(store_.read(4, own, "/local/domain/4/name").error(), ENOENT);
  EXPECT_EQ(store_.transaction_end(4, own, true).error(), ENOENT);
}

TEST_F(XsStoreTest, QuotasBoundWhatAGuestCanTake) {
  XsLimits limits;
  limits.nodes_per_domain = 10;
  limits.watches_per_domain = 2;
  limits.transactions_per_domain = 1;
  limits.value_max = 16;
  Xenstore small(limits);
  ASSERT_TRUE(small.introduce_domain(3, "alice"));  // home, name, domid: 3 nodes
  int created = 0;
  for (int i = 0; i < 20; ++i) {
    if (small.write(3, 0, "n" + std::to_string(i), "x")) {
      ++created;
    } else {
      EXPECT_EQ(small.write(3, 0, "n" + std::to_string(i), "x").error(), ENOSPC);
    }
  }
  EXPECT_EQ(created, 7);
  EXPECT_EQ(small.nodes_owned(3), 10u);
  ASSERT_TRUE(small.rm(3, 0, "n0"));
  EXPECT_TRUE(small.write(3, 0, "again", "x"));
  EXPECT_EQ(small.write(3, 0, "n1", std::string(17, 'v')).error(), E2BIG);
  auto sink = [](const std::string&, const std::string&) {};
  const std::uint64_t owner = small.new_owner();
  EXPECT_TRUE(small.watch(3, owner, "a", "1", sink));
  EXPECT_EQ(small.watch(3, owner, "a", "1", sink).error(), EEXIST);
  EXPECT_TRUE(small.watch(3, owner, "b", "1", sink));
  EXPECT_EQ(small.watch(3, owner, "c", "1", sink).error(), E2BIG);
  EXPECT_TRUE(small.transaction_start(3));
  EXPECT_EQ(small.transaction_start(3).error(), ENOSPC);
  small.forget_owner(owner);
  EXPECT_EQ(small.watch_count(), 0u);
}

TEST(XsPermTest, FormatAndParseRoundTrip) {
  for (const char* text : {"n0", "r5", "w65535", "b12"}) {
    auto perm = parse_perm(text);
    ASSERT_TRUE(perm) << text;
    EXPECT_EQ(format_perm(*perm), text);
  }
  for (const char* bad : {"", "x1", "r", "r65536", "r-1", "r1a"}) {
    EXPECT_FALSE(parse_perm(bad)) << bad;
  }
}

TEST(XsStoreClientTest, CallbacksRunAfterTheOperationThroughPost) {
  Xenstore store;
  std::vector<std::function<void()>> posted;
  auto client = make_store_client(store, [&](std::function<void()> fn) { posted.push_back(fn); });
  std::vector<std::string> seen;
  const WatchId id = client->watch("/backend", [&](const std::string& p) { seen.push_back(p); });
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client->write("/backend/vbd/3/0/state", "1"));
  EXPECT_TRUE(seen.empty());
  for (auto& fn : posted) fn();
  EXPECT_EQ(seen, (std::vector<std::string>{"/backend", "/backend/vbd/3/0/state"}));
  posted.clear();
  seen.clear();
  ASSERT_TRUE(client->write("/backend/x", "1"));
  client->unwatch(id);
  for (auto& fn : posted) fn();
  EXPECT_TRUE(seen.empty());  // unwatched before it ran
}

}  // namespace
}  // namespace shype::devices
