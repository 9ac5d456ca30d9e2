# netback's tx ring pass (toolstack/devices/net/): a guest's tx ring page and
# pool pages, fuzzed through the validation, the copy-out and the bridge.
set(SHYPE_FUZZ_NET_DIR ${PROJECT_SOURCE_DIR}/toolstack/devices/net)
shype_fuzz_target(fuzz_netif_tx
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_netif_tx.cpp
          ${SHYPE_FUZZ_NET_DIR}/mac_address.cpp
          ${SHYPE_FUZZ_NET_DIR}/netif_frame.cpp
          ${SHYPE_FUZZ_NET_DIR}/bridge.cpp
          ${SHYPE_FUZZ_NET_DIR}/label_filter.cpp
  LIBS shype_abi)
target_include_directories(fuzz_netif_tx PRIVATE ${SHYPE_FUZZ_NET_DIR})
