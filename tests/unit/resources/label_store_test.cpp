#include "resources/label_store.hpp"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "label_xattr.hpp"
#include "temp_root.hpp"

namespace shype::resources {
namespace {

namespace fs = std::filesystem;
using testing::TempRoot;

const ResourceLabel kABank{LabelType::acm, "mytest", "A-Bank"};
const ResourceLabel kBBank{LabelType::acm, "mytest", "B-Bank"};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The raw attribute on a host file, or "" if none.
std::string xattr_of(const fs::path& path) {
  char buf[4096];
  const ssize_t n = ::getxattr(path.c_str(), kLabelXattr, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

class LabelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.write("/home/xen/dom_fc5/fedora.fc5.img", "image");
    root_.write("/home/xen/dom_fc5/fedora.fc5.swap", "swap");
    store_path_ = root_.host("/var/lib/xend/security/policies/resource_labels");
  }

  ResourceName name(std::string_view spec, bool must_exist = false) {
    auto n = canonicalize(fs_, spec, "/", must_exist);
    EXPECT_TRUE(n) << spec << ": " << n.error().message;
    return n ? *n : ResourceName{};
  }
  ResourceLabelStore open_store() {
    auto store = ResourceLabelStore::open(store_path_, fs_);
    EXPECT_TRUE(store) << store.error().to_string();
    return std::move(*store);
  }
  std::optional<ResourceLabel> get(ResourceLabelStore& store, std::string_view spec) {
    auto label = store.get(name(spec, true));
    EXPECT_TRUE(label) << label.error().to_string();
    return label ? *label : std::nullopt;
  }
  std::vector<std::string> keys(const ResourceLabelStore& store) {
    std::vector<std::string> out;
    for (const auto& e : store.list())
      out.push_back(e.resource.to_string() + " " + e.label.to_string());
    return out;
  }
  std::string open_error() {
    auto store = ResourceLabelStore::open(store_path_, fs_);
    return store ? std::string("opened") : store.error().to_string();
  }
  void write_store(std::string_view text) {
    fs::create_directories(store_path_.parent_path());
    std::ofstream(store_path_, std::ios::binary | std::ios::trunc) << text;
  }

  TempRoot root_;
  RootFs fs_{root_.dir()};
  fs::path store_path_;
};

TEST_F(LabelStoreTest, MissingFileIsAnEmptyStoreAndDirectoriesAreMade) {
  auto store = open_store();
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(get(store, "file:/home/xen/dom_fc5/fedora.fc5.img"));
  struct stat st {};
  ASSERT_EQ(::stat(store_path_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(store_path_));  // nothing written until a change
}

TEST_F(LabelStoreTest, SetGetRemoveAndListAsInTheManual) {
  {
    auto store = open_store();
    // manual 10.2.5 (7)
    ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
    ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.swap"), kABank));
    ASSERT_TRUE(store.set(name("vlan:12"), kBBank));
    ASSERT_TRUE(store.set(name("phy:hda6"), ResourceLabel::inaccessible()));
    EXPECT_EQ(get(store, "file:/home/xen/dom_fc5/fedora.fc5.img"), kABank);
  }
  auto store = open_store();  // durable: a new process sees it
  EXPECT_EQ(keys(store), (std::vector<std::string>{
                             "file:/home/xen/dom_fc5/fedora.fc5.img ACM:mytest:A-Bank",
                             "file:/home/xen/dom_fc5/fedora.fc5.swap ACM:mytest:A-Bank",
                             "phy:/dev/hda6 ACM:*:__INACCESSIBLE__",
                             "vlan:12 ACM:mytest:B-Bank",
                         }));
  // manual 10.2.6 Test 2: rmlabel, then addlabel B-Bank.
  const auto swap = name("file:/home/xen/dom_fc5/fedora.fc5.swap");
  ASSERT_TRUE(store.remove(swap));
  auto again = store.remove(swap);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found);
  EXPECT_EQ(again.error().message, "Resource not labeled");
  ASSERT_TRUE(store.set(swap, kBBank));
  EXPECT_EQ(get(store, "file:/home/xen/dom_fc5/fedora.fc5.swap"), kBBank);
  EXPECT_EQ(store.list().size(), 4u);
}

TEST_F(LabelStoreTest, FileFormatIsVersionedJson) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("vlan:12"), kBBank));
  const std::string text = slurp(store_path_);
  EXPECT_EQ(
      text.rfind(
          "{\n  \"format\": \"shype-resource-labels\",\n  \"version\": 1,\n  \"resources\": {\n    \"vlan:12\": {\n      \"type\": \"ACM\",\n      \"policy\": \"mytest\",\n      \"label\": \"B-Bank\",\n      \"id\": \"",
          0),
      0u)
      << text;
  EXPECT_EQ(text.back(), '\n');
  struct stat st {};
  ASSERT_EQ(::stat(store_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LabelStoreTest, ExpectedOldLabelIsCompared) {
  auto store = open_store();
  const auto img = name("file:/home/xen/dom_fc5/fedora.fc5.img");
  auto unlabeled = store.set(img, kBBank, kABank);
  ASSERT_FALSE(unlabeled);
  EXPECT_EQ(unlabeled.error().code, Errc::update_rejected);
  EXPECT_EQ(unlabeled.error().message,
            "Resource 'file:/home/xen/dom_fc5/fedora.fc5.img' is not labeled");
  ASSERT_TRUE(store.set(img, kABank));
  auto stale = store.set(img, kABank, kBBank);
  ASSERT_FALSE(stale);
  EXPECT_EQ(
      stale.error().message,
      "Resource 'file:/home/xen/dom_fc5/fedora.fc5.img' is labeled with 'ACM:mytest:A-Bank', not 'ACM:mytest:B-Bank'");
  ASSERT_TRUE(store.set(img, kBBank, kABank));
  EXPECT_EQ(get(store, "file:/home/xen/dom_fc5/fedora.fc5.img"), kBBank);
}

TEST_F(LabelStoreTest, MalformedLabelsAndNamesAreRefused) {
  auto store = open_store();
  auto bad = store.set(name("vlan:3"), ResourceLabel{LabelType::acm, "", "A"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  auto relative = store.set(ResourceName{"file", "", "x.img"}, kABank);
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().message, "'file:x.img' is not a canonical resource name");
  auto utf8 = store.set(ResourceName{"file", "", "/bad\xff.img"}, kABank);
  ASSERT_FALSE(utf8);
  EXPECT_EQ(utf8.error().message,
            "cannot store the label of 'file:/bad\xff.img': names must be valid UTF-8");
  EXPECT_TRUE(store.list().empty());
}

TEST_F(LabelStoreTest, CorruptFilesAreErrorsNamingTheFile) {
  const std::string file = store_path_.string();
  write_store(
      "{\n  \"format\": \"shype-resource-labels\",\n  \"version\": 1,\n  \"resources\": {\n    \"vlan:12\": {\"type\": \"ACM\"");
  const std::string truncated = open_error();
  EXPECT_EQ(truncated.rfind(
                "resource label store '" + file + "' is not valid JSON at line 5, column ", 0),
            0u)
      << truncated;
  EXPECT_NE(truncated.find("(byte "), std::string::npos) << truncated;

  write_store("resources = {\n    'file:/x.img': ('ACM', 'mytest', 'A-Bank'),\n}\n");
  EXPECT_EQ(open_error().rfind("resource label store '" + file +
                                   "' is not valid JSON at line 1, column 1 (byte 1): ",
                               0),
            0u)
      << open_error();

  write_store("");
  EXPECT_NE(open_error().find("is not valid JSON"), std::string::npos);

  write_store("[]");
  EXPECT_EQ(open_error(), "resource label store '" + file + "' is not a JSON object");

  write_store(R"({"format": "other", "version": 1, "resources": {}})");
  EXPECT_EQ(
      open_error(),
      "resource label store '" + file +
          "' is not a shype resource label file (its \"format\" is not \"shype-resource-labels\")");

  write_store(R"({"format": "shype-resource-labels", "version": 2, "resources": {}})");
  EXPECT_EQ(open_error(),
            "resource label store '" + file + "' has version 2; this build reads version 1");

  write_store(R"({"format": "shype-resource-labels", "version": 1})");
  EXPECT_EQ(open_error(), "resource label store '" + file + "' has no \"resources\" object");

  write_store(R"({"format": "shype-resource-labels", "version": 1, "resources": {}, "extra": 1})");
  EXPECT_EQ(open_error(), "resource label store '" + file + "' has the unexpected field 'extra'");

  const std::string id = "0123456789abcdef0123456789abcdef";
  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:12": {"type": "FOO", "policy": "p", "label": "l", "id": ")" +
      id + "\"}}}");
  EXPECT_EQ(open_error(), "resource label store '" + file +
                              "': entry 'vlan:12': unknown policy type 'FOO' (ACM or INV_ACM)");

  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:012": {"type": "ACM", "policy": "p", "label": "l", "id": ")" +
      id + "\"}}}");
  EXPECT_EQ(open_error(),
            "resource label store '" + file + "': entry 'vlan:012': not a canonical resource name");

  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:1": {"type": "ACM", "policy": "p", "label": "l", "id": "xyz"}}})");
  EXPECT_EQ(open_error(), "resource label store '" + file +
                              "': entry 'vlan:1': id 'xyz' is not 32 lowercase hex digits");

  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:1": {"type": "ACM", "policy": "p", "label": "l"}}})");
  EXPECT_EQ(open_error(),
            "resource label store '" + file +
                "': entry 'vlan:1': needs the string fields type, policy, label and id");

  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:1": {"type": "ACM", "policy": "p", "label": "a:b", "id": ")" +
      id + "\"}}}");
  EXPECT_EQ(
      open_error(),
      "resource label store '" + file +
          "': entry 'vlan:1': Resource label 'ACM:p:a:b' has a ':' in its policy or label name");

  write_store(
      R"({"format": "shype-resource-labels", "version": 1, "resources": {"vlan:1": {"type": "ACM", "policy": "p", "label": "l", "id": ")" +
      id + R"("}, "vlan:2": {"type": "ACM", "policy": "p", "label": "l", "id": ")" + id + "\"}}}");
  EXPECT_EQ(open_error(), "resource label store '" + file + "': entry 'vlan:2': id " + id +
                              " is used by another entry");

  // Never silently empty: the damaged file is still there, untouched.
  EXPECT_NE(slurp(store_path_).find("vlan:2"), std::string::npos);
}

