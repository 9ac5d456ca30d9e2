# shype_xmconfig's units (tests/unit/xmconfig/): the configuration language,
# the typed domain view, JSON records and label editing.
if(TARGET shype_xmconfig)
  file(GLOB SHYPE_XMCONFIG_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/xmconfig/*.cpp)
  add_executable(xmconfig_unit_tests ${SHYPE_XMCONFIG_UNIT_TESTS})
  target_link_libraries(xmconfig_unit_tests PRIVATE shype_xmconfig shype_test_support
                        GTest::gtest_main)
  target_compile_definitions(xmconfig_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS})
  shype_target_warnings(xmconfig_unit_tests)
  # The prefix lets `ctest -R xmconfig` select these tests.
  shype_unit_tests(xmconfig_unit_tests TEST_PREFIX "xmconfig." DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit TIMEOUT 120)
endif()
