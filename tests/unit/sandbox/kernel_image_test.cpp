// validate_kernel_image: the built kernels pass; each malformed variant of
// one is refused with the field named.
#include "sandbox/kernel_image.hpp"

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <elf.h>
#include <gtest/gtest.h>

namespace shype::sandbox {
namespace {

std::string load(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Elf64_Ehdr header(const std::string& image) {
  Elf64_Ehdr ehdr{};
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  return ehdr;
}

// Edits the first program header of `type` (with `flags` set, if given).
template <typename Edit>
bool edit_phdr(std::string& image, std::uint32_t type, std::uint32_t flags, Edit edit) {
  const Elf64_Ehdr ehdr = header(image);
  for (int i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr{};
    const std::size_t at = ehdr.e_phoff + static_cast<std::size_t>(i) * sizeof phdr;
    std::memcpy(&phdr, image.data() + at, sizeof phdr);
    if (phdr.p_type == type && (phdr.p_flags & flags) == flags) {
      edit(phdr);
      std::memcpy(image.data() + at, &phdr, sizeof phdr);
      return true;
    }
  }
  return false;
}

void expect_refused(const std::string& image, const std::string& reason) {
  const auto result = validate_kernel_image(image);
  ASSERT_FALSE(result) << "accepted; expected: " << reason;
  EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
}

TEST(KernelImage, BuiltKernelsAreAccepted) {
  for (const char* path : {SHYPE_GUEST_HELLO, SHYPE_GUEST_COUNTER, SHYPE_GUEST_ROGUE}) {
    const auto result = validate_kernel_image(load(path));
    EXPECT_TRUE(result) << path << ": " << result.error().message;
  }
}

TEST(KernelImage, MalformedImagesAreRefused) {
  const std::string good = load(SHYPE_GUEST_HELLO);
  ASSERT_GT(good.size(), sizeof(Elf64_Ehdr));
  expect_refused("#!/bin/sh\necho hello from a script that is long enough to be read as a header\n",
                 "not an ELF file");
  expect_refused(good.substr(0, 20), "shorter than an ELF header");

  std::string image = good;
  image[EI_CLASS] = ELFCLASS32;
  expect_refused(image, "EI_CLASS");

  image = good;
  Elf64_Ehdr ehdr = header(image);
  ehdr.e_machine = EM_AARCH64;
  std::memcpy(image.data(), &ehdr, sizeof ehdr);
  expect_refused(image, "e_machine");

  image = good;
  ehdr = header(image);
  ehdr.e_phoff = image.size() - 8;
  std::memcpy(image.data(), &ehdr, sizeof ehdr);
  expect_refused(image, "e_phoff");

  image = good;
  ehdr = header(image);
  ehdr.e_entry = 0x10;
  std::memcpy(image.data(), &ehdr, sizeof ehdr);
  expect_refused(image, "e_entry");

  image = good;
  ASSERT_TRUE(edit_phdr(image, PT_GNU_STACK, 0, [](Elf64_Phdr& p) { p.p_type = PT_INTERP; }));
  expect_refused(image, "PT_INTERP");

  image = good;
  ASSERT_TRUE(edit_phdr(image, PT_GNU_STACK, 0, [](Elf64_Phdr& p) { p.p_flags |= PF_X; }));
  expect_refused(image, "executable stack");

  image = good;
  ASSERT_TRUE(edit_phdr(image, PT_LOAD, PF_X, [](Elf64_Phdr& p) { p.p_flags |= PF_W; }));
  expect_refused(image, "both writable and executable");

  image = good;
  ASSERT_TRUE(edit_phdr(image, PT_LOAD, PF_X, [](Elf64_Phdr& p) { p.p_filesz = ~0ull - 4; }));
  expect_refused(image, "outside the image");
}

}  // namespace
}  // namespace shype::sandbox
