# shype-ctl (toolstack/xenctrl/tools) against a real shype-hv, as a user
# runs it: exit statuses and output.
if(TARGET shype-ctl AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_counter
   AND TARGET guest_rogue)
  add_executable(shype_ctl_e2e_tests ${CMAKE_CURRENT_LIST_DIR}/shype_ctl_test.cpp)
  target_include_directories(shype_ctl_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(shype_ctl_e2e_tests PRIVATE shype_xenctrl shype_acm_xml shype_acm
                        shype_test_support GTest::gtest_main)
  target_compile_definitions(shype_ctl_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    SHYPE_CTL_PATH="$<TARGET_FILE:shype-ctl>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>"
    GUEST_ROGUE_PATH="$<TARGET_FILE:guest_rogue>")
  add_dependencies(shype_ctl_e2e_tests shype-ctl shype-hv guest_hello guest_counter guest_rogue)
  shype_target_warnings(shype_ctl_e2e_tests)
  gtest_discover_tests(shype_ctl_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 300)
endif()
