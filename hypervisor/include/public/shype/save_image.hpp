// The saved-domain image (domctl save_domain / restore_domain; xm save and
// xm restore; docs/hypercall-abi.md "Save images").
//
// One self-contained file: restore needs nothing else (the kernel travels
// in it). It crosses a trust boundary on the way back (Domain-0 reads it
// from a file), so the one reader (hypervisor/src/save_image.cpp) checks
// every field before anything is used.
//
// Layout, version 1.0. Every integer is little-endian (shype runs on
// x86-64 only: an image holds an x86-64 kernel and its memory):
//
//   offset            what
//   0                 SaveImageHeader (64 bytes)
//   64                SaveSection[kSaveSectionCount] (the table of contents)
//   then, in this order, each starting at the end of the one before rounded
//   up to 8 bytes (memory: to a page), padding zero:
//                     domain            SaveDomainRecord (384 bytes)
//                     cmdline           the kernel's argv[1], no NUL (< 1024 bytes)
//                     kernel            the kernel ELF, exactly as it ran (1 byte .. 64 MiB)
//                     toolstack_record  opaque bytes of the toolstack (xend's config), <= 16 MiB
//                     memory            the guest's memory, memory_mib MiB, frame 0 first
//   image_size        = end of memory
//
// The layout is canonical: for given contents there is exactly one image,
// and the reader refuses any other arrangement (offsets, padding, unknown
// bits). The digest is the SHA-256 of the whole image with the digest
// field zeroed: it catches corruption, not forgery (the label is re-checked
// against the policy on restore, and Domain-0 guards its files).
#pragma once

#include <cstddef>
#include <cstdint>

#include "shype/abi.hpp"
#include "shype/domctl.hpp"

namespace shype::abi {

inline constexpr char kSaveImageMagic[8] = {'S', 'H', 'Y', 'P', 'S', 'A', 'V', 'E'};
inline constexpr std::uint16_t kSaveImageVersionMajor = 1;
inline constexpr std::uint16_t kSaveImageVersionMinor = 0;

enum class SaveSectionType : std::uint32_t {
  domain = 1,            // SaveDomainRecord
  cmdline = 2,           // bytes
  kernel = 3,            // bytes
  toolstack_record = 4,  // bytes
  memory = 5,            // bytes
};
inline constexpr std::uint32_t kSaveSectionCount = 5;

// Largest kernel an image carries (the sandbox's limit, sandbox/limits.hpp).
inline constexpr std::uint64_t kSaveMaxKernelBytes = 64ull * 1024 * 1024;

struct SaveImageHeader {
  char magic[8];                // kSaveImageMagic
  std::uint16_t version_major;  // kSaveImageVersionMajor; another is refused
  std::uint16_t version_minor;  // kSaveImageVersionMinor
  std::uint32_t header_size;    // sizeof(SaveImageHeader) + section_count * sizeof(SaveSection)
  std::uint64_t image_size;     // bytes of the whole image
  std::uint32_t section_count;  // kSaveSectionCount
  std::uint32_t flags;          // 0
  std::uint8_t digest[32];      // SHA-256 of the image with this field zeroed
};
static_assert(sizeof(SaveImageHeader) == 64);
static_assert(offsetof(SaveImageHeader, digest) == 32);

struct SaveSection {
  std::uint32_t type;    // SaveSectionType, in the order of the enum
  std::uint32_t flags;   // 0
  std::uint64_t offset;  // from the start of the image
  std::uint64_t length;  // bytes
};
static_assert(sizeof(SaveSection) == 24);

// What the domain was when it was saved. Strings are NUL-terminated and
// NUL-padded within their fields.
struct SaveDomainRecord {
  char name[kDomainNameSize];  // the domain name (createdomain's rules)
  std::uint32_t memory_mib;    // 1 .. kMaxMemoryMib; the memory section holds memory_mib MiB
  std::uint32_t vcpus;         // 1
  std::uint32_t ssidref;       // its ssidref under the policy it ran under
  std::uint32_t resume_count;  // how often it had been restored before this save
  std::uint64_t saved_at_ns;   // CLOCK_REALTIME of the save, ns since the Unix epoch
  std::uint64_t cpu_time_ns;   // CPU time it had used (for information)
  char label[128];             // its VM label's name ("" if that policy has no names)
  char policy_name[128];       // the policy it ran under ("NULL" under the dummy module)
  std::uint8_t policy_fingerprint[32];  // SHA-256 of that binary policy (zero under dummy)
};
static_assert(sizeof(SaveDomainRecord) == 384);

}  // namespace shype::abi
