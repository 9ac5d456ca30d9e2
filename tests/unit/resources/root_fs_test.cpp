#include "resources/root_fs.hpp"

#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "path_walk.hpp"
#include "temp_root.hpp"

namespace shype::resources {
namespace {

using testing::TempRoot;

std::string read_all(const UniqueFd& fd) {
  std::string out;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

TEST(RootFsPaths, HostPathJoinsUnderTheRoot) {
  const RootFs fs("/tmp/r");
  EXPECT_EQ(fs.host_path("/home/xen/dom_fc5/fedora.fc5.img"),
            "/tmp/r/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(fs.host_path("/"), "/tmp/r");
  EXPECT_EQ(fs.host_path("etc/xen/domain1.xm"), "/tmp/r/etc/xen/domain1.xm");
  // ".." cannot climb out, even lexically.
  EXPECT_EQ(fs.host_path("/../../etc/passwd"), "/tmp/r/etc/passwd");
  EXPECT_EQ(fs.host_path("/home/../../etc"), "/tmp/r/etc");
}

TEST(RootFsPaths, HostRootIsTheIdentity) {
  const RootFs fs;
  EXPECT_TRUE(fs.is_host_root());
  EXPECT_EQ(fs.host_path("/home/xen/x.img"), "/home/xen/x.img");
  EXPECT_EQ(RootFs("/tmp/r/").root(), "/tmp/r");
}

class RootFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.write("/home/xen/dom_fc5/fedora.fc5.img", "image");
    root_.write("/data/a.img", "data");
    root_.symlink("/etc", "/home/xen/etc-link");             // absolute: the root's /etc
    root_.symlink("../../../../../../etc", "/home/xen/up");  // relative, too many ".."
    root_.symlink("/data", "/home/xen/imgs");                // a directory elsewhere in the root
    root_.symlink("loop-b", "/home/xen/loop-a");
    root_.symlink("loop-a", "/home/xen/loop-b");
  }
  TempRoot root_;
  RootFs fs_{root_.dir()};
};

TEST_F(RootFsTest, CanonicalResolvesInsideTheRoot) {
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/dom_fc5/fedora.fc5.img", "/", true),
            "/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/./dom_fc5/../dom_fc5//fedora.fc5.img", "/", true),
            "/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/imgs/a.img", "/", true), "/data/a.img");
  EXPECT_EQ(*fs_.canonical_in_root("/..", "/", true), "/");
}

TEST_F(RootFsTest, AbsoluteSymlinkToEtcStaysInTheRoot) {
  // The host's /etc/passwd exists; the root's does not.
  auto missing = fs_.canonical_in_root("/home/xen/etc-link/passwd", "/", true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("/home/xen/etc-link/passwd"), std::string::npos);
  EXPECT_NE(missing.error().message.find(root_.dir().string()), std::string::npos);

  auto named = fs_.canonical_in_root("/home/xen/etc-link/passwd", "/", false);
  ASSERT_TRUE(named) << named.error().to_string();
  EXPECT_EQ(*named, "/etc/passwd");

  auto opened = fs_.open_in_root("/home/xen/etc-link/passwd", O_RDONLY);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::not_found);

  root_.write("/etc/passwd", "inside the root\n");
  auto inside = fs_.open_in_root("/home/xen/etc-link/passwd", O_RDONLY);
  ASSERT_TRUE(inside) << inside.error().to_string();
  EXPECT_EQ(read_all(*inside), "inside the root\n");
}

TEST_F(RootFsTest, RelativeSymlinkCannotClimbOut) {
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/up/passwd", "/", false), "/etc/passwd");
  EXPECT_FALSE(fs_.open_in_root("/home/xen/up/passwd", O_RDONLY));
  EXPECT_FALSE(fs_.open_in_root("/../../../../etc/passwd", O_RDONLY));
  root_.write("/etc/passwd", "mine");
  auto fd = fs_.open_in_root("/home/xen/up/passwd", O_RDONLY);
  ASSERT_TRUE(fd);
  EXPECT_EQ(read_all(*fd), "mine");
}

TEST_F(RootFsTest, MissingComponentsKeptParentsStillResolved) {
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/imgs/new.img", "/", false), "/data/new.img");
  EXPECT_EQ(*fs_.canonical_in_root("/home/xen/nope/deeper/x.img", "/", false),
            "/home/xen/nope/deeper/x.img");
  // Back out of a missing directory and through a symlink again, as
  // Python's os.path.realpath did.
  EXPECT_EQ(*fs_.canonical_in_root("/nope/../home/xen/imgs/x.img", "/", false), "/data/x.img");
  auto strict = fs_.canonical_in_root("/home/xen/imgs/new.img", "/", true);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, Errc::not_found);
}

