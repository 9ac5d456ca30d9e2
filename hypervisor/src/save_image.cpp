#include "hv/save_image.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <type_traits>

#include <openssl/evp.h>

namespace shype::hv {

// The image is little-endian and its structs are copied as they are: only
// on a little-endian host is that the same thing.
static_assert(std::endian::native == std::endian::little,
              "save images are little-endian; this reader copies structs as they are");
static_assert(std::is_trivially_copyable_v<abi::SaveImageHeader> &&
              std::is_standard_layout_v<abi::SaveImageHeader>);
static_assert(std::is_trivially_copyable_v<abi::SaveSection> &&
              std::is_standard_layout_v<abi::SaveSection>);
static_assert(std::is_trivially_copyable_v<abi::SaveDomainRecord> &&
              std::is_standard_layout_v<abi::SaveDomainRecord>);

namespace {

using Digest = std::array<std::uint8_t, 32>;
using Bytes = std::span<const std::uint8_t>;

constexpr std::uint64_t kHeaderBytes =
    sizeof(abi::SaveImageHeader) + abi::kSaveSectionCount * sizeof(abi::SaveSection);
constexpr std::uint64_t kMiB = 1024ull * 1024;
constexpr abi::SaveSectionType kOrder[abi::kSaveSectionCount] = {
    abi::SaveSectionType::domain, abi::SaveSectionType::cmdline, abi::SaveSectionType::kernel,
    abi::SaveSectionType::toolstack_record, abi::SaveSectionType::memory};
constexpr const char* kSectionNames[abi::kSaveSectionCount] = {"domain", "cmdline", "kernel",
                                                               "toolstack_record", "memory"};

tl::unexpected<std::string> bad(std::string reason) {
  return tl::unexpected(std::move(reason));
}

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// Where each section starts, given the section lengths (each bounded by
// its own limit first, so no sum here can overflow 64 bits).
struct Layout {
  std::uint64_t offset[abi::kSaveSectionCount]{};
  std::uint64_t length[abi::kSaveSectionCount]{};
  std::uint64_t image_size = 0;
};

Layout layout_for(const std::uint64_t (&lengths)[abi::kSaveSectionCount]) {
  Layout layout;
  std::uint64_t at = kHeaderBytes;
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    const bool memory = kOrder[i] == abi::SaveSectionType::memory;
    at = align_up(at, memory ? abi::kPageSize : 8);
    layout.offset[i] = at;
    layout.length[i] = lengths[i];
    at += lengths[i];
  }
  layout.image_size = at;
  return layout;
}

// Each section's length against its own limit.
tl::expected<void, std::string> check_lengths(
    const std::uint64_t (&lengths)[abi::kSaveSectionCount], std::uint32_t memory_mib) {
  if (lengths[0] != sizeof(abi::SaveDomainRecord)) {
    return bad("domain section is " + std::to_string(lengths[0]) + " bytes, expected " +
               std::to_string(sizeof(abi::SaveDomainRecord)));
  }
  if (lengths[1] >= abi::kCmdlineSize) {
    return bad("cmdline section is " + std::to_string(lengths[1]) + " bytes (at most " +
               std::to_string(abi::kCmdlineSize - 1) + ")");
  }
  if (lengths[2] == 0 || lengths[2] > abi::kSaveMaxKernelBytes) {
    return bad("kernel section is " + std::to_string(lengths[2]) + " bytes (1.." +
               std::to_string(abi::kSaveMaxKernelBytes) + ")");
  }
  if (lengths[3] > abi::kMaxToolstackRecordBytes) {
    return bad("toolstack_record section is " + std::to_string(lengths[3]) + " bytes (at most " +
               std::to_string(abi::kMaxToolstackRecordBytes) + ")");
  }
  if (lengths[4] != std::uint64_t{memory_mib} * kMiB) {
    return bad("memory section is " + std::to_string(lengths[4]) + " bytes, but memory_mib " +
               std::to_string(memory_mib) + " needs " +
               std::to_string(std::uint64_t{memory_mib} * kMiB));
  }
  return {};
}

bool is_domain_name(std::string_view name) {
  if (name.empty() || name.size() >= abi::kDomainNameSize || name[0] == '.' || name[0] == '-') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// Label and policy names: no control characters (UTF-8 is fine).
bool is_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c != 0x7f;
  });
}

