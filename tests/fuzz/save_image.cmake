# The saved-domain image reader (hypervisor/src/save_image.cpp): parsing
# never crashes, rejections have reasons, accepted images are canonical
# (re-encode byte for byte, re-parse equal).
shype_fuzz_target(fuzz_save_image
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_save_image.cpp
  LIBS shype_hv_save_image)
