# SHYPE_SANITIZE=address,undefined builds everything with those sanitizers;
# errors abort so that ctest reports them as failures.
if(SHYPE_SANITIZE)
  add_compile_options(-fsanitize=${SHYPE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SHYPE_SANITIZE})
endif()

# libFuzzer instrumentation for the fuzz targets only (tests/fuzz).
function(shype_fuzz_flags target)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
