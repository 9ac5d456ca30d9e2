// Shared by the ezpolicy unit tests: the manual's Figure 10.2 workload
// definition as a value and as the .wld text the original tool writes for
// it, and a scratch directory per test.
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "ezpolicy/workload.hpp"

namespace shype::ezpolicy::testing {

inline WorkloadDefinition figure_10_2() {
  WorkloadDefinition d;
  d.organizations = {{"__UNLABELED__", {}},
                     {"A-Bank", {"SecurityUnderwriting", "MarketAnalysis"}},
                     {"B-Bank", {}},
                     {"AutoCorp", {}}};
  d.rules = {{"", {"A-Bank", "B-Bank", "__UNLABELED__"}},
             {"", {"A-Bank.MarketAnalysis", "A-Bank.SecurityUnderwriting", "__UNLABELED__"}}};
  return d;
}

inline constexpr const char* kFigure10_2Wld =
    "ezpolicy = {'orgs': [['__UNLABELED__', []], ['A-Bank', ['SecurityUnderwriting', "
    "'MarketAnalysis']], ['B-Bank', []], ['AutoCorp', []]], 'cons': [['', ['A-Bank', 'B-Bank', "
    "'__UNLABELED__']], ['', ['A-Bank.MarketAnalysis', 'A-Bank.SecurityUnderwriting', "
    "'__UNLABELED__']]]}";

// A fresh directory under the system temporary directory, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("shype-ezpolicy-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
            info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace shype::ezpolicy::testing
