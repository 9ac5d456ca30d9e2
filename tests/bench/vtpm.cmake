# vTPM command latency: TPM2_GetRandom through the manager's standard access
# path (a manager-run, confined swtpm worker reached through the tpm2-tss
# swtpm TCTI) against a bare swtpm on the same socket kind and in-process
# libtpms; and an instance's start from saved state. See vtpm_bench.cpp.
if(TARGET shype_vtpm)
  pkg_check_modules(VTPM_BENCH_DEPS IMPORTED_TARGET tss2-tctildr tss2-tcti-swtpm libtpms)
  if(VTPM_BENCH_DEPS_FOUND)
    add_executable(vtpm_bench ${CMAKE_CURRENT_LIST_DIR}/vtpm_bench.cpp)
    target_link_libraries(vtpm_bench PRIVATE shype_vtpm shype_test_support PkgConfig::VTPM_BENCH_DEPS
                          benchmark::benchmark)
    shype_target_warnings(vtpm_bench)
  endif()
endif()

# Attestation: a deep quote against a plain platform quote, the verifier,
# and manufacturing. See vtpm_attest_bench.cpp.
if(TARGET shype_vtpm)
  add_executable(vtpm_attest_bench ${CMAKE_CURRENT_LIST_DIR}/vtpm_attest_bench.cpp)
  target_link_libraries(vtpm_attest_bench PRIVATE shype_vtpm shype_test_support
                        benchmark::benchmark)
  shype_target_warnings(vtpm_attest_bench)
endif()