TEST_F(LabelStoreTest, UnreadableStoreIsAnError) {
  fs::create_directories(store_path_);  // a directory where the file should be
  const std::string message = open_error();
  EXPECT_EQ(message, "cannot read resource label store '" + store_path_.string() +
                         "': cannot read '" + store_path_.string() + "': not a regular file");
}

TEST_F(LabelStoreTest, SecondWriterIsLockedOut) {
  auto first = open_store();
  auto second = ResourceLabelStore::open(store_path_, fs_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::io_error);
  EXPECT_EQ(second.error().message, "resource label store '" + store_path_.string() +
                                        "' is locked by another process (lock file '" +
                                        store_path_.string() + ".lock'); is another xend running?");
  { auto moved = std::move(first); }  // the moved-to object releases the lock
  EXPECT_EQ(open_error(), "opened");
}

TEST_F(LabelStoreTest, StaleTemporariesAreRemovedOnOpen) {
  fs::create_directories(store_path_.parent_path());
  const fs::path stale = store_path_.string() + ".tmp.123.456";
  std::ofstream(stale) << "half a file";
  auto store = open_store();
  EXPECT_FALSE(fs::exists(stale));
}

TEST_F(LabelStoreTest, ApplyIsAllOrNothing) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("vlan:1"), kABank));
  ASSERT_TRUE(store.set(name("vlan:2"), kABank));
  const std::string before = slurp(store_path_);

  const std::vector<Change> failing{
      Change{name("vlan:1"), kABank.invalidated(), kABank},
      Change{name("vlan:3"), std::nullopt, std::nullopt},  // not labeled
  };
  auto refused = store.apply(failing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::not_found);
  EXPECT_EQ(refused.error().message, "Resource 'vlan:3' is not labeled");
  EXPECT_EQ(slurp(store_path_), before);
  EXPECT_EQ(get(store, "vlan:1"), kABank);

  auto twice = store.apply({Change{name("vlan:1"), kBBank, std::nullopt},
                            Change{name("vlan:1"), std::nullopt, std::nullopt}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "Resource 'vlan:1' appears twice in one batch");

  auto stale = store.apply({Change{name("vlan:2"), kBBank, kBBank}});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().message,
            "Resource 'vlan:2' is labeled with 'ACM:mytest:A-Bank', not 'ACM:mytest:B-Bank'");
  EXPECT_EQ(slurp(store_path_), before);

  ASSERT_TRUE(store.apply({Change{name("vlan:1"), kABank.invalidated(), kABank},
                           Change{name("vlan:2"), std::nullopt, kABank},
                           Change{name("vlan:3"), kBBank, std::nullopt}}));
  const std::vector<std::string> expected{"vlan:1 INV_ACM:mytest:A-Bank",
                                          "vlan:3 ACM:mytest:B-Bank"};
  EXPECT_EQ(keys(store), expected);
  { auto closing = std::move(store); }
  EXPECT_EQ(keys(open_store()), expected);
}

