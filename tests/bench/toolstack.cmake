# xend and xm against the hypervisor's own domain create, xm list --label
# with many domains, setpolicy and a run-time update (header of
# toolstack_bench.cpp for the command).
if(TARGET xend AND TARGET xm AND TARGET shype-hv AND TARGET guest_hello)
  add_executable(toolstack_bench ${CMAKE_CURRENT_LIST_DIR}/toolstack_bench.cpp)
  target_link_libraries(toolstack_bench PRIVATE shype_xenctrl shype_rpc benchmark::benchmark
                        Threads::Threads)
  target_compile_definitions(toolstack_bench PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>")
  add_dependencies(toolstack_bench shype-hv xend xm guest_hello)
  shype_target_warnings(toolstack_bench)
endif()
