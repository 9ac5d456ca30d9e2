# xsm_unit_tests: the hook layer (tests/unit/xsm). The XML front end is
# linked here only, to compile the shipped policies into binaries the way
# the toolstack does; shype_xsm itself never sees XML.
file(GLOB SHYPE_XSM_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/xsm/*.cpp)
add_executable(xsm_unit_tests ${SHYPE_XSM_TESTS})
target_link_libraries(xsm_unit_tests PRIVATE shype_xsm shype_acm_xml shype_acm shype_test_support
                      nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(xsm_unit_tests PRIVATE ${SHYPE_TEST_DEFINITIONS})
shype_target_warnings(xsm_unit_tests)
shype_unit_tests(xsm_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit TIMEOUT 120)
