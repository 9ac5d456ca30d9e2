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

# Many idle domains: memory per domain against bare sandboxed processes (see
# the header of hv_scale_bench.cpp; --domains=N, default 20 for the smoke run).
if(TARGET shype_hv_core AND TARGET shype-hv AND TARGET guest_hello)
  add_executable(hv_scale_bench ${CMAKE_CURRENT_LIST_DIR}/hv_scale_bench.cpp)
  target_link_libraries(hv_scale_bench PRIVATE shype_hv_core shype_xenctrl shype_sandbox
                        benchmark::benchmark Threads::Threads)
  target_compile_definitions(hv_scale_bench PRIVATE
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    GUEST_HELLO_PATH="$<TARGET_FILE:guest_hello>")
  add_dependencies(hv_scale_bench shype-hv guest_hello)
  shype_target_warnings(hv_scale_bench)
endif()

# Notification round trip between two guests against an eventfd ping-pong,
# and ACM against dummy on grant maps and event-channel binds (see the
# header of hv_sharing_bench.cpp).
if(TARGET shype-hv AND TARGET guest_pair AND TARGET shype_acm_xml)
  add_executable(hv_sharing_bench ${CMAKE_CURRENT_LIST_DIR}/hv_sharing_bench.cpp)
  target_link_libraries(hv_sharing_bench PRIVATE shype_xenctrl shype_acm_xml shype_acm
                        benchmark::benchmark Threads::Threads)
  target_compile_definitions(hv_sharing_bench PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    GUEST_PAIR_PATH="$<TARGET_FILE:guest_pair>")
  add_dependencies(hv_sharing_bench shype-hv guest_pair)
  shype_target_warnings(hv_sharing_bench)
endif()
