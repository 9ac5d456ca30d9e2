# shype-hv end to end: the real hypervisor (start --foreground under a
# temporary SHYPE_ROOT), real sandboxed guest kernels, libxenctrl.
if(TARGET shype-hv AND TARGET guest_hello AND TARGET guest_counter AND TARGET guest_rogue
   AND TARGET guest_pair)
  file(GLOB SHYPE_HV_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/hv_*_test.cpp)
  add_executable(hv_e2e_tests ${SHYPE_HV_E2E_TESTS})
  target_include_directories(hv_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(hv_e2e_tests PRIVATE shype_xenctrl shype_acm_xml shype_acm
                        shype_test_support nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(hv_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_ROGUE_PATH="$<TARGET_FILE:guest_rogue>"
    GUEST_PAIR_PATH="$<TARGET_FILE:guest_pair>"
    GUEST_EVTCHN_ECHO_PATH="$<TARGET_FILE:guest_evtchn_echo>"
    GUEST_GRANTER_PATH="$<TARGET_FILE:guest_granter>")
  add_dependencies(hv_e2e_tests shype-hv guest_hello guest_counter guest_rogue guest_pair guest_evtchn_echo
                  guest_granter)
  shype_target_warnings(hv_e2e_tests)
  gtest_discover_tests(hv_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 300)
endif()