// ---- labels travel with files --------------------------------------------

class LabelXattrTest : public LabelStoreTest {
 protected:
  std::optional<detail::XattrLabel> attr(std::string_view in_root) {
    return detail::decode_xattr(xattr_of(root_.host(in_root)));
  }
  std::string id_of(const ResourceLabelStore& store, std::string_view resource) {
    for (const auto& e : store.list())
      if (e.resource.to_string() == resource) return e.id;
    return "";
  }
};

TEST_F(LabelXattrTest, SetWritesTheAttributeAndRemoveClearsIt) {
  auto store = open_store();
  const auto img = name("file:/home/xen/dom_fc5/fedora.fc5.img");
  ASSERT_TRUE(store.set(img, kABank));
  auto a = attr("/home/xen/dom_fc5/fedora.fc5.img");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->label, "ACM:mytest:A-Bank");
  EXPECT_EQ(a->id, id_of(store, "file:/home/xen/dom_fc5/fedora.fc5.img"));

  // Relabeling keeps the id and refreshes the label text.
  ASSERT_TRUE(store.set(img, kBBank));
  auto b = attr("/home/xen/dom_fc5/fedora.fc5.img");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->label, "ACM:mytest:B-Bank");

  ASSERT_TRUE(store.remove(img));
  EXPECT_EQ(xattr_of(root_.host("/home/xen/dom_fc5/fedora.fc5.img")), "");
}

