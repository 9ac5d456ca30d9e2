# xm and xend against a real shype-hv under a temporary SHYPE_ROOT: the
# manual's chapter 10 transcripts replayed through xm, and the failure cases.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_counter)
  add_executable(xm_e2e_tests
    ${CMAKE_CURRENT_LIST_DIR}/xm_chapter10_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/xm_domains_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/xm_failure_test.cpp)
  target_include_directories(xm_e2e_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(xm_e2e_tests PRIVATE shype_test_support nlohmann_json::nlohmann_json
                        GTest::gtest_main)
  target_compile_definitions(xm_e2e_tests PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>"
    GUEST_COUNTER_PATH="$<TARGET_FILE:guest_counter>")
  add_dependencies(xm_e2e_tests xm xend shype-hv guest_hello guest_counter)
  shype_target_warnings(xm_e2e_tests)
  gtest_discover_tests(xm_e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 600)
endif()
