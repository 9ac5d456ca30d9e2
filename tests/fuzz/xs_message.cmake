# xenstore's wire protocol as a guest speaks it (toolstack/devices/src/
# xs_protocol.cpp, xenstore.cpp): request bytes cut into messages by the
# decoder and answered by a guest's session over a store that also holds
# Domain-0's and another domain's nodes.
set(SHYPE_FUZZ_XS_DIR ${PROJECT_SOURCE_DIR}/toolstack/devices)
shype_fuzz_target(fuzz_xs_message
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_xs_message.cpp
          ${SHYPE_FUZZ_XS_DIR}/src/xenstore.cpp
          ${SHYPE_FUZZ_XS_DIR}/src/xs_protocol.cpp
  LIBS shype_abi tl::expected)
target_include_directories(fuzz_xs_message PRIVATE ${SHYPE_FUZZ_XS_DIR}/include)
