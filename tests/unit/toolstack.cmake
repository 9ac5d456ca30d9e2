# The toolstack's own units (tests/unit/toolstack/): the xm <-> xend RPC
# transport and xm's output layouts.
if(TARGET shype_rpc AND TARGET shype_xm_format)
  file(GLOB SHYPE_TOOLSTACK_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/toolstack/*.cpp)
  add_executable(toolstack_unit_tests ${SHYPE_TOOLSTACK_UNIT_TESTS})
  target_link_libraries(toolstack_unit_tests PRIVATE shype_rpc shype_xm_format GTest::gtest_main)
  shype_target_warnings(toolstack_unit_tests)
  shype_unit_tests(toolstack_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit TIMEOUT 120)
endif()
