// Property fuzzer for the vTPM manager's protected-state decoders (STYLE.md
// rule 12; vtpm/src/state_blob.cpp, vtpm/src/platform_seal.cpp). The first
// byte picks the decoder, the rest is the file:
//   0: a state blob (parse_state_blob, then open_state_blob);
//   1: the manifest (parse_manifest);
//   2: the sealed manager key (parse_sealed_secret).
// Properties, for every input:
//  - nothing crashes or reads outside the input (ASan);
//  - every rejection has a reason naming the file;
//  - a parsed blob accounts for every byte (additional data + ciphertext +
//    tag), never authenticates under a key it was not made with, and its
//    header and payload round-trip through seal_state_blob/open_state_blob;
//  - a parsed manifest re-serializes, re-parses equal and verifies under
//    the key it was serialized with, and not under another;
//  - a parsed sealed key re-serializes byte for byte.
// Any violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "vtpm/platform_seal.hpp"
#include "vtpm/state_blob.hpp"

namespace {

using namespace shype::vtpm;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_vtpm_state_blob: property violated: %s\n", property);
  std::abort();
}

void check_reason(const shype::acm::Error& e) {
  if (e.message.rfind("input", 0) != 0) violated("a rejection does not name the file");
}

StateKey key_of(std::uint8_t fill) {
  StateKey k{};
  k.fill(fill);
  return k;
}

void blob(std::span<const std::uint8_t> bytes) {
  auto parsed = parse_state_blob(bytes, "input");
  if (!parsed) return check_reason(parsed.error());
  if (parsed->aad.size() + parsed->ciphertext.size() + parsed->tag.size() != bytes.size())
    violated("a parsed blob does not account for every byte");
  if (open_state_blob(key_of(0x11), *parsed, parsed->header, "input"))
    violated("an arbitrary blob authenticated");
  auto sealed = seal_state_blob(key_of(0x11), parsed->header, parsed->ciphertext);
  if (!sealed) violated("a parsed header cannot be sealed again");
  auto reparsed = parse_state_blob(*sealed, "input");
  if (!reparsed || reparsed->header != parsed->header) violated("header round trip");
  auto opened = open_state_blob(key_of(0x11), *reparsed, parsed->header, "input");
  if (!opened || *opened != parsed->ciphertext) violated("payload round trip");
  if (open_state_blob(key_of(0x12), *reparsed, parsed->header, "input"))
    violated("a blob authenticated under another key");
}

void manifest(std::span<const std::uint8_t> bytes) {
  // SAFETY: a view of the same bytes as characters, only read.
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto parsed = parse_manifest(text, "input");
  if (!parsed) return check_reason(parsed.error());
  const std::string stored = parsed->manifest.serialize(key_of(0x21));
  auto again = parse_manifest(stored, "input");
  if (!again || !(again->manifest == parsed->manifest)) violated("manifest round trip");
  if (!again->verify(key_of(0x21))) violated("a serialized manifest does not verify");
  if (again->verify(key_of(0x22))) violated("a manifest verifies under another key");
}

void sealed_key(std::span<const std::uint8_t> bytes) {
  auto parsed = parse_sealed_secret(bytes, "input");
  if (!parsed) return check_reason(parsed.error());
  const auto stored = parsed->serialize();
  if (stored.size() != bytes.size() || !std::equal(stored.begin(), stored.end(), bytes.begin()))
    violated("a sealed key does not re-serialize byte for byte");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      blob(rest);
      break;
    case 1:
      manifest(rest);
      break;
    default:
      sealed_key(rest);
      break;
  }
  return 0;
}
