# The XSM hooks, ACM module against the dummy module (see the header of
# xsm_bench.cpp for the command).
add_executable(xsm_bench ${CMAKE_CURRENT_LIST_DIR}/xsm_bench.cpp)
target_link_libraries(xsm_bench PRIVATE shype_xsm shype_acm shype_test_support benchmark::benchmark)
shype_target_warnings(xsm_bench)
