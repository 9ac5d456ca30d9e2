# A driver domain end to end (manual 10.3.4, docs/devices-block.md "Driver
# domains"): the guest_vio kernel serves its own disks to client domains
# with guest_disk, under the example.vio policy.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_vio AND TARGET guest_disk)
  add_executable(xm_vio_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/xm_vio_test.cpp)
  target_include_directories(xm_vio_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(xm_vio_e2e_tests PRIVATE shype_test_support nlohmann_json::nlohmann_json
                        GTest::gtest_main)
  target_compile_definitions(xm_vio_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_DISK_PATH="$<TARGET_FILE:guest_disk>"
    GUEST_VIO_PATH="$<TARGET_FILE:guest_vio>")
  add_dependencies(xm_vio_e2e_tests xm xend shype-hv guest_hello guest_counter guest_disk guest_vio)
  shype_target_warnings(xm_vio_e2e_tests)
  gtest_discover_tests(xm_vio_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 600)
endif()
