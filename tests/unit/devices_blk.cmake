# blkback's pure parts (toolstack/devices/blk/): the request decoder and
# validator, and Xen's vdev numbering. The sources are compiled in directly,
# so these tests do not need the device thread.
set(SHYPE_DEVICES_BLK_DIR ${CMAKE_CURRENT_LIST_DIR}/../../toolstack/devices)
file(GLOB SHYPE_DEVICES_BLK_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/devices/blk_*.cpp)
add_executable(devices_blk_unit_tests ${SHYPE_DEVICES_BLK_UNIT_TESTS}
  ${SHYPE_DEVICES_BLK_DIR}/blk/blkif_request.cpp
  ${SHYPE_DEVICES_BLK_DIR}/blk/vdev.cpp)
target_include_directories(devices_blk_unit_tests PRIVATE ${SHYPE_DEVICES_BLK_DIR}/include)
target_link_libraries(devices_blk_unit_tests PRIVATE shype_xenctrl shype_acm shype_hv_wire
                      tl::expected GTest::gtest_main)
shype_target_warnings(devices_blk_unit_tests)
shype_unit_tests(devices_blk_unit_tests TEST_PREFIX devices_blk. DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS unit TIMEOUT 120)
