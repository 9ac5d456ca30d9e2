# The vTPM manager's protected-state files (vtpm/state_blob.hpp,
# platform_seal.hpp): state blobs, the manifest and the sealed manager key,
# all read back from disk that an attacker may have written.
if(TARGET shype_vtpm)
  shype_fuzz_target(fuzz_vtpm_state_blob
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vtpm_state_blob.cpp
    LIBS shype_vtpm)
endif()
