# Hypercall round trip and domain start-up, each against its baseline (see
# the header of hv_bench.cpp for the command).
if(TARGET shype_hv_core AND TARGET shype-hv AND TARGET guest_hello)
  add_executable(hv_bench ${CMAKE_CURRENT_LIST_DIR}/hv_bench.cpp)
  target_link_libraries(hv_bench PRIVATE shype_hv_core shype_xenctrl shype_sandbox
                        benchmark::benchmark Threads::Threads)
  target_compile_definitions(hv_bench PRIVATE
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>")
  add_dependencies(hv_bench shype-hv guest_hello)
  shype_target_warnings(hv_bench)
endif()
