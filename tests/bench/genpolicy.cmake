# shype-genpolicy: writes the generated policies the benchmarks use, so any
# figure in docs/BENCHMARKS.md can be reproduced with the real tools too.
add_executable(shype-genpolicy ${CMAKE_CURRENT_SOURCE_DIR}/genpolicy.cpp)
target_link_libraries(shype-genpolicy PRIVATE shype_test_support shype_acm_xml shype_acm)
shype_target_warnings(shype-genpolicy)
