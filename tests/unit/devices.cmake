# xenstore (toolstack/devices/src/xenstore.cpp, xs_protocol.cpp): store
# semantics (permissions, watches, transactions, quotas) and the wire
# decoder and session a guest talks to. The sources are compiled in
# directly: these tests need neither the device thread nor the backends.
set(SHYPE_DEVICES_DIR ${CMAKE_CURRENT_LIST_DIR}/../../toolstack/devices)
file(GLOB SHYPE_DEVICES_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/devices/xs_*.cpp)
add_executable(devices_unit_tests ${SHYPE_DEVICES_UNIT_TESTS}
  ${SHYPE_DEVICES_DIR}/src/xenstore.cpp
  ${SHYPE_DEVICES_DIR}/src/xs_protocol.cpp)
target_include_directories(devices_unit_tests PRIVATE ${SHYPE_DEVICES_DIR}/include)
target_link_libraries(devices_unit_tests PRIVATE shype_hv_wire tl::expected GTest::gtest_main)
shype_target_warnings(devices_unit_tests)
shype_unit_tests(devices_unit_tests TEST_PREFIX devices. DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS unit TIMEOUT 120)