TEST_F(LabelXattrTest, MovedFileKeepsItsLabelAndTheEntryFollows) {
  {
    auto store = open_store();
    ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
  }
  // manual 10.2.5: "if a labeled resource is moved to another location, the
  // label must first be manually removed ..." - not any more.
  root_.mkdirs("/srv/images");
  fs::rename(root_.host("/home/xen/dom_fc5/fedora.fc5.img"), root_.host("/srv/images/domain1.img"));
  {
    auto store = open_store();
    EXPECT_EQ(get(store, "file:/srv/images/domain1.img"), kABank);
    EXPECT_EQ(keys(store),
              (std::vector<std::string>{"file:/srv/images/domain1.img ACM:mytest:A-Bank"}));
  }
  auto store = open_store();  // the re-keying was durable
  EXPECT_EQ(keys(store),
            (std::vector<std::string>{"file:/srv/images/domain1.img ACM:mytest:A-Bank"}));
  auto old_name = store.get(name("file:/home/xen/dom_fc5/fedora.fc5.img"));
  ASSERT_TRUE(old_name);
  EXPECT_FALSE(*old_name);
}

TEST_F(LabelXattrTest, OperationsOnAMovedFileActOnItsEntry) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.swap"), kABank));
  fs::rename(root_.host("/home/xen/dom_fc5/fedora.fc5.img"), root_.host("/home/xen/img2"));
  fs::rename(root_.host("/home/xen/dom_fc5/fedora.fc5.swap"), root_.host("/home/xen/swap2"));

  // Relabel through the new name: one entry, re-keyed and relabeled.
  ASSERT_TRUE(store.set(name("file:/home/xen/img2"), kBBank, kABank));
  // Remove through the new name.
  ASSERT_TRUE(store.remove(name("file:/home/xen/swap2")));
  EXPECT_EQ(keys(store), (std::vector<std::string>{"file:/home/xen/img2 ACM:mytest:B-Bank"}));
  EXPECT_EQ(attr("/home/xen/img2")->label, "ACM:mytest:B-Bank");
  EXPECT_EQ(xattr_of(root_.host("/home/xen/swap2")), "");
}

