# acmtool on the shipped policies and on files the tests write.
add_executable(e2e_tests ${CMAKE_CURRENT_LIST_DIR}/acmtool_test.cpp)
target_link_libraries(e2e_tests PRIVATE shype_test_support nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(e2e_tests PRIVATE SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           ACMTOOL_PATH="$<TARGET_FILE:acmtool>")
add_dependencies(e2e_tests acmtool)
shype_target_warnings(e2e_tests)
gtest_discover_tests(e2e_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 300)
