# Binary policies (Xen v4 and compact) and the .map file: parse => validate
# => re-write => re-parse equal (STYLE.md rule 12).
shype_fuzz_target(fuzz_binary_policy
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_binary_policy.cpp
  LIBS shype_acm)

