#include "hv/save_image.hpp"

#include <cstring>
#include <map>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "hv/kernel_store.hpp"
#include "hv/sealed_memfd.hpp"

namespace shype::hv {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kRecordAt = sizeof(abi::SaveImageHeader) + 5 * sizeof(abi::SaveSection);

struct Fixture {
  std::vector<std::uint8_t> kernel;
  std::vector<std::uint8_t> record;
  std::vector<std::uint8_t> memory;
  SaveImageParts parts;

  Fixture() : kernel(3000), record{'c', 'f', 'g'}, memory(kMiB, 0) {
    for (std::size_t i = 0; i < kernel.size(); ++i)
      kernel[i] = static_cast<std::uint8_t>(i * 7);
    memory[0] = 1;                 // page 0 has data
    memory[5 * 4096 + 17] = 0x42;  // page 5 too
    memory[kMiB - 1] = 0x99;       // and the last page
    parts.metadata.name = "web-1";
    parts.metadata.memory_mib = 1;
    parts.metadata.ssidref = 0x00020002;
    parts.metadata.resume_count = 3;
    parts.metadata.saved_at_ns = 1'700'000'000'000'000'000ull;
    parts.metadata.cpu_time_ns = 12345;
    parts.metadata.label = "A-Bank";
    parts.metadata.policy_name = "mytest";
    parts.metadata.policy_fingerprint.fill(0xab);
    parts.metadata.cmdline = "period=10 x";
    parts.kernel = kernel;
    parts.toolstack_record = record;
    parts.memory = memory;
  }
};

std::vector<std::uint8_t> encode(const SaveImageParts& parts) {
  auto image = encode_save_image(parts);
  EXPECT_TRUE(image) << image.error();
  return image ? *image : std::vector<std::uint8_t>{};
}

// Puts a correct digest on a deliberately changed image, so that the
// structural checks are what refuses it.
void reseal(std::vector<std::uint8_t>& image) {
  const auto digest = save_image_digest(image);
  std::memcpy(image.data() + offsetof(abi::SaveImageHeader, digest), digest.data(), digest.size());
}

TEST(SaveImage, RoundTripsEveryField) {
  Fixture f;
  const auto image = encode(f.parts);
  ASSERT_EQ(image.size(), *save_image_size(f.parts));
  EXPECT_EQ(image.size() % abi::kPageSize, 0u) << "memory ends the image on a page boundary";
  auto view = parse_save_image(image);
  ASSERT_TRUE(view) << view.error();
  EXPECT_EQ(view->version_major, 1);
  EXPECT_EQ(view->version_minor, 0);
  EXPECT_EQ(view->parts.metadata, f.parts.metadata);
  EXPECT_TRUE(std::equal(view->parts.kernel.begin(), view->parts.kernel.end(), f.kernel.begin(),
                         f.kernel.end()));
  EXPECT_TRUE(std::equal(view->parts.toolstack_record.begin(), view->parts.toolstack_record.end(),
                         f.record.begin(), f.record.end()));
  EXPECT_TRUE(std::equal(view->parts.memory.begin(), view->parts.memory.end(), f.memory.begin(),
                         f.memory.end()));
  // Canonical: what was parsed encodes to the same bytes.
  EXPECT_EQ(encode(view->parts), image);
}

TEST(SaveImage, EmptyRecordAndCmdlineAndUnnamedLabel) {
  Fixture f;
  f.parts.toolstack_record = {};
  f.parts.metadata.cmdline.clear();
  f.parts.metadata.label.clear();
  const auto image = encode(f.parts);
  auto view = parse_save_image(image);
  ASSERT_TRUE(view) << view.error();
  EXPECT_TRUE(view->parts.toolstack_record.empty());
  EXPECT_EQ(view->parts.metadata.cmdline, "");
  EXPECT_EQ(view->parts.metadata.label, "");
}

TEST(SaveImage, ZeroMemoryPagesAreNotWritten) {
  Fixture f;
  std::map<std::uint64_t, std::uint64_t> writes;
  std::vector<std::uint8_t> out(*save_image_size(f.parts), 0);
  auto written =
      write_save_image(f.parts, [&](std::uint64_t offset, std::span<const std::uint8_t> bytes) {
        writes[offset] = bytes.size();
        std::memcpy(out.data() + offset, bytes.data(), bytes.size());
        return std::string();
      });
  ASSERT_TRUE(written) << written.error();
  EXPECT_EQ(out, encode(f.parts));
  const std::uint64_t memory_at = out.size() - kMiB;
  std::uint64_t memory_written = 0;
  for (const auto& [offset, length] : writes) {
    if (offset >= memory_at) memory_written += length;
  }
  EXPECT_EQ(memory_written, 3 * abi::kPageSize) << "pages 0, 5 and the last";
}

TEST(SaveImage, MemoryOutsideTheExtentsIsNotRead) {
  Fixture f;
  const auto full = encode(f.parts);
  // The same memory, described by extents; the bytes outside them are
  // garbage the writer must not look at.
  std::vector<std::uint8_t> garbled = f.memory;
  for (std::size_t i = abi::kPageSize; i < 5 * abi::kPageSize; ++i)
    garbled[i] = 0xee;
  const MemoryExtent extents[] = {{0, abi::kPageSize},
                                  {5 * abi::kPageSize, abi::kPageSize},
                                  {kMiB - abi::kPageSize, abi::kPageSize}};
  SaveImageParts parts = f.parts;
  parts.memory = garbled;
  parts.memory_extents = extents;
  EXPECT_EQ(encode(parts), full);

  const MemoryExtent overlapping[] = {{0, 2 * abi::kPageSize}, {abi::kPageSize, abi::kPageSize}};
  parts.memory_extents = overlapping;
  EXPECT_FALSE(encode_save_image(parts));
  const MemoryExtent beyond[] = {{kMiB, abi::kPageSize}};
  parts.memory_extents = beyond;
  EXPECT_FALSE(encode_save_image(parts));
}

TEST(SaveImage, SinkErrorsStopTheWrite) {
  Fixture f;
  auto written = write_save_image(f.parts, [](std::uint64_t, std::span<const std::uint8_t>) {
    return std::string("No space left on device");
  });
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("No space left on device"), std::string::npos);
}

