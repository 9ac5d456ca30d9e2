// A throw-away SHYPE_ROOT for one test: a fresh directory under the system
// temporary directory, removed afterwards, with helpers to lay out files,
// symlinks and device nodes inside it.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace shype::resources::testing {

class TempRoot {
 public:
  TempRoot() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("shype-resources-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
            info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  // The host path of a path in the root ("/home/xen" -> <dir>/home/xen).
  [[nodiscard]] std::filesystem::path host(std::string_view in_root) const {
    return dir_ / std::filesystem::path(in_root).relative_path();
  }

  void mkdirs(std::string_view in_root) const {
    std::filesystem::create_directories(host(in_root));
  }
  void write(std::string_view in_root, std::string_view text) const {
    std::filesystem::create_directories(host(in_root).parent_path());
    std::ofstream(host(in_root), std::ios::binary | std::ios::trunc) << text;
  }
  void symlink(std::string_view target, std::string_view in_root) const {
    std::filesystem::create_directories(host(in_root).parent_path());
    std::filesystem::create_symlink(std::string(target), host(in_root));
  }
  // A block device node (as root; the tests run as root).
  [[nodiscard]] bool block_device(std::string_view in_root, unsigned major, unsigned minor) const {
    std::filesystem::create_directories(host(in_root).parent_path());
    return ::mknod(host(in_root).c_str(), S_IFBLK | 0600, makedev(major, minor)) == 0;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace shype::resources::testing
