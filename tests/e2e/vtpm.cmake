# The vTPM manager end to end: the real vtpm_managerd under a temporary root,
# driven by vtpmctl, with tpm2-tools talking to the instances (skipped with a
# message if swtpm or tpm2-tools are missing; scripts/install-deps.sh
# installs them).
if(TARGET vtpm_managerd AND TARGET vtpmctl)
  add_executable(vtpm_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/vtpm_test.cpp)
  target_link_libraries(vtpm_e2e_tests PRIVATE shype_test_support nlohmann_json::nlohmann_json
                        GTest::gtest_main)
  target_compile_definitions(vtpm_e2e_tests PRIVATE
    VTPM_MANAGERD_PATH="$<TARGET_FILE:vtpm_managerd>"
    VTPMCTL_PATH="$<TARGET_FILE:vtpmctl>")
  add_dependencies(vtpm_e2e_tests vtpm_managerd vtpmctl)
  shype_target_warnings(vtpm_e2e_tests)
  gtest_discover_tests(vtpm_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 120)
endif()

# Attestation end to end: EK certificates, PCR banks, deep quotes and their
# verifier, with a swtpm (SwtpmProcess) as the platform TPM.
if(TARGET vtpm_managerd AND TARGET vtpmctl)
  add_executable(vtpm_attest_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/vtpm_attest_test.cpp)
  target_link_libraries(vtpm_attest_e2e_tests PRIVATE shype_test_support
                        nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(vtpm_attest_e2e_tests PRIVATE
    VTPM_MANAGERD_PATH="$<TARGET_FILE:vtpm_managerd>"
    VTPMCTL_PATH="$<TARGET_FILE:vtpmctl>")
  add_dependencies(vtpm_attest_e2e_tests vtpm_managerd vtpmctl)
  shype_target_warnings(vtpm_attest_e2e_tests)
  gtest_discover_tests(vtpm_attest_e2e_tests TEST_PREFIX vtpm_attest. DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS e2e TIMEOUT 180)
endif()
