# Block I/O through blkfront and blkback (guest_disk mode=bench under
# shype-hv + xend) against a host process reading and writing the same file
# (see the header of blk_bench.cpp for the command).
if(TARGET xend AND TARGET xm AND TARGET shype-hv AND TARGET guest_disk)
  add_executable(blk_bench ${CMAKE_CURRENT_LIST_DIR}/blk_bench.cpp)
  target_link_libraries(blk_bench PRIVATE shype_xenctrl shype_rpc benchmark::benchmark
                        Threads::Threads)
  target_compile_definitions(blk_bench PRIVATE
    SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SHYPE_HV_PATH="$<TARGET_FILE:shype-hv>"
    XEND_PATH="$<TARGET_FILE:xend>"
    XM_PATH="$<TARGET_FILE:xm>"
    GUEST_DISK_PATH="$<TARGET_FILE:guest_disk>")
  add_dependencies(blk_bench shype-hv xend xm guest_disk)
  shype_target_warnings(blk_bench)
endif()
