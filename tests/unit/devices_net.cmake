# netback's pure parts (toolstack/devices/net/): MAC addresses, tx request
# and frame validation, the tx ring pass, the learning bridge, the label
# filter, the audit log's rate limit and the vif counters a driver domain
# publishes; and the driver domains' bridge table (the guest runtime's
# freestanding learning_table.hpp). The sources are compiled in
# directly, so these tests do not need the device thread.
set(SHYPE_DEVICES_NET_DIR ${CMAKE_CURRENT_LIST_DIR}/../../toolstack/devices/net)
file(GLOB SHYPE_DEVICES_NET_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/devices/net_*.cpp)
add_executable(devices_net_unit_tests ${SHYPE_DEVICES_NET_UNIT_TESTS}
  ${SHYPE_DEVICES_NET_DIR}/mac_address.cpp
  ${SHYPE_DEVICES_NET_DIR}/netif_frame.cpp
  ${SHYPE_DEVICES_NET_DIR}/bridge.cpp
  ${SHYPE_DEVICES_NET_DIR}/label_filter.cpp
  ${SHYPE_DEVICES_NET_DIR}/net_audit.cpp
  ${SHYPE_DEVICES_NET_DIR}/vif_statistics.cpp)
target_include_directories(devices_net_unit_tests PRIVATE ${SHYPE_DEVICES_NET_DIR}
  ${CMAKE_CURRENT_LIST_DIR}/../../hypervisor/guest/runtime/include)
target_link_libraries(devices_net_unit_tests PRIVATE shype_hv_wire GTest::gtest_main)
shype_target_warnings(devices_net_unit_tests)
shype_unit_tests(devices_net_unit_tests TEST_PREFIX devices_net. DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS unit TIMEOUT 120)
