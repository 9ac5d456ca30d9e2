# The core split devices end to end (docs/devices.md): consoles on rings and
# the console daemon, xenstore with its permissions, `xm console` on the
# console socket, save/restore reconnection and the release of a domain's
# xenstore home, with guest_xs_probe under a real shype-hv and xend.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_counter
   AND TARGET guest_xs_probe)
  add_executable(xm_devices_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/xm_devices_test.cpp)
  target_include_directories(xm_devices_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(xm_devices_e2e_tests PRIVATE shype_test_support
                        nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(xm_devices_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_XS_PROBE_PATH="$<TARGET_FILE:guest_xs_probe>")
  add_dependencies(xm_devices_e2e_tests xm xend shype-hv guest_hello guest_counter guest_xs_probe)
  shype_target_warnings(xm_devices_e2e_tests)
  gtest_discover_tests(xm_devices_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 600)
endif()
