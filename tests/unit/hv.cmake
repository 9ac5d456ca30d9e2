# shype-hv's units (tests/unit/hv/): the hypercall codec, console ring,
# boot configuration, domain ids, /proc sampling, sealed memfds.
if(TARGET shype_hv_core)
  file(GLOB SHYPE_HV_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/hv/*.cpp)
  add_executable(hv_unit_tests ${SHYPE_HV_UNIT_TESTS})
  target_link_libraries(hv_unit_tests PRIVATE shype_hv_core shype_test_support GTest::gtest_main)
  target_compile_definitions(hv_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS})
  shype_target_warnings(hv_unit_tests)
  shype_unit_tests(hv_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit TIMEOUT 120)
endif()
