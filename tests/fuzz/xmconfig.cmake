# The domain configuration parser (toolstack/config): evaluation never
# crashes and every rejection is located; an accepted file's typed view is
# either valid or a located error; a valid view survives the JSON round trip;
# label editing keeps its invariants.
if(TARGET shype_xmconfig)
  shype_fuzz_target(fuzz_domain_config
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_domain_config.cpp
    LIBS shype_xmconfig)
endif()
