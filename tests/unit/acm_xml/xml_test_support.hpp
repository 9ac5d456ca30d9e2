// Helpers shared by the acm_xml unit tests: where the shipped policies and
// the fixture files are, and reading them.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "acm/policy_model.hpp"

namespace shype::acm::xml::test_files {

inline std::filesystem::path source_dir() {
  return std::filesystem::path(SHYPE_SOURCE_DIR);
}

// policies/<relative>
inline std::filesystem::path policy_path(const std::string& relative) {
  return source_dir() / "policies" / relative;
}

// tests/unit/acm_xml/fixtures/<name>
inline std::filesystem::path fixture_path(const std::string& name) {
  return source_dir() / "tests" / "unit" / "acm_xml" / "fixtures" / name;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The lines of a multi-line message.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

// Every shipped policy file, relative to policies/.
inline std::vector<std::string> shipped_policies() {
  return {"DEFAULT-security_policy.xml", "mytest-security_policy.xml",
          "mytest_update-security_policy.xml", "example/test-security_policy.xml"};
}

}  // namespace shype::acm::xml::test_files
