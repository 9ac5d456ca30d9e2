# What a domain sends its vTPM (vtpm/, tpmback): the backend's frame checks,
# and every frame they let through run by libtpms, the TPM the workers use.
if(TARGET shype_vtpm)
  pkg_check_modules(FUZZ_LIBTPMS IMPORTED_TARGET libtpms)
  if(FUZZ_LIBTPMS_FOUND)
    shype_fuzz_target(fuzz_tpm_frame
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tpm_frame.cpp
      LIBS shype_vtpm PkgConfig::FUZZ_LIBTPMS)
  endif()
endif()
