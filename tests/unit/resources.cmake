# shype_resources' units (tests/unit/resources/): paths inside a root,
# canonical resource names, labels, the label store (with its crash test and
# extended attributes) and the relabel planner.
if(TARGET shype_resources)
  file(GLOB SHYPE_RESOURCES_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/resources/*.cpp)
  add_executable(resources_unit_tests ${SHYPE_RESOURCES_UNIT_TESTS})
  target_link_libraries(resources_unit_tests PRIVATE shype_resources shype_test_support
                        GTest::gtest_main)
  # The fallback path walk is internal; its tests include it directly.
  target_include_directories(resources_unit_tests PRIVATE
                             ${CMAKE_CURRENT_LIST_DIR}/../../toolstack/resources/src)
  target_compile_definitions(resources_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS})
  shype_target_warnings(resources_unit_tests)
  shype_unit_tests(resources_unit_tests TEST_PREFIX resources. DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS unit TIMEOUT 120)
endif()
