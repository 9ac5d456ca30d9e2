#include "hv/sealed_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace shype::hv {
namespace {

TEST(SealedMemfd, RoundTrips) {
  const std::vector<std::uint8_t> bytes{1, 2, 3, 4, 5};
  auto fd = make_sealed_memfd("test", bytes);
  ASSERT_TRUE(fd) << fd.error();
  EXPECT_EQ(::fcntl(fd->get(), F_GET_SEALS) & static_cast<int>(kBulkSeals),
            static_cast<int>(kBulkSeals));
  auto view = SealedView::open(fd->get(), bytes.size());
  ASSERT_TRUE(view) << view.error().reason;
  EXPECT_EQ(std::vector<std::uint8_t>(view->bytes().begin(), view->bytes().end()), bytes);
  EXPECT_EQ(::write(fd->get(), "x", 1), -1) << "sealed against writing";
}

TEST(SealedMemfd, EmptyIsFine) {
  auto fd = make_sealed_memfd("empty", {});
  ASSERT_TRUE(fd);
  auto view = SealedView::open(fd->get(), 0);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->bytes().empty());
}

TEST(SealedMemfd, RefusesUnsealedWrongSizeAndOtherFiles) {
  UniqueFd plain(::memfd_create("plain", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_EQ(::write(plain.get(), "abc", 3), 3);
  auto unsealed = SealedView::open(plain.get(), 3);
  ASSERT_FALSE(unsealed);
  EXPECT_EQ(unsealed.error().error, EBADF);

  auto sealed = make_sealed_memfd("sealed", std::vector<std::uint8_t>{1, 2, 3});
  ASSERT_TRUE(sealed);
  auto wrong = SealedView::open(sealed->get(), 4);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().error, EINVAL);

  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto other = SealedView::open(null.get(), 0);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().error, EBADF);
}

}  // namespace
}  // namespace shype::hv
