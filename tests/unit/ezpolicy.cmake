# ezpolicy's units (tests/unit/ezpolicy/): the workload model's rules and
# undo/redo, .wld files, the translation to XML policies, and
# xensec_ezpolicy run as a process.
if(TARGET shype_ezpolicy)
  file(GLOB SHYPE_EZPOLICY_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/ezpolicy/*.cpp)
  add_executable(ezpolicy_unit_tests ${SHYPE_EZPOLICY_UNIT_TESTS})
  target_link_libraries(ezpolicy_unit_tests PRIVATE shype_ezpolicy shype_test_support
                        GTest::gtest_main)
  target_compile_definitions(ezpolicy_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS}
                             XENSEC_EZPOLICY_PATH="$<TARGET_FILE:xensec_ezpolicy>")
  add_dependencies(ezpolicy_unit_tests xensec_ezpolicy)
  if(TARGET shype_ezpolicy_window)
    target_compile_definitions(ezpolicy_unit_tests PRIVATE XENSEC_EZPOLICY_HAS_WINDOW)
  endif()
  shype_target_warnings(ezpolicy_unit_tests)
  shype_unit_tests(ezpolicy_unit_tests TEST_PREFIX ezpolicy. DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit TIMEOUT 120)
endif()