// The checks shared by the writer and the reader.
tl::expected<void, std::string> check_metadata(const SaveImageMetadata& m) {
  if (!is_domain_name(m.name)) {
    return bad("name '" + m.name.substr(0, 63) +
               "' is not 1..63 bytes of [A-Za-z0-9_.-] starting with a letter, digit or '_'");
  }
  if (m.memory_mib < 1 || m.memory_mib > abi::kMaxMemoryMib) {
    return bad("memory_mib " + std::to_string(m.memory_mib) + " outside 1.." +
               std::to_string(abi::kMaxMemoryMib));
  }
  if (m.vcpus != 1) return bad("vcpus " + std::to_string(m.vcpus) + " (must be 1)");
  if (m.resume_count == UINT32_MAX) return bad("resume_count is at its limit");
  constexpr std::size_t kTextField = sizeof(abi::SaveDomainRecord::label);
  if (m.label.size() >= kTextField || !is_printable(m.label)) {
    return bad("label is longer than 127 bytes or has control characters");
  }
  if (m.policy_name.size() >= kTextField || !is_printable(m.policy_name)) {
    return bad("policy_name is longer than 127 bytes or has control characters");
  }
  if (m.cmdline.size() >= abi::kCmdlineSize || m.cmdline.find('\0') != std::string::npos) {
    return bad("cmdline is longer than 1023 bytes or contains NUL");
  }
  return {};
}

template <std::size_t N>
void put_text(char (&field)[N], const std::string& text) {
  std::memset(field, 0, N);
  std::memcpy(field, text.data(), std::min(text.size(), N - 1));
}

// A NUL-terminated, NUL-padded field (canonical: nothing after the NUL).
template <std::size_t N>
tl::expected<std::string, std::string> get_text(const char (&field)[N], const char* what) {
  const std::size_t length = ::strnlen(field, N);
  if (length == N) return bad(std::string(what) + " is not NUL-terminated");
  for (std::size_t i = length; i < N; ++i) {
    if (field[i] != '\0') return bad(std::string(what) + " has bytes after its NUL");
  }
  return std::string(field, length);
}

abi::SaveDomainRecord encode_record(const SaveImageMetadata& m) {
  abi::SaveDomainRecord record{};
  put_text(record.name, m.name);
  record.memory_mib = m.memory_mib;
  record.vcpus = m.vcpus;
  record.ssidref = m.ssidref;
  record.resume_count = m.resume_count;
  record.saved_at_ns = m.saved_at_ns;
  record.cpu_time_ns = m.cpu_time_ns;
  put_text(record.label, m.label);
  put_text(record.policy_name, m.policy_name);
  std::memcpy(record.policy_fingerprint, m.policy_fingerprint.data(), 32);
  return record;
}

tl::expected<SaveImageMetadata, std::string> decode_record(const abi::SaveDomainRecord& record) {
  SaveImageMetadata m;
  auto name = get_text(record.name, "name");
  if (!name) return tl::unexpected(name.error());
  auto label = get_text(record.label, "label");
  if (!label) return tl::unexpected(label.error());
  auto policy = get_text(record.policy_name, "policy_name");
  if (!policy) return tl::unexpected(policy.error());
  m.name = std::move(*name);
  m.label = std::move(*label);
  m.policy_name = std::move(*policy);
  m.memory_mib = record.memory_mib;
  m.vcpus = record.vcpus;
  m.ssidref = record.ssidref;
  m.resume_count = record.resume_count;
  m.saved_at_ns = record.saved_at_ns;
  m.cpu_time_ns = record.cpu_time_ns;
  std::memcpy(m.policy_fingerprint.data(), record.policy_fingerprint, 32);
  return m;
}

template <typename T>
Bytes bytes_of(const T& value) {
  // SAFETY: T is a trivially copyable standard-layout struct of the image
  // format (asserted above); its object representation may be read as bytes.
  return {reinterpret_cast<const std::uint8_t*>(&value), sizeof(T)};
}