TEST_F(RootFsTest, RelativePathsUseTheCallersDirectory) {
  EXPECT_EQ(*fs_.canonical_in_root("dom_fc5/fedora.fc5.img", "/home/xen", true),
            "/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(*fs_.canonical_in_root("../xen/imgs/a.img", "/home/xen", true), "/data/a.img");
  EXPECT_EQ(*fs_.canonical_in_root("home/xen/imgs/a.img", "", true), "/data/a.img");
  auto bad = fs_.canonical_in_root("x.img", "home/xen", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message, "working directory 'home/xen' is not an absolute path");
  EXPECT_EQ(fs_.canonical_in_root("", "/", false).error().message, "empty path");
}

TEST_F(RootFsTest, LoopsAndNonDirectoriesAreErrors) {
  auto loop = fs_.canonical_in_root("/home/xen/loop-a", "/", false);
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, Errc::io_error);
  EXPECT_NE(loop.error().message.find("Too many levels of symbolic links"), std::string::npos);

  auto under_file = fs_.canonical_in_root("/data/a.img/x", "/", true);
  ASSERT_FALSE(under_file);
  EXPECT_NE(under_file.error().message.find("Not a directory"), std::string::npos);
  // Not required to exist: kept as written, as realpath did.
  EXPECT_EQ(*fs_.canonical_in_root("/data/a.img/x", "/", false), "/data/a.img/x");
}

TEST_F(RootFsTest, OpenCreatesThroughSymlinkedDirectoriesInsideTheRoot) {
  auto fd = fs_.open_in_root("/home/xen/imgs/new.img", O_WRONLY | O_CREAT | O_EXCL, 0640);
  ASSERT_TRUE(fd) << fd.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(root_.host("/data/new.img")));

  // A dangling absolute symlink is created inside the root, not at the host's path.
  root_.symlink("/created-by-test", "/home/xen/dangling");
  auto through = fs_.open_in_root("/home/xen/dangling", O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(through) << through.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(root_.host("/created-by-test")));
  EXPECT_FALSE(std::filesystem::exists("/created-by-test"));
}

TEST_F(RootFsTest, NoFollowRefusesAFinalSymlink) {
  auto fd = fs_.open_in_root("/home/xen/imgs", O_RDONLY | O_NOFOLLOW);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, Errc::io_error);
  auto path_fd = fs_.open_in_root("/home/xen/imgs", O_PATH | O_NOFOLLOW);
  EXPECT_TRUE(path_fd);
}

TEST_F(RootFsTest, FromHostPathMapsIntoTheRoot) {
  EXPECT_EQ(*fs_.from_host_path(root_.host("/home/xen")), "/home/xen");
  EXPECT_EQ(*fs_.from_host_path(root_.dir()), "/");
  auto outside = fs_.from_host_path("/usr");
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, Errc::invalid_argument);
  EXPECT_EQ(outside.error().message, "'/usr' is outside the root '" + root_.dir().string() + "'");
}

TEST_F(RootFsTest, MissingRootIsNamed) {
  const RootFs gone(root_.dir() / "does-not-exist");
  auto fd = gone.open_in_root("/x", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message.find("does-not-exist"), std::string::npos);
}

// The walk used where openat2(2) is missing keeps the same guarantees.
class PathWalkTest : public RootFsTest {
 protected:
  void SetUp() override {
    RootFsTest::SetUp();
    root_fd_.reset(::open(root_.dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  UniqueFd root_fd_;
};

TEST_F(PathWalkTest, FallbackOpenStaysInsideTheRoot) {
  EXPECT_EQ(detail::open_by_walk(root_fd_.get(), "/home/xen/etc-link/passwd", O_RDONLY, 0).error(),
            ENOENT);
  EXPECT_EQ(detail::open_by_walk(root_fd_.get(), "/home/xen/up/passwd", O_RDONLY, 0).error(),
            ENOENT);
  root_.write("/etc/passwd", "walked");
  auto fd = detail::open_by_walk(root_fd_.get(), "/home/xen/up/passwd", O_RDONLY, 0);
  ASSERT_TRUE(fd);
  EXPECT_EQ(read_all(*fd), "walked");
  auto img = detail::open_by_walk(root_fd_.get(), "home/xen/imgs/a.img", O_RDONLY, 0);
  ASSERT_TRUE(img);
  EXPECT_EQ(read_all(*img), "data");
}

TEST_F(PathWalkTest, FallbackHandlesCreateNoFollowAndLoops) {
  auto created =
      detail::open_by_walk(root_fd_.get(), "/home/xen/imgs/made.img", O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(created);
  EXPECT_TRUE(std::filesystem::exists(root_.host("/data/made.img")));
  EXPECT_EQ(detail::open_by_walk(root_fd_.get(), "/nope/x", O_WRONLY | O_CREAT, 0600).error(),
            ENOENT);
  EXPECT_EQ(
      detail::open_by_walk(root_fd_.get(), "/home/xen/imgs", O_RDONLY | O_NOFOLLOW, 0).error(),
      ELOOP);
  EXPECT_EQ(detail::open_by_walk(root_fd_.get(), "/home/xen/loop-a", O_RDONLY, 0).error(), ELOOP);
  auto root_itself = detail::open_by_walk(root_fd_.get(), "/../..", O_RDONLY | O_DIRECTORY, 0);
  EXPECT_TRUE(root_itself);
}

TEST_F(PathWalkTest, WalkReportsComponents) {
  detail::WalkOptions lax;
  lax.must_exist = false;
  auto walk = detail::walk_in_root(root_fd_.get(), "/home/xen/imgs/missing/../a.img", lax);
  ASSERT_TRUE(walk);
  EXPECT_TRUE(walk->exists());
  EXPECT_EQ(walk->path(), "/data/a.img");
}

}  // namespace
}  // namespace shype::resources
