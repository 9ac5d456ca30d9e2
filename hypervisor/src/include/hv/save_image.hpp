// The one reader and writer of saved-domain images (STYLE.md rule 3;
// shype/save_image.hpp is the format). The hypervisor writes them
// (save_domain) and reads them (restore_domain); libxenctrl reads them to
// show what a save file holds (inspect_save_image) before it asks for a
// restore.
//
// Reading follows STYLE.md rules 5 and 6: the header and the table of
// contents are range-checked first (overflow-checked offsets, the canonical
// layout), then the digest over the whole image, then every field of the
// domain record; only a fully checked image yields a view. Errors name the
// field that was wrong.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "shype/save_image.hpp"

namespace shype::hv {

// The domain record, decoded (strings without their NUL padding).
struct SaveImageMetadata {
  std::string name;
  std::uint32_t memory_mib = 0;
  std::uint32_t vcpus = 1;
  std::uint32_t ssidref = 0;
  std::uint32_t resume_count = 0;
  std::uint64_t saved_at_ns = 0;
  std::uint64_t cpu_time_ns = 0;
  std::string label;
  std::string policy_name;
  std::array<std::uint8_t, 32> policy_fingerprint{};
  std::string cmdline;

  friend bool operator==(const SaveImageMetadata&, const SaveImageMetadata&) = default;
};

// A range of guest memory that may hold data (offset and length in bytes,
// page aligned).
struct MemoryExtent {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// What an image holds: the metadata and views of the byte sections (into
// the caller's buffers when writing, into the image when reading).
struct SaveImageParts {
  SaveImageMetadata metadata;
  std::span<const std::uint8_t> kernel;
  std::span<const std::uint8_t> toolstack_record;
  std::span<const std::uint8_t> memory;  // exactly memory_mib MiB
  // Writing only: where memory may hold data, ascending and disjoint (the
  // data extents of the guest's memfd, SEEK_DATA). Memory outside them is
  // taken as zero without being read, so a save does not touch (and
  // allocate) guest memory that was never used. Empty: all of it.
  std::span<const MemoryExtent> memory_extents;
};

// The image's size for `parts`, or why they cannot be saved (the same
// checks the reader applies to a domain record).
[[nodiscard]] tl::expected<std::uint64_t, std::string> save_image_size(const SaveImageParts& parts);

// Where write_save_image puts the image: bytes at an offset; returns "" or
// why it failed (a file or memfd sink uses pwrite, so running out of memory
// is an error, never a SIGBUS).
using SaveImageSink =
    std::function<std::string(std::uint64_t offset, std::span<const std::uint8_t> bytes)>;

// Writes the image for `parts` to a destination of save_image_size(parts)
// bytes that reads as zero wherever nothing is written (a freshly sized
// memfd, a zeroed buffer): padding and all-zero memory pages are not
// written, so a mostly untouched guest makes a sparse image. The digest is
// computed from `parts`, never by reading the destination back.
[[nodiscard]] tl::expected<void, std::string> write_save_image(const SaveImageParts& parts,
                                                               const SaveImageSink& sink);
// The same into a new buffer (tests, the fuzzer).
[[nodiscard]] tl::expected<std::vector<std::uint8_t>, std::string> encode_save_image(
    const SaveImageParts& parts);

// Checks an image completely (layout, digest, every field); on success the
// sections are views into `image`.
struct SaveImageView {
  std::uint16_t version_major = 0;
  std::uint16_t version_minor = 0;
  SaveImageParts parts;
};
[[nodiscard]] tl::expected<SaveImageView, std::string> parse_save_image(
    std::span<const std::uint8_t> image);

// The digest an image should carry (SHA-256 over it with the digest field
// taken as zero). `image` must hold at least a header; for tools and the
// fuzzer, which re-seal images they changed on purpose.
[[nodiscard]] std::array<std::uint8_t, 32> save_image_digest(std::span<const std::uint8_t> image);

}  // namespace shype::hv