TEST_F(LabelXattrTest, ACopyKeepsTheLabelUnderItsOwnEntry) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
  // cp -a: the data and the extended attributes.
  fs::copy_file(root_.host("/home/xen/dom_fc5/fedora.fc5.img"), root_.host("/home/xen/copy.img"));
  const std::string raw = xattr_of(root_.host("/home/xen/dom_fc5/fedora.fc5.img"));
  ASSERT_EQ(
      ::setxattr(root_.host("/home/xen/copy.img").c_str(), kLabelXattr, raw.data(), raw.size(), 0),
      0);

  EXPECT_EQ(get(store, "file:/home/xen/copy.img"), kABank);
  EXPECT_EQ(keys(store),
            (std::vector<std::string>{"file:/home/xen/copy.img ACM:mytest:A-Bank",
                                      "file:/home/xen/dom_fc5/fedora.fc5.img ACM:mytest:A-Bank"}));
  const std::string copy_id = id_of(store, "file:/home/xen/copy.img");
  EXPECT_NE(copy_id, id_of(store, "file:/home/xen/dom_fc5/fedora.fc5.img"));
  EXPECT_EQ(attr("/home/xen/copy.img")->id, copy_id);

  // Each now moves on its own.
  fs::rename(root_.host("/home/xen/copy.img"), root_.host("/home/xen/copy2.img"));
  EXPECT_EQ(get(store, "file:/home/xen/copy2.img"), kABank);
  EXPECT_EQ(get(store, "file:/home/xen/dom_fc5/fedora.fc5.img"), kABank);
  EXPECT_EQ(store.list().size(), 2u);
}

TEST_F(LabelXattrTest, RemovingACopysInheritedLabelClearsOnlyTheCopy) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
  fs::copy_file(root_.host("/home/xen/dom_fc5/fedora.fc5.img"), root_.host("/home/xen/copy.img"));
  const std::string raw = xattr_of(root_.host("/home/xen/dom_fc5/fedora.fc5.img"));
  ASSERT_EQ(
      ::setxattr(root_.host("/home/xen/copy.img").c_str(), kLabelXattr, raw.data(), raw.size(), 0),
      0);
  ASSERT_TRUE(store.remove(name("file:/home/xen/copy.img")));
  EXPECT_FALSE(get(store, "file:/home/xen/copy.img"));
  EXPECT_EQ(get(store, "file:/home/xen/dom_fc5/fedora.fc5.img"), kABank);
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_F(LabelXattrTest, AHardLinkSharesTheEntry) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.img"), kABank));
  fs::create_hard_link(root_.host("/home/xen/dom_fc5/fedora.fc5.img"),
                       root_.host("/home/xen/link.img"));
  EXPECT_EQ(get(store, "file:/home/xen/link.img"), kABank);
  EXPECT_EQ(store.list().size(), 1u);
  // One file, one label: relabeling through either name changes the entry.
  ASSERT_TRUE(store.set(name("file:/home/xen/link.img"), kBBank));
  EXPECT_EQ(keys(store),
            (std::vector<std::string>{"file:/home/xen/dom_fc5/fedora.fc5.img ACM:mytest:B-Bank"}));
  ASSERT_TRUE(store.remove(name("file:/home/xen/link.img")));
  EXPECT_TRUE(store.list().empty());
  EXPECT_EQ(xattr_of(root_.host("/home/xen/dom_fc5/fedora.fc5.img")), "");
}

TEST_F(LabelXattrTest, TheStoreIsAuthoritative) {
  auto store = open_store();
  const auto img = name("file:/home/xen/dom_fc5/fedora.fc5.img");
  ASSERT_TRUE(store.set(img, kABank));
  // Someone edits the attribute's label text: the store's label wins and
  // the attribute is put right.
  const std::string id = id_of(store, img.to_string());
  const std::string forged = detail::encode_xattr({id, "ACM:mytest:B-Bank"});
  ASSERT_EQ(::setxattr(root_.host(img.path).c_str(), kLabelXattr, forged.data(), forged.size(), 0),
            0);
  EXPECT_EQ(get(store, img.to_string()), kABank);
  EXPECT_EQ(attr(img.path)->label, "ACM:mytest:A-Bank");

  // An id the store does not know labels nothing.
  const std::string foreign =
      detail::encode_xattr({"ffffffffffffffffffffffffffffffff", "ACM:mytest:B-Bank"});
  ASSERT_EQ(::setxattr(root_.host("/home/xen/dom_fc5/fedora.fc5.swap").c_str(), kLabelXattr,
                       foreign.data(), foreign.size(), 0),
            0);
  EXPECT_FALSE(get(store, "file:/home/xen/dom_fc5/fedora.fc5.swap"));

  // After rmlabel the moved file's stale attribute is ignored too.
  ASSERT_TRUE(store.set(name("file:/home/xen/dom_fc5/fedora.fc5.swap"), kBBank));
  fs::rename(root_.host("/home/xen/dom_fc5/fedora.fc5.swap"), root_.host("/home/xen/swap.moved"));
  ASSERT_TRUE(store.remove(name("file:/home/xen/dom_fc5/fedora.fc5.swap")));
  EXPECT_FALSE(get(store, "file:/home/xen/swap.moved"));
}

