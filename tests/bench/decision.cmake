# STE and Chinese Wall decision benchmarks against Xen's dense-matrix
# baseline (see the header of decision_bench.cpp for the command).
add_executable(decision_bench ${CMAKE_CURRENT_LIST_DIR}/decision_bench.cpp)
target_link_libraries(decision_bench PRIVATE shype_acm shype_test_support benchmark::benchmark)
shype_target_warnings(decision_bench)
