# The counters a driver domain publishes for a vif (a guest's text in
# xenstore, read by xend for xm network-list): toolstack/devices/net/.
shype_fuzz_target(fuzz_vif_statistics
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vif_statistics.cpp
          ${PROJECT_SOURCE_DIR}/toolstack/devices/net/vif_statistics.cpp)
target_include_directories(fuzz_vif_statistics PRIVATE ${PROJECT_SOURCE_DIR}/toolstack/devices/net)
