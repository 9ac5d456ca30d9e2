# What one vtpm_migratord receives from another (vtpm/, migration_wire.hpp):
# peer frames, their JSON messages and the sealed packages they carry.
if(TARGET shype_vtpm)
  shype_fuzz_target(fuzz_vtpm_migration
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vtpm_migration.cpp
    LIBS shype_vtpm)
endif()
