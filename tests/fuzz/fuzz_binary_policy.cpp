// Property fuzzer for binary policies (STYLE.md rule 12). For every input:
//  - reading never crashes (ASan/UBSan watch the parsers);
//  - if it parses, the image passes validate_image, writing it in the same
//    format and reading that back gives the same image, and the re-write is
//    byte-identical whenever the input was the canonical encoding (compact:
//    current minor version, no skipped sections; Xen: version 4 without dump
//    counters);
//  - the image survives the other format too: compact keeps everything, Xen
//    drops the names (and, without CHWALL, the VM/resource split), and the
//    .map file written beside it brings them back (conflict sets by index).
// Any violation aborts.
//
// Compact files carry a SHA-256, which a mutated input almost never matches;
// each compact input is therefore also tried resealed, so the mutations reach
// the parser behind the digest check.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "acm/binary_policy.hpp"
#include "acm/compact_format.hpp"
#include "acm/map_file.hpp"
#include "acm/xen_format.hpp"

namespace {

using namespace shype::acm;

// Keeps the dense Xen re-encoding of fuzzed images cheap.
constexpr std::uint64_t kMaxXenRewrite = 4u << 20;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_binary_policy: property violated: %s\n", property);
  std::abort();
}

void check_cross_formats(const PolicyImage& image) {
  auto compact = read_compact_policy(write_compact_policy(image));
  if (!compact || *compact != image) violated("compact round trip of an accepted image");

  const auto xen_size = xen_policy_size(image);
  if (!xen_size || *xen_size > kMaxXenRewrite) return;
  auto xen = read_xen_policy(write_xen_policy(image));
  PolicyImage expected = image;
  expected.names.reset();
  if (!image.has_chwall()) expected.vm_label_count = image.ste_labels.rows();
  if (!xen || *xen != expected) violated("Xen round trip of an accepted image");

  if (!image.names) return;
  const std::string map = write_map_file(image, "fuzz.xml", "fuzz.bin");
  auto attached = attach_map_names(*xen, map);
  PolicyImage named = image;
  for (std::size_t c = 0; c < named.names->conflict_sets.size(); ++c) {
    named.names->conflict_sets[c] = "set" + std::to_string(c);
  }
  if (!attached || *attached != named) violated(".map file round trip");
}

void check(std::span<const std::uint8_t> bytes) {
  const auto format = detect_binary_format(bytes);
  if (!format) {
    if (read_binary_policy(bytes)) violated("bytes without a magic were accepted");
    return;
  }
  bool canonical = false;
  Result<PolicyImage> image = make_error(Errc::invalid_argument, "");
  if (*format == BinaryFormat::compact) {
    CompactPolicyInfo info;
    image = read_compact_policy(bytes, &info);
    canonical = info.format_minor == compact::kFormatMinor && info.skipped_sections == 0;
  } else {
    XenPolicyInfo info;
    image = read_xen_policy(bytes, &info);
    canonical = info.format_version == xen::kPolicyVersion && !info.has_counter_arrays;
  }
  BinaryFormat detected = *format == BinaryFormat::xen ? BinaryFormat::compact : BinaryFormat::xen;
  auto dispatched = read_binary_policy(bytes, &detected);
  if (image.has_value() != dispatched.has_value()) violated("read_binary_policy disagrees");
  if (!image) return;
  if (detected != *format || *dispatched != *image) violated("read_binary_policy disagrees");

  if (!validate_image(*image)) violated("an accepted image fails validate_image");
  const std::vector<std::uint8_t> rewritten = write_binary_policy(*image, *format);
  auto again = read_binary_policy(rewritten);
  if (!again || *again != *image) violated("re-reading the re-written policy");
  if (canonical && !std::equal(rewritten.begin(), rewritten.end(), bytes.begin(), bytes.end())) {
    violated("the re-write of a canonical input is not byte-identical");
  }
  check_cross_formats(*image);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(bytes);
  if (detect_binary_format(bytes) == BinaryFormat::compact && size >= compact::kHeaderSize) {
    std::vector<std::uint8_t> resealed(bytes.begin(), bytes.end());
    reseal_compact_policy(resealed);
    check(resealed);
  }
  return 0;
}
