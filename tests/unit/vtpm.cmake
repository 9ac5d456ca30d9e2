# The vTPM manager's units (tests/unit/vtpm/): the registry and its
# allocation rule, its stored form, TPM frame checks, and the manager's
# answers to bad requests (no worker is started here; tests/e2e/vtpm does);
# the protected-state formats, and sealing and the state store against a
# swtpm standing in for the platform TPM (SwtpmProcess, tests/support); and
# attestation (local CA, manufacturing, deep quote, verifier) on bare swtpms.
if(TARGET shype_vtpm)
  file(GLOB SHYPE_VTPM_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/vtpm/*.cpp)
  add_executable(vtpm_unit_tests ${SHYPE_VTPM_UNIT_TESTS})
  target_link_libraries(vtpm_unit_tests PRIVATE shype_vtpm shype_test_support GTest::gtest_main)
  target_compile_definitions(vtpm_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS})
  shype_target_warnings(vtpm_unit_tests)
  gtest_discover_tests(vtpm_unit_tests TEST_PREFIX vtpm. DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit TIMEOUT 120)
endif()
