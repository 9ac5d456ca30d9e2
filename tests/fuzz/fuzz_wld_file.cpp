// Property fuzzer for ezPolicy's workload definition files (STYLE.md rule
// 12; ezpolicy/src/wld_file.cpp): the text of a .wld file, which may come
// from anyone.
//
// Properties, for every input:
//  - nothing crashes, hangs or reads outside the text (ASan; nesting is
//    bounded);
//  - a refusal names the file and a line within the text;
//  - an accepted definition keeps every rule of check_definition;
//  - the text the original tool would write for it (format_wld) parses back
//    to the same definition, and formatting that again gives the same text.
// Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ezpolicy/wld_file.hpp"
#include "ezpolicy/workload_rules.hpp"

namespace {

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_wld_file: property violated: %s\n", property);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shype::ezpolicy;
  // SAFETY: a byte buffer viewed as characters.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_wld(text, "fuzz.wld");
  if (!parsed) {
    const auto& where = parsed.error().where;
    if (where.file != "fuzz.wld") violated("a refusal does not name the file");
    std::size_t lines = 1;
    for (const char c : text) lines += c == '\n' ? 1 : 0;
    if (where.line > lines) violated("a refusal names a line past the end");
    return 0;
  }
  if (!check_definition(*parsed)) violated("an accepted definition breaks a rule");
  const std::string written = format_wld(*parsed);
  const auto again = parse_wld(written, "written.wld");
  if (!again) violated("the written form does not parse");
  if (!(*again == *parsed)) violated("the written form parses to another definition");
  if (format_wld(*again) != written) violated("writing is not stable");
  return 0;
}