template <typename T>
T load(Bytes image, std::uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

bool all_zero(Bytes bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// SHA-256 fed piece by piece.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (context_ == nullptr || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
      context_.reset();
    }
  }
  void update(Bytes bytes) {
    // Large sections go in bounded pieces (EVP takes size_t, but keep the
    // calls short for any implementation).
    constexpr std::size_t kPiece = 1u << 30;
    while (context_ != nullptr && !bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), kPiece);
      if (EVP_DigestUpdate(context_.get(), bytes.data(), n) != 1) context_.reset();
      bytes = bytes.subspan(n);
    }
  }
  void zeros(std::uint64_t count) {
    static constexpr std::uint8_t kZeros[abi::kPageSize] = {};
    while (count > 0) {
      const std::uint64_t n = std::min<std::uint64_t>(count, sizeof kZeros);
      update({kZeros, static_cast<std::size_t>(n)});
      count -= n;
    }
  }
  // All zero if OpenSSL failed (then no image can match: a refusal, never
  // an acceptance).
  Digest finish() {
    Digest digest{};
    unsigned length = 0;
    if (context_ == nullptr || EVP_DigestFinal_ex(context_.get(), digest.data(), &length) != 1 ||
        length != digest.size()) {
      digest.fill(0);
      failed_ = true;
    }
    return digest;
  }
  [[nodiscard]] bool failed() const noexcept { return failed_ || context_ == nullptr; }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
  bool failed_ = false;
};

}  // namespace

tl::expected<std::uint64_t, std::string> save_image_size(const SaveImageParts& parts) {
  if (auto ok = check_metadata(parts.metadata); !ok) return tl::unexpected(ok.error());
  const std::uint64_t lengths[abi::kSaveSectionCount] = {
      sizeof(abi::SaveDomainRecord), parts.metadata.cmdline.size(), parts.kernel.size(),
      parts.toolstack_record.size(), parts.memory.size()};
  if (auto ok = check_lengths(lengths, parts.metadata.memory_mib); !ok) {
    return tl::unexpected(ok.error());
  }
  return layout_for(lengths).image_size;
}

tl::expected<void, std::string> write_save_image(const SaveImageParts& parts,
                                                 const SaveImageSink& sink) {
  auto size = save_image_size(parts);
  if (!size) return tl::unexpected(size.error());
  const std::uint64_t memory_size = parts.memory.size();
  std::uint64_t previous_end = 0;
  for (const MemoryExtent& extent : parts.memory_extents) {
    if (extent.offset % abi::kPageSize != 0 || extent.length % abi::kPageSize != 0 ||
        extent.offset < previous_end || extent.offset > memory_size ||
        extent.length > memory_size - extent.offset) {
      return bad("memory extents are not ascending, disjoint, page-aligned ranges of memory");
    }
    previous_end = extent.offset + extent.length;
  }
  const std::uint64_t lengths[abi::kSaveSectionCount] = {
      sizeof(abi::SaveDomainRecord), parts.metadata.cmdline.size(), parts.kernel.size(),
      parts.toolstack_record.size(), memory_size};
  const Layout layout = layout_for(lengths);

  abi::SaveImageHeader header{};
  std::memcpy(header.magic, abi::kSaveImageMagic, sizeof header.magic);
  header.version_major = abi::kSaveImageVersionMajor;
  header.version_minor = abi::kSaveImageVersionMinor;
  header.header_size = static_cast<std::uint32_t>(kHeaderBytes);
  header.image_size = layout.image_size;
  header.section_count = abi::kSaveSectionCount;
  abi::SaveSection table[abi::kSaveSectionCount]{};
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    table[i].type = static_cast<std::uint32_t>(kOrder[i]);
    table[i].offset = layout.offset[i];
    table[i].length = layout.length[i];
  }
  const abi::SaveDomainRecord record = encode_record(parts.metadata);
  // SAFETY: char and uint8_t have the same size and alignment; read only.
  const Bytes cmdline(reinterpret_cast<const std::uint8_t*>(parts.metadata.cmdline.data()),
                      parts.metadata.cmdline.size());
  const Bytes sections[abi::kSaveSectionCount] = {bytes_of(record), cmdline, parts.kernel,
                                                  parts.toolstack_record, parts.memory};

  // The digest covers the image in order; padding is zero.
  Sha256 sha;
  const auto put = [&](std::uint64_t offset, Bytes bytes) -> std::string {
    if (bytes.empty()) return {};
    return sink(offset, bytes);
  };
  // Memory pages with data are written, all-zero ones only hashed.
  const auto put_memory = [&](std::uint64_t base, std::uint64_t from,
                              std::uint64_t to) -> std::string {
    std::uint64_t run = from;  // start of a run of pages with data
    for (std::uint64_t page = from; page <= to; page += abi::kPageSize) {
      const bool at_end = page == to;
      const Bytes bytes = at_end ? Bytes{} : parts.memory.subspan(page, abi::kPageSize);
      if (!at_end) sha.update(bytes);
      if (at_end || all_zero(bytes)) {
        if (page > run) {
          if (std::string error = put(base + run, parts.memory.subspan(run, page - run));
              !error.empty()) {
            return error;
          }
        }
        run = page + abi::kPageSize;
      }
    }
    return {};
  };
  sha.update(bytes_of(header));  // digest field still zero
  for (const auto& entry : table)
    sha.update(bytes_of(entry));
  std::uint64_t at = kHeaderBytes;
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    sha.zeros(layout.offset[i] - at);
    const Bytes section = sections[i];
    std::string error;
    if (kOrder[i] != abi::SaveSectionType::memory) {
      sha.update(section);
      error = put(layout.offset[i], section);
    } else if (parts.memory_extents.empty()) {
      error = put_memory(layout.offset[i], 0, memory_size);
    } else {
      std::uint64_t done = 0;
      for (const MemoryExtent& extent : parts.memory_extents) {
        sha.zeros(extent.offset - done);
        error = put_memory(layout.offset[i], extent.offset, extent.offset + extent.length);
        if (!error.empty()) break;
        done = extent.offset + extent.length;
      }
      sha.zeros(memory_size - done);
    }
    if (!error.empty())
      return bad("writing the " + std::string(kSectionNames[i]) + " section: " + error);
    at = layout.offset[i] + section.size();
  }
  const Digest digest = sha.finish();
  if (sha.failed()) return bad("SHA-256 failed (OpenSSL)");
  std::memcpy(header.digest, digest.data(), digest.size());
  std::uint8_t head[kHeaderBytes];
  std::memcpy(head, &header, sizeof header);
  std::memcpy(head + sizeof header, table, sizeof table);
  if (std::string error = put(0, {head, sizeof head}); !error.empty()) {
    return bad("writing the header: " + error);
  }
  return {};
}

