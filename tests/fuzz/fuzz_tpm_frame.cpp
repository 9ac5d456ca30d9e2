// Property fuzzer for the TPM command frames a domain sends its vTPM
// (STYLE.md rule 12; vtpm/src/tpmback.cpp check_command_frame): the
// backend's header checks, then, for what they let through, libtpms (the
// TPM inside every vTPM worker) on a TPM started once for the whole run.
//
// Properties, for every input:
//  - nothing crashes or reads outside the frame (ASan);
//  - an accepted frame is 10..4096 bytes, with tag TPM_ST_NO_SESSIONS or
//    TPM_ST_SESSIONS and a size field equal to its length;
//  - libtpms answers every accepted frame with a response frame the
//    backend accepts (check_response_frame): a guest cannot make its TPM
//    send the backend something malformed.
// Any violation aborts.
#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "vtpm/tpmback.hpp"

namespace {

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "fuzz_tpm_frame: property violated: %s\n", property);
  std::abort();
}

// In-memory NVRAM: a fresh TPM, nothing kept.
TPM_RESULT nv_init() { return TPM_SUCCESS; }
TPM_RESULT nv_load(unsigned char**, uint32_t*, uint32_t, const char*) { return TPM_RETRY; }
TPM_RESULT nv_store(const unsigned char*, uint32_t, uint32_t, const char*) { return TPM_SUCCESS; }
TPM_RESULT nv_delete(uint32_t, const char*, TPM_BOOL) { return TPM_SUCCESS; }

struct Tpm {
  unsigned char* response = nullptr;
  uint32_t response_size = 0;
  uint32_t buffer_size = 0;

  Tpm() {
    libtpms_callbacks callbacks{};
    callbacks.sizeOfStruct = sizeof callbacks;
    callbacks.tpm_nvram_init = nv_init;
    callbacks.tpm_nvram_loaddata = nv_load;
    callbacks.tpm_nvram_storedata = nv_store;
    callbacks.tpm_nvram_deletename = nv_delete;
    if (TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS ||
        TPMLIB_RegisterCallbacks(&callbacks) != TPM_SUCCESS || TPMLIB_MainInit() != TPM_SUCCESS) {
      violated("libtpms did not start");
    }
    // TPM2_Startup(TPM_SU_CLEAR)
    std::array<unsigned char, 12> startup = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
    run(startup.data(), static_cast<uint32_t>(startup.size()));
  }
  void run(unsigned char* command, uint32_t size) {
    if (TPMLIB_Process(&response, &response_size, &buffer_size, command, size) != TPM_SUCCESS) {
      violated("libtpms failed to process a frame");
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shype::vtpm;
  const std::span<const std::uint8_t> frame(data, size);
  if (!check_command_frame(frame)) return 0;
  if (size < kFrameHeaderBytes || size > kMaxFrameBytes) violated("accepted a frame of bad length");
  const unsigned tag = (unsigned{data[0]} << 8) | data[1];
  if (tag != 0x8001 && tag != 0x8002) violated("accepted a bad tag");
  const std::uint32_t announced = (std::uint32_t{data[2]} << 24) | (std::uint32_t{data[3]} << 16) |
                                  (std::uint32_t{data[4]} << 8) | data[5];
  if (announced != size) violated("accepted a size field that is not the length");

  static Tpm tpm;
  // libtpms takes a mutable buffer.
  std::array<unsigned char, kMaxFrameBytes> copy{};
  for (std::size_t i = 0; i < size; ++i) copy[i] = data[i];
  tpm.run(copy.data(), static_cast<uint32_t>(size));
  if (!check_response_frame(std::span<const std::uint8_t>(tpm.response, tpm.response_size))) {
    violated("libtpms answered with a frame the backend refuses");
  }
  return 0;
}
