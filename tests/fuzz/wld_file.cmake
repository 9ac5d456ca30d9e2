# Workload definition files (ezpolicy/, .wld): a file an administrator
# opens in ezPolicy may come from anyone.
if(TARGET shype_ezpolicy)
  shype_fuzz_target(fuzz_wld_file
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_wld_file.cpp
    LIBS shype_ezpolicy)
endif()
