# vTPM migration end to end: two vtpm_managerd + vtpm_migratord pairs under
# two temporary roots on 127.0.0.1, each manager with its own swtpm as
# platform TPM, driven by vtpmctl and tpm2-tools (skipped with a message if
# swtpm or tpm2-tools are missing).
if(TARGET vtpm_managerd AND TARGET vtpmctl AND TARGET vtpm_migratord)
  add_executable(vtpm_migration_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/vtpm_migration_test.cpp)
  target_link_libraries(vtpm_migration_e2e_tests PRIVATE shype_test_support
                        nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(vtpm_migration_e2e_tests PRIVATE
    VTPM_MANAGERD_PATH="$<TARGET_FILE:vtpm_managerd>"
    VTPM_MIGRATORD_PATH="$<TARGET_FILE:vtpm_migratord>"
    VTPMCTL_PATH="$<TARGET_FILE:vtpmctl>")
  add_dependencies(vtpm_migration_e2e_tests vtpm_managerd vtpm_migratord vtpmctl)
  shype_target_warnings(vtpm_migration_e2e_tests)
  gtest_discover_tests(vtpm_migration_e2e_tests TEST_PREFIX vtpm_migration. DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS e2e TIMEOUT 300)
endif()
