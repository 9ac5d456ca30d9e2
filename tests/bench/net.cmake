# Guest-to-guest networking across netback's bridge (ICMP round trips,
# frame throughput) against a veth pair between two network namespaces on
# the same host, measured in the same run (header of net_bench.cpp for the
# command).
if(TARGET xend AND TARGET shype-hv AND TARGET guest_net)
  add_executable(net_bench ${CMAKE_CURRENT_LIST_DIR}/net_bench.cpp)
  target_link_libraries(net_bench PRIVATE shype_xenctrl shype_rpc benchmark::benchmark
                        Threads::Threads)
  target_compile_definitions(net_bench PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    GUEST_NET_PATH="$<TARGET_FILE:guest_net>")
  add_dependencies(net_bench shype-hv xend guest_net)
  shype_target_warnings(net_bench)
endif()
