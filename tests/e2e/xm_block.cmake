# Block devices end to end (docs/devices-block.md): xm, xend, blkback and the
# guest_disk kernel's blkfront against a real shype-hv under a temporary
# SHYPE_ROOT, with labeled disk images (manual 10.2.5-10.2.6).
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_disk)
  shype_xm_e2e_test(xm_block_e2e_tests xm_block_test.cpp GUESTS guest_disk)
endif()

# blkback behind the device host without xend: what xend's own checks would
# hide (the backend's policy check, an image that vanishes while attached).
if(TARGET shype-hv AND TARGET guest_disk AND TARGET shype_devices)
  add_executable(blk_host_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/blk_host_test.cpp)
  target_include_directories(blk_host_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(blk_host_e2e_tests PRIVATE shype_devices shype_hv_core shype_xenctrl
                        shype_acm_xml shype_acm shype_test_support GTest::gtest_main)
  target_compile_definitions(blk_host_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_ROGUE_PATH="$<TARGET_FILE:guest_rogue>"
    GUEST_DISK_PATH="$<TARGET_FILE:guest_disk>")
  add_dependencies(blk_host_e2e_tests shype-hv guest_disk)
  shype_target_warnings(blk_host_e2e_tests)
  gtest_discover_tests(blk_host_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 300)
endif()
