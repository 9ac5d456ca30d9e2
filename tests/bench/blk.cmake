# Block I/O through blkfront and blkback (guest_disk mode=bench under
# shype-hv + xend) against a host process reading and writing the same file
# (see the header of blk_bench.cpp for the command).
if(TARGET xend AND TARGET xm AND TARGET shype-hv AND TARGET guest_disk)
  shype_xm_bench(blk_bench blk_bench.cpp GUESTS guest_disk)
endif()
