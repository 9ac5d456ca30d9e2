# blkback's request decoder (toolstack/devices/blk/blkif_request.cpp): any
# 112 bytes a frontend can put in a ring slot, against any disk geometry.
set(SHYPE_FUZZ_BLK_DIR ${PROJECT_SOURCE_DIR}/toolstack/devices)
shype_fuzz_target(fuzz_blkif_request
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_blkif_request.cpp
          ${SHYPE_FUZZ_BLK_DIR}/blk/blkif_request.cpp
  LIBS shype_abi tl::expected)
target_include_directories(fuzz_blkif_request PRIVATE ${SHYPE_FUZZ_BLK_DIR}/include)
