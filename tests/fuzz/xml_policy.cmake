# XML policies: the loader (libxml2, Xerces-C++, check_policy) and the writer.
shype_fuzz_target(fuzz_xml_policy
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_xml_policy.cpp
  LIBS shype_acm_xml shype_acm)