TEST(SaveImage, TheWriterRefusesWhatTheReaderWould) {
  const auto refused = [](auto change) {
    Fixture f;
    change(f);
    return !save_image_size(f.parts).has_value();
  };
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.name = ""; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.name = "a/b"; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.name = std::string(64, 'a'); }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.vcpus = 2; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.memory_mib = 2; }));  // memory is 1 MiB
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.memory_mib = 0; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.cmdline = std::string("a\0b", 3); }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.cmdline = std::string(1024, 'c'); }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.label = std::string(128, 'l'); }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.label = "tab\there"; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.metadata.resume_count = UINT32_MAX; }));
  EXPECT_TRUE(refused([](Fixture& f) { f.parts.kernel = {}; }));
  EXPECT_FALSE(refused([](Fixture& f) { f.parts.metadata.label = "Bank \xc3\xa9"; }));
}

TEST(SaveImage, EveryChangedByteOfTheHeadAndRecordIsRefused) {
  Fixture f;
  const auto good = encode(f.parts);
  const std::size_t kernel_at = kRecordAt + sizeof(abi::SaveDomainRecord) + 16;  // cmdline padded
  for (std::size_t at = 0; at < kernel_at + 64; ++at) {
    std::vector<std::uint8_t> bad = good;
    bad[at] ^= 0x01;
    EXPECT_FALSE(parse_save_image(bad)) << "byte " << at;
  }
}

