#include "acm/file_io.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace shype::acm {
namespace {

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("shype-file-io-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FileIo, WriteThenReadRoundTrips) {
  const auto path = dir_ / "policy.bin";
  ASSERT_TRUE(write_file_atomic(path, std::string_view("hello")));
  auto text = read_text_file(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "hello");
}

TEST_F(FileIo, ReplacesExistingFileAndLeavesNoTemporaries) {
  const auto path = dir_ / "policy.bin";
  ASSERT_TRUE(write_file_atomic(path, std::string_view("old")));
  ASSERT_TRUE(write_file_atomic(path, std::string_view("new contents")));
  EXPECT_EQ(*read_text_file(path), "new contents");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_))
    ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(FileIo, AppliesRequestedMode) {
  const auto path = dir_ / "secret";
  ASSERT_TRUE(write_file_atomic(path, std::string_view("x"), 0600));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileIo, MissingDirectoryFailsWithPathInMessage) {
  auto s = write_file_atomic(dir_ / "nope" / "x.bin", std::string_view("x"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::io_error);
  EXPECT_NE(s.error().message.find("nope"), std::string::npos);
}

TEST_F(FileIo, ReadMissingFileNamesIt) {
  auto r = read_file(dir_ / "absent.xml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("absent.xml"), std::string::npos);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos);
}

TEST_F(FileIo, ReadDirectoryIsRefused) {
  auto r = read_file(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace shype::acm
