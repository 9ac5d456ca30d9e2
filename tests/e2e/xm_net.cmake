# Network devices end to end (docs/devices-net.md): xm, xend, netback with
# its bridge and label control, and the guest_net kernel's netfront against
# a real shype-hv under a temporary SHYPE_ROOT with the mytest policy.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_net)
  add_executable(xm_net_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/xm_net_test.cpp)
  target_include_directories(xm_net_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(xm_net_e2e_tests PRIVATE shype_test_support nlohmann_json::nlohmann_json
                        GTest::gtest_main)
  target_compile_definitions(xm_net_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_NET_PATH="$<TARGET_FILE:guest_net>")
  add_dependencies(xm_net_e2e_tests xm xend shype-hv guest_hello guest_counter guest_net)
  shype_target_warnings(xm_net_e2e_tests)
  gtest_discover_tests(xm_net_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 600)
endif()