TEST(SaveImage, DamageIsNamed) {
  Fixture f;
  const auto good = encode(f.parts);
  const auto reason = [](const std::vector<std::uint8_t>& image) {
    auto view = parse_save_image(image);
    return view ? std::string("accepted") : view.error();
  };
  auto memory = good;
  memory[good.size() - 10] ^= 0xff;
  EXPECT_NE(reason(memory).find("checksum mismatch"), std::string::npos) << reason(memory);

  EXPECT_NE(reason({good.begin(), good.end() - 1}).find("image_size"), std::string::npos);
  EXPECT_NE(reason({good.begin(), good.begin() + 100}).find("shorter than"), std::string::npos);
  EXPECT_NE(reason({}).find("shorter than"), std::string::npos);

  auto magic = good;
  magic[0] = 'X';
  EXPECT_NE(reason(magic).find("bad magic"), std::string::npos);

  auto version = good;
  version[8] = 2;  // version_major
  reseal(version);
  EXPECT_NE(reason(version).find("version 2.0"), std::string::npos) << reason(version);

  auto order = good;
  order[64] = 2;  // the first section claims to be the cmdline
  reseal(order);
  EXPECT_NE(reason(order).find("section 0 has type 2"), std::string::npos) << reason(order);

  // A section moved by 8 bytes, with everything else consistent but the
  // layout: not canonical.
  auto moved = good;
  abi::SaveSection kernel{};
  std::memcpy(&kernel, moved.data() + 64 + 2 * 24, sizeof kernel);
  kernel.offset += 8;
  std::memcpy(moved.data() + 64 + 2 * 24, &kernel, sizeof kernel);
  reseal(moved);
  EXPECT_NE(reason(moved).find("kernel section at offset"), std::string::npos) << reason(moved);

  // Nonzero padding after the cmdline (11 bytes, padded to 16).
  auto padding = good;
  padding[kRecordAt + sizeof(abi::SaveDomainRecord) + 12] = 1;
  reseal(padding);
  EXPECT_NE(reason(padding).find("padding before the kernel"), std::string::npos)
      << reason(padding);

  // Bytes after the NUL of the name.
  auto name = good;
  name[kRecordAt + 40] = 'x';
  reseal(name);
  EXPECT_NE(reason(name).find("name has bytes after its NUL"), std::string::npos) << reason(name);

  // A record whose memory size disagrees with the memory section.
  auto mib = good;
  const std::uint32_t two = 2;
  std::memcpy(mib.data() + kRecordAt + offsetof(abi::SaveDomainRecord, memory_mib), &two, 4);
  reseal(mib);
  EXPECT_NE(reason(mib).find("memory_mib 2"), std::string::npos) << reason(mib);

  // A huge length in the table is refused before any arithmetic with it.
  auto huge = good;
  const std::uint64_t length = ~std::uint64_t{0};
  std::memcpy(huge.data() + 64 + 4 * 24 + 16, &length, 8);
  reseal(huge);
  EXPECT_FALSE(parse_save_image(huge));
  std::memcpy(huge.data() + 64 + 2 * 24 + 16, &length, 8);
  reseal(huge);
  EXPECT_FALSE(parse_save_image(huge));
}

TEST(KernelStore, SharesIdenticalImagesAndForgetsUnusedOnes) {
  KernelStore store;
  const std::vector<std::uint8_t> bytes{1, 2, 3, 4};
  auto fd = make_sealed_memfd("kernel", bytes);
  ASSERT_TRUE(fd);
  auto first = store.read(fd->get(), 1024);
  ASSERT_TRUE(first);
  EXPECT_EQ(**first, bytes);
  auto second = store.intern(bytes);
  EXPECT_EQ(first->get(), second.get()) << "one copy for one image";
  auto other = store.intern({5, 6});
  EXPECT_NE(other.get(), first->get());
  EXPECT_EQ(store.size(), 2u);
  first->reset();
  second.reset();
  (void)store.intern({7});
  EXPECT_EQ(store.size(), 2u) << "the image nobody holds was forgotten";

  auto too_big = store.read(fd->get(), 3);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().status, Errno::inval);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto not_a_file = store.read(null.get(), 1024);
  ASSERT_FALSE(not_a_file);
  EXPECT_EQ(not_a_file.error().status, Errno::badf);
}

}  // namespace
}  // namespace shype::hv
