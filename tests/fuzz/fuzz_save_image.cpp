// Property fuzzer for the saved-domain image reader (STYLE.md rule 12;
// hypervisor/src/save_image.cpp). Input: one control byte, then the image.
// Control bit 0 set: the digest is recomputed over the image first, so that
// mutations reach the structural and field checks behind the checksum. For
// every input:
//  - parsing never crashes (ASan/UBSan watch the reader);
//  - a rejection names a reason;
//  - an accepted image is canonical: its views lie inside the input, the
//    writer accepts what the reader returned, and writing it again gives
//    exactly the input bytes, which parse again to the same metadata.
// Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "hv/save_image.hpp"

namespace {

using namespace shype;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_save_image: property violated: %s\n", property);
  std::abort();
}

bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<std::uint8_t> image(data + 1, data + size);
  if ((data[0] & 1u) != 0 && image.size() >= sizeof(abi::SaveImageHeader)) {
    const auto digest = hv::save_image_digest(image);
    std::memcpy(image.data() + offsetof(abi::SaveImageHeader, digest), digest.data(),
                digest.size());
  }
  const auto view = hv::parse_save_image(image);
  if (!view) {
    if (view.error().empty()) violated("a rejection without a reason");
    return 0;
  }
  const hv::SaveImageParts& parts = view->parts;
  if (!inside(parts.kernel, image) || !inside(parts.toolstack_record, image) ||
      !inside(parts.memory, image)) {
    violated("a section view outside the image");
  }
  const auto size_again = hv::save_image_size(parts);
  if (!size_again) violated("the writer refuses what the reader accepted");
  if (*size_again != image.size()) violated("the writer sizes an accepted image differently");
  const auto again = hv::encode_save_image(parts);
  if (!again) violated("the writer fails on what the reader accepted");
  if (*again != image) violated("an accepted image does not re-encode to the same bytes");
  const auto reparsed = hv::parse_save_image(*again);
  if (!reparsed) violated("a re-encoded image does not parse");
  if (!(reparsed->parts.metadata == parts.metadata)) violated("re-parsed metadata differs");
  return 0;
}
