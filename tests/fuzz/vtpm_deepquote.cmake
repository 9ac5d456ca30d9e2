# A deep quote document as a verifier receives it (vtpm/, deepquote.hpp):
# the decoder and the verifier over arbitrary bytes.
if(TARGET shype_vtpm)
  shype_fuzz_target(fuzz_vtpm_deepquote
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vtpm_deepquote.cpp
    LIBS shype_vtpm OpenSSL::Crypto)
endif()
