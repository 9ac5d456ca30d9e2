# The hypercall codec (hypervisor/src/wire.cpp): decode as a guest and as
# Domain-0 never crashes, accepted requests re-encode byte for byte, every
# rejection has an errno, no descriptor leaks.
shype_fuzz_target(fuzz_hypercall
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_hypercall.cpp
  LIBS shype_hv_wire)