TEST_F(LabelXattrTest, LabelSetBeforeTheFileExistsIsMirroredLater) {
  auto store = open_store();
  ASSERT_TRUE(store.set(name("file:/home/xen/later.img"), kABank));  // Xen: existence not required
  root_.write("/home/xen/later.img", "now it exists");
  EXPECT_EQ(get(store, "file:/home/xen/later.img"), kABank);
  EXPECT_TRUE(attr("/home/xen/later.img"));
  fs::rename(root_.host("/home/xen/later.img"), root_.host("/home/xen/moved.img"));
  EXPECT_EQ(get(store, "file:/home/xen/moved.img"), kABank);
}

TEST_F(LabelXattrTest, ApplyRefreshesAttributes) {
  auto store = open_store();
  const auto img = name("file:/home/xen/dom_fc5/fedora.fc5.img");
  const auto swap = name("file:/home/xen/dom_fc5/fedora.fc5.swap");
  ASSERT_TRUE(store.set(img, kABank));
  ASSERT_TRUE(store.set(swap, kABank));
  ASSERT_TRUE(
      store.apply({Change{img, kABank.invalidated(), kABank}, Change{swap, std::nullopt, kABank}}));
  EXPECT_EQ(attr(img.path)->label, "INV_ACM:mytest:A-Bank");
  EXPECT_EQ(xattr_of(root_.host(swap.path)), "");
}

TEST_F(LabelXattrTest, SymlinkedDeviceNamesAreFoundAsXenFoundThem) {
  root_.mkdirs("/dev/mapper");
  if (!root_.block_device("/dev/dm-3", 253, 3)) GTEST_SKIP() << "mknod refused";
  root_.symlink("../dm-3", "/dev/mapper/vg-lv");
  auto store = open_store();
  ASSERT_TRUE(store.set(name("phy:mapper/vg-lv"), kABank));   // labeled by its stable name
  const auto resolved = name("phy:/dev/mapper/vg-lv", true);  // as a domain start sees it
  EXPECT_EQ(resolved.to_string(), "phy:/dev/dm-3");
  auto label = store.get(resolved);
  ASSERT_TRUE(label);
  EXPECT_EQ(*label, kABank);
  ASSERT_TRUE(store.remove(resolved));
  EXPECT_TRUE(store.list().empty());
}

// A file system without user extended attributes (ramfs): the store alone
// holds the label, and nothing fails. Needs a private mount namespace, so
// it runs in a child process.
TEST_F(LabelXattrTest, FileSystemsWithoutAttributesUseTheStoreAlone) {
  root_.mkdirs("/mnt/ramfs");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(77);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
    if (::mount("none", root_.host("/mnt/ramfs").c_str(), "ramfs", 0, nullptr) != 0) ::_exit(77);
    root_.write("/mnt/ramfs/x.img", "data");
    const char probe = '1';
    if (::setxattr(root_.host("/mnt/ramfs/x.img").c_str(), "user.probe", &probe, 1, 0) == 0)
      ::_exit(78);
    auto store = ResourceLabelStore::open(store_path_, fs_);
    if (!store) ::_exit(1);
    auto x = canonicalize(fs_, "file:/mnt/ramfs/x.img", "/", true);
    if (!x || !store->set(*x, kABank)) ::_exit(2);
    auto label = store->get(*x);
    if (!label || *label != kABank) ::_exit(3);
    if (!store->remove(*x)) ::_exit(4);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount ramfs in a private namespace";
  if (WEXITSTATUS(status) == 78) GTEST_SKIP() << "ramfs accepts user attributes on this kernel";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace shype::resources
