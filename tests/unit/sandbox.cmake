# sandbox_tests: the guest sandbox (hypervisor/sandbox) and the guest
# runtime's sample kernels (hypervisor/guest), run against a tiny fake
# hypervisor (tests/unit/sandbox/fake_hypervisor.*).
file(GLOB SHYPE_SANDBOX_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/sandbox/*.cpp)
add_executable(sandbox_tests ${SHYPE_SANDBOX_TESTS})
target_link_libraries(sandbox_tests PRIVATE shype_sandbox shype_abi GTest::gtest_main Threads::Threads)
target_compile_definitions(sandbox_tests PRIVATE
  SHYPE_GUEST_HELLO="$<TARGET_FILE:guest_hello>"
  SHYPE_GUEST_COUNTER="$<TARGET_FILE:guest_counter>"
  SHYPE_GUEST_ROGUE="$<TARGET_FILE:guest_rogue>")
add_dependencies(sandbox_tests guest_hello guest_counter guest_rogue)
shype_target_warnings(sandbox_tests)
shype_unit_tests(sandbox_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit TIMEOUT 120)
