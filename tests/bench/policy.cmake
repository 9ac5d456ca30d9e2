# Compiling XML policies and strictly loading binaries, each next to its
# baseline (see the header of policy_bench.cpp for the command).
add_executable(policy_bench ${CMAKE_CURRENT_LIST_DIR}/policy_bench.cpp)
target_link_libraries(policy_bench PRIVATE shype_acm_xml shype_acm shype_test_support
                      LibXml2::LibXml2 benchmark::benchmark)
shype_target_warnings(policy_bench)
