#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "vtpm/tpmback.hpp"

namespace shype::vtpm {
namespace {

// TPM2_GetRandom(8): tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom.
const std::vector<std::uint8_t> kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                              0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};

TEST(VtpmFrame, WellFormedCommandIsAccepted) {
  EXPECT_TRUE(check_command_frame(kGetRandom));
}

TEST(VtpmFrame, MalformedCommandsNameTheField) {
  auto short_frame =
      check_command_frame(std::vector<std::uint8_t>(kGetRandom.begin(), kGetRandom.begin() + 9));
  ASSERT_FALSE(short_frame);
  EXPECT_NE(short_frame.error().message.find("shorter than its 10-byte header"), std::string::npos);

  auto bad_tag = kGetRandom;
  bad_tag[1] = 0x05;
  auto tag = check_command_frame(bad_tag);
  ASSERT_FALSE(tag);
  EXPECT_NE(tag.error().message.find("tag"), std::string::npos);

  auto bad_size = kGetRandom;
  bad_size[5] = 0x20;
  auto size = check_command_frame(bad_size);
  ASSERT_FALSE(size);
  EXPECT_NE(size.error().message.find("size field 32 but the frame has 12 bytes"),
            std::string::npos);

  std::vector<std::uint8_t> huge(kMaxFrameBytes + 1, 0);
  auto too_big = check_command_frame(huge);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("more than 4096"), std::string::npos);
}

TEST(VtpmFrame, ResponseTagOfATpm12ErrorIsAccepted) {
  // A TPM 2.0 answers an unknown tag with a TPM 1.2-style error response.
  const std::vector<std::uint8_t> response = {0x00, 0xc4, 0x00, 0x00, 0x00,
                                              0x0a, 0x00, 0x00, 0x00, 0x1e};
  EXPECT_TRUE(check_response_frame(response));
  EXPECT_FALSE(check_command_frame(response));
}

TEST(VtpmFrame, UnreachableInstanceIsAClearError) {
  auto backend = connect_instance("/nonexistent/tpm.sock", std::chrono::milliseconds(100));
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.error().message.find("cannot connect to /nonexistent/tpm.sock"),
            std::string::npos);
}

}  // namespace
}  // namespace shype::vtpm
