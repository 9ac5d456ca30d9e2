// Fuzzes the XML policy front end (STYLE.md rule 12) with these properties:
//  1. load_policy_text never crashes, leaks or hangs, whatever the bytes;
//  2. a rejection is an Error of the front end's codes whose every line is
//     located in the file it was given (nothing unlocated, nothing split
//     across lines);
//  3. a policy that loads is written by write_policy to text that loads
//     again to an equal model, and writing that model gives the same bytes
//     (the writer is canonical).
// A violated property aborts, which libFuzzer and the corpus replay under
// ctest report as a failure.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "acm/xml/policy_loader.hpp"
#include "acm/xml/policy_writer.hpp"

namespace {

constexpr std::string_view kFileName = "fuzz.xml";

[[noreturn]] void violated(const char* property, const std::string& detail) {
  std::fprintf(stderr, "fuzz_xml_policy: property violated: %s\n%s\n", property, detail.c_str());
  std::abort();
}

void check_rejection(const shype::acm::Error& error) {
  using shype::acm::Errc;
  switch (error.code) {
    case Errc::xml_malformed:
    case Errc::schema_violation:
    case Errc::semantic_error:
    case Errc::limit_exceeded:
      break;
    default:
      violated("rejections use the front end's error codes", error.to_string());
  }
  const std::string text = error.to_string();
  if (text.empty()) violated("a rejection says why", text);
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line(text.data() + start, end - start);
    if (line.substr(0, kFileName.size()) != kFileName) {
      violated("every finding names the file", text);
    }
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // SAFETY: uint8_t and char have the same size and representation; the
  // bytes are copied, not reinterpreted in place.
  std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = shype::acm::xml::load_policy_text(std::move(text), std::string(kFileName));
  if (!loaded) {
    check_rejection(loaded.error());
    return 0;
  }
  const std::string written = shype::acm::xml::write_policy(loaded->model);
  auto reloaded = shype::acm::xml::load_policy_text(written, "rewritten.xml");
  if (!reloaded) violated("written policies load", reloaded.error().to_string() + "\n" + written);
  if (!(reloaded->model == loaded->model)) violated("written policies read back equal", written);
  if (shype::acm::xml::write_policy(reloaded->model) != written) {
    violated("the writer is canonical", written);
  }
  return 0;
}
