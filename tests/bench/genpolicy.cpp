// shype-genpolicy --types N --labels N [--seed S] -o FILE.xml
// Writes an ezPolicy-shaped policy of N workload types and N VM labels
// (tests/support/policy_generator.hpp, scaled_policy) as XML.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "acm/file_io.hpp"
#include "acm/xml/policy_writer.hpp"
#include "policy_generator.hpp"

namespace {

bool parse_u64(const char* text, std::uint64_t& out) {
  char* end = nullptr;
  out = std::strtoull(text, &end, 10);
  return end != text && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t types = 1000, labels = 1000, seed = 1;
  std::string output;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    bool ok = has_value;
    if (arg == "--types" && has_value) {
      ok = parse_u64(argv[++i], types);
    } else if (arg == "--labels" && has_value) {
      ok = parse_u64(argv[++i], labels);
    } else if (arg == "--seed" && has_value) {
      ok = parse_u64(argv[++i], seed);
    } else if ((arg == "-o" || arg == "--output") && has_value) {
      output = argv[++i];
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr << "usage: shype-genpolicy --types N --labels N [--seed S] -o FILE.xml\n";
      return 2;
    }
  }
  if (output.empty() || types == 0 || labels < 2 || types > 60000 || labels > 60000) {
    std::cerr << "usage: shype-genpolicy --types N --labels N [--seed S] -o FILE.xml "
                 "(1 <= N types <= 60000, 2 <= N labels <= 60000)\n";
    return 2;
  }
  const auto model = shype::acm::testing::scaled_policy(static_cast<std::uint32_t>(types),
                                                        static_cast<std::uint32_t>(labels), seed);
  const std::string xml = shype::acm::xml::write_policy(model);
  if (auto s = shype::acm::write_file_atomic(output, xml); !s) {
    std::cerr << "shype-genpolicy: " << s.error().to_string() << '\n';
    return 1;
  }
  std::cout << "wrote " << output << ": policy '" << model.header.name << "', "
            << model.ste->types.size() << " STE types, " << model.vm_labels.size() << " VM labels, "
            << model.resource_labels.size() << " resource labels, " << xml.size() << " bytes\n";
  return 0;
}
