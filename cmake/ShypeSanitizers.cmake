# SHYPE_SANITIZE=address,undefined builds everything with those sanitizers;
# errors abort so that ctest reports them as failures.
if(SHYPE_SANITIZE)
  add_compile_options(-fsanitize=${SHYPE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SHYPE_SANITIZE})
endif()

# SHYPE_FUZZ=ON (clang): every library is compiled with coverage
# instrumentation and ASan+UBSan, so libFuzzer sees (and ASan guards) the
# parsers inside shype_acm and shype_acm_xml, not only the fuzz targets'
# own sources. The fuzz targets then link the libFuzzer runtime.
if(SHYPE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

function(shype_fuzz_flags target)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