tl::expected<std::vector<std::uint8_t>, std::string> encode_save_image(
    const SaveImageParts& parts) {
  auto size = save_image_size(parts);
  if (!size) return tl::unexpected(size.error());
  std::vector<std::uint8_t> out(static_cast<std::size_t>(*size), 0);
  auto written = write_save_image(parts, [&](std::uint64_t offset, Bytes bytes) -> std::string {
    if (offset > out.size() || bytes.size() > out.size() - offset) return "beyond the image";
    std::memcpy(out.data() + offset, bytes.data(), bytes.size());
    return {};
  });
  if (!written) return tl::unexpected(written.error());
  return out;
}

std::array<std::uint8_t, 32> save_image_digest(std::span<const std::uint8_t> image) {
  if (image.size() < sizeof(abi::SaveImageHeader)) return {};
  abi::SaveImageHeader header = load<abi::SaveImageHeader>(image, 0);
  std::memset(header.digest, 0, sizeof header.digest);
  Sha256 sha;
  sha.update(bytes_of(header));
  sha.update(image.subspan(sizeof header));
  return sha.finish();
}

tl::expected<SaveImageView, std::string> parse_save_image(std::span<const std::uint8_t> image) {
  // 1. The header and the table of contents: sizes and the canonical layout.
  if (image.size() < kHeaderBytes) {
    return bad("image of " + std::to_string(image.size()) + " bytes is shorter than its " +
               std::to_string(kHeaderBytes) + "-byte header");
  }
  const auto header = load<abi::SaveImageHeader>(image, 0);
  if (std::memcmp(header.magic, abi::kSaveImageMagic, sizeof header.magic) != 0) {
    return bad("not a shype save image (bad magic)");
  }
  if (header.version_major != abi::kSaveImageVersionMajor ||
      header.version_minor != abi::kSaveImageVersionMinor) {
    return bad("image format version " + std::to_string(header.version_major) + "." +
               std::to_string(header.version_minor) + " (this reader knows " +
               std::to_string(abi::kSaveImageVersionMajor) + "." +
               std::to_string(abi::kSaveImageVersionMinor) + ")");
  }
  if (header.section_count != abi::kSaveSectionCount) {
    return bad("section_count " + std::to_string(header.section_count) + " (expected " +
               std::to_string(abi::kSaveSectionCount) + ")");
  }
  if (header.header_size != kHeaderBytes) {
    return bad("header_size " + std::to_string(header.header_size) + " (expected " +
               std::to_string(kHeaderBytes) + ")");
  }
  if (header.flags != 0) return bad("header flags has unknown bits");
  if (header.image_size != image.size()) {
    return bad("image_size " + std::to_string(header.image_size) + " but the image has " +
               std::to_string(image.size()) + " bytes");
  }
  abi::SaveSection table[abi::kSaveSectionCount];
  std::uint64_t lengths[abi::kSaveSectionCount];
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    table[i] = load<abi::SaveSection>(image, sizeof header + i * sizeof(abi::SaveSection));
    if (table[i].type != static_cast<std::uint32_t>(kOrder[i])) {
      return bad("section " + std::to_string(i) + " has type " + std::to_string(table[i].type) +
                 " (expected " + std::to_string(static_cast<std::uint32_t>(kOrder[i])) + ", " +
                 kSectionNames[i] + ")");
    }
    if (table[i].flags != 0)
      return bad(std::string(kSectionNames[i]) + " section flags has unknown bits");
    lengths[i] = table[i].length;
  }
  // The memory length is checked against memory_mib below; here only bound
  // it, so that the layout arithmetic cannot overflow.
  const std::uint64_t kMaxMemory = std::uint64_t{abi::kMaxMemoryMib} * kMiB;
  if (lengths[4] > kMaxMemory) {
    return bad("memory section is " + std::to_string(lengths[4]) + " bytes (at most " +
               std::to_string(kMaxMemory) + ")");
  }
  if (auto ok = check_lengths(lengths, static_cast<std::uint32_t>(lengths[4] / kMiB)); !ok) {
    return tl::unexpected(ok.error());
  }
  const Layout layout = layout_for(lengths);
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    if (table[i].offset != layout.offset[i]) {
      return bad(std::string(kSectionNames[i]) + " section at offset " +
                 std::to_string(table[i].offset) + " (expected " +
                 std::to_string(layout.offset[i]) + ")");
    }
  }
  if (layout.image_size != image.size()) {
    return bad("the sections end at " + std::to_string(layout.image_size) + " but the image has " +
               std::to_string(image.size()) + " bytes");
  }
  std::uint64_t at = kHeaderBytes;
  for (std::uint32_t i = 0; i < abi::kSaveSectionCount; ++i) {
    if (!all_zero(image.subspan(at, layout.offset[i] - at))) {
      return bad(std::string("padding before the ") + kSectionNames[i] + " section is not zero");
    }
    at = layout.offset[i] + layout.length[i];
  }

  // 2. The digest over everything.
  const Digest digest = save_image_digest(image);
  if (std::memcmp(digest.data(), header.digest, digest.size()) != 0) {
    return bad("checksum mismatch: the image is corrupt (SHA-256 differs)");
  }

  // 3. The domain record.
  const auto record = load<abi::SaveDomainRecord>(image, layout.offset[0]);
  auto metadata = decode_record(record);
  if (!metadata) return tl::unexpected(metadata.error());
  const auto section = [&](std::uint32_t i) {
    return image.subspan(layout.offset[i], layout.length[i]);
  };
  const Bytes cmdline = section(1);
  // SAFETY: char and uint8_t have the same size and alignment; copied out.
  metadata->cmdline.assign(reinterpret_cast<const char*>(cmdline.data()), cmdline.size());
  if (auto ok = check_metadata(*metadata); !ok) return tl::unexpected(ok.error());
  if (lengths[4] != std::uint64_t{metadata->memory_mib} * kMiB) {
    return bad("memory section is " + std::to_string(lengths[4]) + " bytes, but memory_mib " +
               std::to_string(metadata->memory_mib) + " needs " +
               std::to_string(std::uint64_t{metadata->memory_mib} * kMiB));
  }

  SaveImageView view;
  view.version_major = header.version_major;
  view.version_minor = header.version_minor;
  view.parts.metadata = std::move(*metadata);
  view.parts.kernel = section(2);
  view.parts.toolstack_record = section(3);
  view.parts.memory = section(4);
  return view;
}

}  // namespace shype::hv
